"""/health and /ready while the test kit stops, starts or hangs PostgreSQL and Redis.

Each stop costs seconds, so each test makes one outage and checks every behaviour the prompt
states for it. `services.stop` returns once the server is down; `start_postgres` once PostgreSQL
accepts connections again, which is when the prompt's 5 s of recovery start. Every request carries a
deadline, and the bounds are measured on the client's clock with room for a busy machine.
"""

import json
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from items_kit import (
    BOUND,
    assert_error,
    assert_no_internals,
    create,
    item_in,
    sleep_until,
    start_postgres,
    timed,
    wait_until,
)

STALE = 1.2  # the prompt's 1 s of reuse, then some
RECOVERY = 5.0
PG_DOWN = {"postgres": "down", "redis": "up"}
REDIS_DOWN = {"postgres": "up", "redis": "down"}


@contextmanager
def postgres_restored(services):
    """Then start PostgreSQL, pass or fail, and let the prompt's 5 s of recovery pass, so the
    next test finds the service as the prompt promises it then."""
    try:
        yield
    finally:
        sleep_until(start_postgres(services) + RECOVERY + 0.2)


def assert_not_ready(api, checks):
    response, seconds = timed(api, "GET", "/ready")
    assert seconds < BOUND, f"/ready took {seconds:.1f} s with a dependency down"
    assert response.status_code == 503, response.text
    assert response.json() == {"status": "not_ready", "checks": checks}


def assert_live(api):
    response, seconds = timed(api, "GET", "/health")
    assert seconds < BOUND, f"/health took {seconds:.1f} s"
    assert response.status_code == 200, f"/health with a dependency down: {response.text[:300]}"
    assert response.json() == {"status": "ok"}


def is_ready(api):
    response = api.get("/ready", extensions={"deadline": 4})
    return response.status_code == 200 and response.json()["checks"] == {
        "postgres": "up",
        "redis": "up",
    }


@pytest.mark.rules("ready-down", "ready-bound", "ready-fresh", "health-independent")
def test_with_postgres_down_ready_is_503_naming_it_and_health_stays_200(api, services):
    assert is_ready(api)
    assert_live(api)
    services.stop("postgres")
    with postgres_restored(services):
        sleep_until(time.monotonic() + STALE)
        for _ in range(3):
            assert_not_ready(api, PG_DOWN)
            assert_live(api)
            time.sleep(0.3)


@pytest.mark.rules("pg-down-503", "no-internals", "degraded-read", "auth-required",
                   "create-validation")  # fmt: skip
def test_with_postgres_down_requests_needing_it_answer_503_and_cached_items_are_served(
    api, authed_api, db, redis, services, unique
):
    cached = create(authed_api, unique)
    sku = unique("sku")
    uncached = db.scalar(
        "INSERT INTO items (sku, name, quantity) VALUES (%s, 'n', 1) RETURNING id", (sku,)
    )
    redis.delete(f"item:{uncached}")
    services.stop("postgres")
    with postgres_restored(services):
        for method, path, kwargs in (
            ("GET", f"/v1/items/{uncached}", {}),
            ("GET", f"/v1/items?sku={sku}", {}),
            ("POST", "/v1/items", {"json": item_in(unique)}),
            ("GET", f"/v1/items/{uncached}", {}),
        ):
            response, seconds = timed(authed_api, method, path, **kwargs)
            assert seconds < BOUND, f"{method} {path} took {seconds:.1f} s with PostgreSQL down"
            assert_no_internals(response)
            assert_error(response, 503, "unavailable")
        response, seconds = timed(api, "GET", f"/v1/items/{cached['id']}")
        assert seconds < BOUND
        assert response.status_code == 200, f"a cached item is not served: {response.text[:300]}"
        assert response.json() == cached
        # authentication and validation need no database
        assert_error(api.post("/v1/items", json=item_in(unique)), 401, "unauthorized")
        bad = authed_api.post("/v1/items", json={**item_in(unique), "quantity": -1})
        assert_error(bad, 422, "validation_error")


