"""Rate limiting: headers on every outcome, the order of the checks, clients apart, counters in
Redis, and the limit under concurrent bursts and across two server processes."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise

import pytest

LIMIT = 20
MISSING_ID = 2_100_000_000
BURST = 40  # concurrent requests of one client per round: twice its budget
ROUNDS = 3
ATTEMPTS = 3  # per round or sequence, when a clock-aligned window boundary fell inside it


def remaining(response):
    value = response.headers.get("X-RateLimit-Remaining")
    return int(value) if value is not None and value.strip().isdigit() else None


def rolled_over(responses):
    """A new window began inside the sequence of one client's requests: the remaining budget
    went up, or stayed the same while above 0 (a window's first request shows 19, and so does
    the first of the next when the boundary falls right after it)."""
    values = [remaining(r) for r in responses]
    return any(
        a is not None and b is not None and (b > a or b == a > 0) for a, b in pairwise(values)
    )


def minute():
    return int(time.time() // 60)


def assert_limited(response):
    assert response.status_code == 429, (response.request.url, response.text)
    assert response.json()["error"]["code"] == "rate_limited"
    assert isinstance(response.json()["error"]["message"], str)
    assert response.headers.get("X-RateLimit-Limit") == str(LIMIT)
    assert remaining(response) == 0
    retry_after = response.headers.get("Retry-After", "")
    assert retry_after.strip().isdigit(), retry_after
    assert 1 <= int(retry_after) <= 60


@pytest.fixture
def fresh(auth_headers, unique):
    """fresh() -> headers with a never-used client id (a full budget of 20)."""
    return lambda: {**auth_headers, "X-Client-Id": unique("client")}


@pytest.mark.rules(
    "rl-headers-every-response", "rl-counts-every-outcome", "rl-shared-versions",
    "rl-remaining-count", "not-found-404",
)  # fmt: skip
def test_every_operation_and_outcome_counts_and_carries_the_headers(api, fresh, unique):
    title = unique("hdr")
    sequence = [
        ("POST", "/v1/notes", {"title": title, "body": "b"}, 201),
        ("POST", "/v2/notes", {"title": title, "content": "c"}, 201),
        ("GET", "/v1/notes?limit=1", None, 200),
        ("GET", "/v2/notes?limit=1", None, 200),
        ("GET", f"/v1/notes/{MISSING_ID}", None, 404),
        ("GET", f"/v2/notes/{MISSING_ID}", None, 404),
        ("POST", "/v1/notes", {"title": ""}, 422),
        ("POST", "/v2/notes", {"title": title}, 422),
        ("GET", "/v1/notes?limit=0", None, 422),
        ("GET", "/v2/notes?offset=-1", None, 422),
    ]
    for _ in range(ATTEMPTS):
        headers = fresh()
        responses = [api.request(m, p, headers=headers, json=b) for m, p, b, _ in sequence * 2]
        if not rolled_over(responses):
            break
    assert [r.status_code for r in responses] == [s for *_, s in sequence] * 2
    assert [r.headers.get("X-RateLimit-Limit") for r in responses] == [str(LIMIT)] * 20
    assert [remaining(r) for r in responses] == list(range(19, -1, -1))
    assert_limited(api.get("/v1/notes", headers=headers))


@pytest.mark.rules(
    "check-order", "rl-429", "rl-retry-after", "refused-not-created", "error-body",
    "oa-remaining-zero-refused",
)  # fmt: skip
def test_a_limited_client_is_refused_before_the_endpoint_runs(api, fresh, unique):
    for _ in range(ATTEMPTS):
        # a title of its own per attempt: an attempt whose window rolled over may have stored
        # its notes, which must not count against the next one
        title = unique("late")
        refused = [
            ("POST", "/v1/notes", {"title": title, "body": "b"}),
            ("POST", "/v2/notes", {"title": title, "content": "c", "tags": ["t"]}),
            ("POST", "/v1/notes", {"title": ""}),
            ("POST", "/v2/notes", {"content": 5}),
            ("GET", f"/v1/notes/{MISSING_ID}", None),
            ("GET", f"/v2/notes/{MISSING_ID}", None),
            ("GET", "/v1/notes?limit=0", None),
            ("GET", "/v2/notes?limit=abc", None),
        ]
        headers = fresh()
        used = [api.get("/v2/notes", headers=headers, params={"limit": 1}) for _ in range(LIMIT)]
        answers = [api.request(m, p, headers=headers, json=b) for m, p, b in refused]
        if not rolled_over(used + answers):
            break
    assert [r.status_code for r in used] == [200] * LIMIT
    for response in answers:
        assert_limited(response)
    r = api.get("/v2/notes", headers=fresh(), params={"q": title})
    assert r.json()["meta"]["total"] == 0, "a request refused with 429 created a note"


@pytest.mark.rules("rl-retry-after")
def test_retry_after_counts_down_to_the_end_of_the_window(api, fresh):
    """The window ends at most 60 s after the client's first request: once 3 s have passed,
    Retry-After can no longer be 60."""
    for _ in range(ATTEMPTS):
        headers = fresh()
        first = api.get("/v1/notes", headers=headers, params={"limit": 1})
        opened = time.monotonic()
        time.sleep(3)  # the rule is about elapsed time: nothing to poll for
        rest = [api.get("/v1/notes", headers=headers, params={"limit": 1}) for _ in range(LIMIT)]
        if not rolled_over([first, *rest]):
            break
    sent = time.monotonic()
    assert_limited(rest[-1])
    left = 60 - (sent - opened)
    assert int(rest[-1].headers["Retry-After"]) <= int(left) + 2, (rest[-1].headers, left)


@pytest.mark.rules("rl-clients-independent", "oa-client-id-any-string", "rl-twenty-per-window")
def test_interleaved_clients_keep_separate_budgets(api, auth_headers, unique):
    for _ in range(ATTEMPTS):
        first = unique("Team A/1:b;c=d q")
        names = [first, unique("team-b"), first.upper()]
        clients = [{**auth_headers, "X-Client-Id": name} for name in names]
        seen = {name: [] for name in names[:2]}
        for _ in range(LIMIT + 1):
            for name, headers in zip(names[:2], clients[:2], strict=True):
                seen[name].append(api.get("/v1/notes", headers=headers, params={"limit": 1}))
        if not any(rolled_over(rs) for rs in seen.values()):
            break
    for responses in seen.values():
        assert [r.status_code for r in responses[:LIMIT]] == [200] * LIMIT
        assert [remaining(r) for r in responses[:LIMIT]] == list(range(19, -1, -1))
        assert_limited(responses[LIMIT])
    r = api.get("/v2/notes", headers=clients[2], params={"limit": 1})
    assert r.status_code == 200, "a client id differing only in case shares a budget"
    assert remaining(r) == LIMIT - 1


@pytest.mark.rules("rl-in-redis")
def test_the_counters_live_in_redis(api, fresh, redis):
    for _ in range(ATTEMPTS):
        headers = fresh()
        responses = [api.get("/v1/notes", headers=headers, params={"limit": 1}) for _ in range(21)]
        if not rolled_over(responses):
            break
    assert_limited(responses[-1])
    redis.flushdb()
    r = api.get("/v1/notes", headers=headers, params={"limit": 1})
    assert r.status_code == 200, "the count survived emptying Redis: it is not kept there"
    assert remaining(r) == LIMIT - 1


def burst(client_factory, base_urls, headers, size):
    """`size` requests of one client sent at once (a barrier releases them together), spread
    over `base_urls`; their answers, or None when a window boundary fell inside the burst."""
    clients = [client_factory(base_url=base_urls[i % len(base_urls)]) for i in range(size)]
    for client in clients:  # connect before the barrier, so the requests leave together
        assert client.get("/health").status_code == 200
    barrier = threading.Barrier(size)

    def send(i):
        barrier.wait(timeout=30)
        return clients[i].get("/v1/notes", headers=headers, params={"limit": 1})

    start = minute()
    with ThreadPoolExecutor(max_workers=size) as pool:
        responses = list(pool.map(send, range(size)))
    return None if minute() != start else responses


def assert_exactly_twenty_admitted(responses):
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * LIMIT + [429] * (len(responses) - LIMIT), statuses
    admitted = sorted(remaining(r) for r in responses if r.status_code == 200)
    assert admitted == list(range(LIMIT)), f"remaining values of the admitted: {admitted}"
    for r in responses:
        if r.status_code == 429:
            assert_limited(r)


def bursts(client_factory, base_urls, fresh, rounds):
    done = 0
    for _ in range(rounds * ATTEMPTS):
        responses = burst(client_factory, base_urls, fresh(), BURST)
        if responses is not None:
            assert_exactly_twenty_admitted(responses)
            done += 1
            if done == rounds:
                return
    pytest.fail("every burst straddled a minute boundary")


@pytest.mark.rules("rl-concurrent", "rl-twenty-per-window")
def test_a_concurrent_burst_of_one_client_admits_exactly_twenty(client_factory, base_url, fresh):
    bursts(client_factory, [base_url], fresh, ROUNDS)


@pytest.mark.rules("rl-across-processes", "rl-concurrent", "shared-store")
def test_the_limit_holds_across_two_server_processes(
    server, client_factory, base_url, fresh, unique
):
    second = server.start_instance()
    urls = [base_url, second.base_url]
    apis = [client_factory(base_url=url) for url in urls]

    title = unique("two")
    r = apis[1].post("/v2/notes", headers=fresh(), json={"title": title, "content": "c"})
    assert r.status_code == 201
    seen = apis[0].get(f"/v1/notes/{r.json()['id']}", headers=fresh())
    assert seen.status_code == 200 and seen.json()["title"] == title

    for _ in range(ATTEMPTS):
        headers = fresh()
        responses = [
            apis[i % 2].get("/v1/notes", headers=headers, params={"limit": 1}) for i in range(30)
        ]
        if not rolled_over(responses):
            break
    assert [r.status_code for r in responses] == [200] * LIMIT + [429] * 10
    assert [remaining(r) for r in responses[:LIMIT]] == list(range(19, -1, -1))
    bursts(client_factory, urls, fresh, 2)
