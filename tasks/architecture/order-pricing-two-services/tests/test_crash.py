"""The pricing service slow or killed, the worker killed mid-fulfilment: the orders service
answers 503 in time, reads keep working, and after a restart nothing is lost or done twice."""

from __future__ import annotations

import json
import time

import pytest
from backbench.testkit.http import DeadlineExceeded
from orders_kit import (
    PRICING,
    QUEUE,
    RESUME,
    SETTLE,
    WORKER,
    assert_error,
    get_order,
    holding,
    new_product,
    order,
    pricing,  # noqa: F401 - a fixture
    stock,
    stored,
    wait_status,
    wait_waiters,
)

BOUND = 2.0 + 0.5  # stated: never waits longer than 2 s for a quote; room for its own work


def timed_post(api, body: dict) -> tuple[float, object]:
    started = time.monotonic()
    try:
        r = api.post("/v1/orders", json=body, extensions={"deadline": 8.0})
    except DeadlineExceeded:
        pytest.fail("the order was not answered within 8 s: the orders service waits on pricing")
    return time.monotonic() - started, r


@pytest.mark.rules("pricing-slow-503", "refused-stores-nothing")
def test_a_quote_that_takes_too_long_is_503_within_2_seconds(api, pricing, db, redis):
    sku = new_product(pricing, 250)
    before = redis.llen(QUEUE)
    # every read of the products table waits for this lock: the quote cannot be answered
    with holding("LOCK TABLE products IN ACCESS EXCLUSIVE MODE"):
        elapsed, r = timed_post(api, {"sku": sku, "quantity": 1})
        assert_error(r, 503, "pricing_unavailable")
        assert elapsed < BOUND, f"answered after {elapsed:.2f} s"
    assert stored(db, sku) == []
    assert redis.llen(QUEUE) == before
    assert order(api, sku, 1)["unit_price_cents"] == 250


@pytest.mark.rules("pricing-down-503", "reads-without-pricing", "worker-without-pricing",
                   "process-words", "refused-stores-nothing")  # fmt: skip
def test_a_killed_pricing_service_gives_503_while_reads_and_fulfilment_go_on(
    api, pricing, db, server
):
    sku = new_product(pricing, 250, stock=30)
    with holding("SELECT 1 FROM products WHERE sku = %s FOR UPDATE", (sku,)):
        waiting = order(api, sku, 4)  # its fulfilment waits for the lock
        killed = server.kill_process(PRICING)
        assert killed, f"no process has {PRICING!r} in its command line: {server.processes()}"
        assert not any(PRICING in p["cmdline"] for p in server.processes())
        assert any(WORKER in p["cmdline"] for p in server.processes())
        for body in ({"sku": sku, "quantity": 1}, {"sku": "WIDGET-1", "quantity": 2}):
            elapsed, r = timed_post(api, body)
            assert_error(r, 503, "pricing_unavailable")
            assert elapsed < BOUND, f"answered after {elapsed:.2f} s"
        assert get_order(api, waiting["id"])["status"] == "pending"
        listed = api.get("/v1/orders", params={"sku": sku})
        assert [o["id"] for o in listed.json()["items"]] == [waiting["id"]]
    wait_status(api, waiting["id"], "fulfilled", SETTLE)
    assert [row[0] for row in stored(db, sku)] == [waiting["id"]]
    assert stock(db, sku) == 26


@pytest.mark.rules("crash-no-loss", "resume-5s", "worker-down-pending", "queue-message",
                   "exactly-once", "seed-kept", "process-words")  # fmt: skip
def test_a_worker_killed_mid_fulfilment_loses_nothing_and_fulfils_once_after_restart(
    api, pricing, db, redis, server
):
    seeded = order(api, "WIDGET-1", 1)
    wait_status(api, seeded["id"], "fulfilled", SETTLE)
    widgets = stock(db, "WIDGET-1")
    sku = new_product(pricing, 250, stock=100)
    with holding("SELECT 1 FROM products WHERE sku = %s FOR UPDATE", (sku,)):
        taken = order(api, sku, 3)
        assert wait_waiters(db, 1, SETTLE) >= 1, "no worker took the order's message"
        killed = server.kill_process(WORKER)
        assert killed, f"no process has {WORKER!r} in its command line: {server.processes()}"
        assert not any(WORKER in p["cmdline"] for p in server.processes())
    # the worker is down: a new order waits on the list, as the stated message
    queued = order(api, sku, 5)
    messages = [json.loads(m) for m in redis.lrange(QUEUE, 0, -1)]
    assert messages.count({"order_id": queued["id"]}) == 1, messages
    time.sleep(1.0)
    assert get_order(api, queued["id"])["status"] == "pending"
    assert get_order(api, taken["id"])["status"] in ("pending", "fulfilled")
    server.restart()
    for made in (taken, queued):
        wait_status(api, made["id"], "fulfilled", RESUME)
    time.sleep(1.0)
    assert stock(db, sku) == 100 - 3 - 5
    assert stock(db, "WIDGET-1") == widgets
    assert [row[4] for row in stored(db, sku)] == ["fulfilled", "fulfilled"]