@pytest.mark.rules("recovery", "pg-down-503")
def test_after_postgres_returns_everything_serves_again_without_a_restart(
    api, authed_api, client_factory, services, server, unique
):
    item = create(authed_api, unique)
    clients = [client_factory() for _ in range(6)]

    def find_all():
        """Six lookups at once (each on a connection of its own): the pool holds several."""
        with ThreadPoolExecutor(len(clients)) as pool:
            return list(pool.map(
                lambda c: c.get("/v1/items", params={"sku": item["sku"]},
                                extensions={"deadline": 4}),
                clients,
            ))  # fmt: skip

    assert all(r.status_code == 200 for r in find_all())
    services.stop("postgres")
    try:
        assert all(r.status_code == 503 for r in find_all())
    finally:
        returned = start_postgres(services)

    def serves():
        created = authed_api.post("/v1/items", json=item_in(unique), extensions={"deadline": 4})
        found = api.get("/v1/items", params={"sku": item["sku"]}, extensions={"deadline": 4})
        return created.status_code == 201 and found.status_code == 200 and is_ready(api)

    assert wait_until(serves, RECOVERY), "the service did not recover within 5 s"
    sleep_until(returned + RECOVERY + 0.2)
    for _ in range(3):
        answers = find_all()
        assert [r.status_code for r in answers] == [200] * len(answers), [
            r.text[:200] for r in answers
        ]
        assert all(r.json() == {"items": [item]} for r in answers)
        assert is_ready(api)
        made = create(authed_api, unique)
        assert api.get(f"/v1/items/{made['id']}").json() == made
    assert server.alive()


@pytest.mark.rules("ready-down", "ready-bound", "ready-fresh", "health-independent",
                   "redis-down", "recovery", "cache-key")  # fmt: skip
def test_with_redis_down_ready_is_503_naming_it_and_items_work_from_postgres(
    api, authed_api, db, redis, services, unique
):
    assert is_ready(api)
    services.stop("redis")
    sleep_until(time.monotonic() + STALE)
    assert_not_ready(api, REDIS_DOWN)
    assert_live(api)
    body = item_in(unique)
    response, seconds = timed(authed_api, "POST", "/v1/items", json=body)
    assert seconds < BOUND, f"a create took {seconds:.1f} s with Redis down"
    assert response.status_code == 201, response.text
    item = response.json()
    assert db.scalar("SELECT count(*) FROM items WHERE sku = %s", (body["sku"],)) == 1
    for path in (f"/v1/items/{item['id']}", f"/v1/items?sku={body['sku']}"):
        response, seconds = timed(api, "GET", path)
        assert seconds < BOUND, f"GET {path} took {seconds:.1f} s with Redis down"
        assert response.status_code == 200, response.text
    assert response.json() == {"items": [item]}
    services.start("redis")
    returned = time.monotonic()
    assert wait_until(lambda: is_ready(api), RECOVERY), "/ready not 200 within 5 s of Redis"
    sleep_until(returned + RECOVERY + 0.2)
    made = create(authed_api, unique)
    assert json.loads(redis.get(f"item:{made['id']}") or "null") == made, "caching did not resume"


@pytest.mark.rules("ready-down", "ready-bound", "health-independent", "redis-down")
def test_a_hung_redis_is_reported_down_within_2_seconds(api, authed_api, db, redis, unique):
    sku = unique("sku")
    item_id = db.scalar(
        "INSERT INTO items (sku, name, quantity) VALUES (%s, 'n', 2) RETURNING id", (sku,)
    )
    redis.delete(f"item:{item_id}")
    assert is_ready(api)
    redis.client_pause(6000, all=True)  # Redis accepts connections but answers nothing for 6 s
    paused = time.monotonic()
    try:
        assert_not_ready(api, REDIS_DOWN)
        assert_live(api)
        response, seconds = timed(api, "GET", f"/v1/items/{item_id}")
        assert seconds < BOUND, f"a read took {seconds:.1f} s with Redis hung"
        assert response.status_code == 200, response.text
        assert time.monotonic() - paused < 5.5, "the checks outlasted the pause: nothing proved"
    finally:
        sleep_until(paused + 6.2)  # pass or fail, the next test finds Redis answering
    assert wait_until(lambda: is_ready(api), RECOVERY), "/ready not 200 within 5 s of Redis"
