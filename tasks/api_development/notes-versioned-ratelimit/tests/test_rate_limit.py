import uuid
from itertools import pairwise

import httpx
import pytest


@pytest.fixture
def new_headers(auth_headers, unique):
    """A factory of auth headers, each with a never-used client id (a fresh budget)."""
    return lambda: {**auth_headers, "X-Client-Id": unique("test")}


LIMIT = 20


def remaining(response: httpx.Response):
    """X-RateLimit-Remaining as an int, or None when absent or not an integer."""
    value = response.headers.get("X-RateLimit-Remaining")
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def window_rolled_over(responses: list) -> bool:
    """True when a new window began mid-sequence: the remaining budget went up, or stayed the
    same while above 0 (the first request of the next window shows 19 too)."""
    values = [remaining(r) for r in responses]
    return any(
        a is not None and b is not None and (b > a or b == a > 0) for a, b in pairwise(values)
    )


def run_in_one_window(send, new_headers, count: int, attempts: int = 3) -> list:
    """Call send(headers, i) for i in range(count) with one fresh client id.

    If a rate-limit window boundary falls inside the sequence (visible as the remaining budget
    going up), start over with another fresh client id.
    """
    responses: list = []
    for _ in range(attempts):
        hdrs = new_headers()
        responses = [send(hdrs, i) for i in range(count)]
        if not window_rolled_over(responses):
            break
    return responses


def list_v1(api):
    def send(hdrs, _i):
        return api.get("/v1/notes", headers=hdrs, params={"limit": 1})

    return send


@pytest.mark.rules("rl-headers-every-response", "rl-counts-every-outcome", "rl-remaining-count")
def test_rate_limit_headers_count_down_on_every_response(api, new_headers):
    def send(hdrs, i):
        if i == 0:
            return api.get("/v2/notes", headers=hdrs, params={"limit": 1})
        if i == 1:
            return api.get("/v1/notes/2100000000", headers=hdrs)
        return api.post("/v2/notes", headers=hdrs, json={"title": "", "content": "c"})

    responses = run_in_one_window(send, new_headers, 3)
    assert [r.status_code for r in responses] == [200, 404, 422]
    for r in responses:
        assert r.headers.get("X-RateLimit-Limit") == str(LIMIT)
    assert [remaining(r) for r in responses] == [19, 18, 17]


@pytest.mark.rules("rl-twenty-per-window", "rl-429", "rl-remaining-count", "error-body")
def test_client_is_limited_after_twenty_requests(api, new_headers):
    responses = run_in_one_window(list_v1(api), new_headers, LIMIT + 2)
    assert [r.status_code for r in responses[:LIMIT]] == [200] * LIMIT
    assert [remaining(r) for r in responses[:LIMIT]] == list(range(LIMIT - 1, -1, -1))
    for r in responses[LIMIT:]:
        assert r.status_code == 429
        assert r.json()["error"]["code"] == "rate_limited"
        assert isinstance(r.json()["error"]["message"], str)


@pytest.mark.rules("rl-retry-after", "oa-remaining-zero-refused")
def test_rate_limited_response_has_retry_after(api, new_headers):
    responses = run_in_one_window(list_v1(api), new_headers, LIMIT + 1)
    limited = responses[-1]
    assert limited.status_code == 429
    retry_after = limited.headers.get("Retry-After")
    assert retry_after is not None
    assert retry_after.strip().isdigit()
    assert 1 <= int(retry_after) <= 60
    assert limited.headers.get("X-RateLimit-Limit") == str(LIMIT)
    assert remaining(limited) == 0


@pytest.mark.rules("rl-shared-versions")
def test_rate_limit_is_shared_between_v1_and_v2(api, new_headers):
    def send(hdrs, i):
        version = "v1" if i % 2 == 0 else "v2"
        return api.get(f"/{version}/notes", headers=hdrs, params={"limit": 1})

    responses = run_in_one_window(send, new_headers, LIMIT + 2)
    assert [r.status_code for r in responses[:LIMIT]] == [200] * LIMIT
    assert [remaining(r) for r in responses[:LIMIT]] == list(range(LIMIT - 1, -1, -1))
    assert [r.status_code for r in responses[LIMIT:]] == [429, 429]


@pytest.mark.rules("rl-clients-independent")
def test_each_client_has_its_own_budget(api, new_headers):
    responses = run_in_one_window(list_v1(api), new_headers, LIMIT + 1)
    assert responses[-1].status_code == 429

    r = api.get("/v2/notes", headers=new_headers(), params={"limit": 1})
    assert r.status_code == 200
    assert r.headers.get("X-RateLimit-Limit") == str(LIMIT)
    assert remaining(r) == LIMIT - 1


@pytest.mark.rules("refused-not-counted")
def test_refused_unauthenticated_requests_are_not_counted(api, new_headers):
    def send(hdrs, i):
        if i < 5:
            bad = {
                "X-Client-Id": hdrs["X-Client-Id"],
                "Authorization": f"Bearer {uuid.uuid4().hex}",
            }
            return api.get("/v1/notes", headers=bad)
        return api.get("/v1/notes", headers=hdrs, params={"limit": 1})

    responses = run_in_one_window(send, new_headers, 6)
    assert [r.status_code for r in responses[:5]] == [401] * 5
    assert responses[5].status_code == 200
    assert remaining(responses[5]) == LIMIT - 1
