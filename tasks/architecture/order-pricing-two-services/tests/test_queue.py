"""The fulfilment queue: each order fulfilled once, duplicates and bad messages changing nothing."""

from __future__ import annotations

import time

import pytest
from orders_kit import (
    QUEUE,
    SETTLE,
    holding,
    new_product,
    order,
    pricing,  # noqa: F401 - a fixture
    push,
    stock,
    stored,
    wait_drained,
    wait_status,
    wait_waiters,
)


@pytest.mark.rules("fulfil", "fulfil-2s")
def test_an_order_is_fulfilled_and_its_stock_taken(api, pricing, db):
    sku = new_product(pricing, 300, stock=50)
    first, second = order(api, sku, 7), order(api, sku, 12)
    wait_status(api, first["id"], "fulfilled", SETTLE)
    wait_status(api, second["id"], "fulfilled", SETTLE)
    assert stock(db, sku) == 50 - 7 - 12
    assert [row[4] for row in stored(db, sku)] == ["fulfilled", "fulfilled"]
    back_order = order(api, sku, 40)
    wait_status(api, back_order["id"], "fulfilled", SETTLE)
    assert stock(db, sku) == 31 - 40


@pytest.mark.rules("exactly-once", "queue-message")
def test_a_duplicate_message_for_a_fulfilled_order_changes_nothing(api, pricing, db, redis):
    sku = new_product(pricing, 300, stock=100)
    made = order(api, sku, 5)
    wait_status(api, made["id"], "fulfilled", SETTLE)
    assert stock(db, sku) == 95
    for _ in range(3):
        push(redis, made["id"])
    wait_drained(redis)
    assert stock(db, sku) == 95
    assert get_status(api, made["id"]) == "fulfilled"


def get_status(api, order_id: int) -> str:
    return api.get(f"/v1/orders/{order_id}").json()["status"]


@pytest.mark.rules("exactly-once-concurrent", "queue-message", "both-or-neither")
def test_two_messages_for_one_order_handled_at_once_fulfil_it_once(api, pricing, db, redis):
    sku = new_product(pricing, 300, stock=100)
    # the product's row is locked: whatever handles the order waits for it; a second worker
    # handling the duplicate meanwhile must not take the stock a second time
    with holding("SELECT 1 FROM products WHERE sku = %s FOR UPDATE", (sku,)):
        made = order(api, sku, 6)
        push(redis, made["id"])
        wait_waiters(db, 2, 3.0)  # a worker that handles one message at a time leaves one
        assert stock(db, sku) == 100
    wait_status(api, made["id"], "fulfilled", SETTLE)
    wait_drained(redis)
    assert stock(db, sku) == 94
    assert [row[4] for row in stored(db, sku)] == ["fulfilled"]


@pytest.mark.rules("bad-message")
def test_messages_that_name_no_order_are_dropped_and_the_worker_goes_on(api, pricing, db, redis):
    top = int(db.scalar("SELECT coalesce(max(id), 0) FROM orders"))
    for raw in ("not json", "[1]", '{"order_id": "1"}', '{"order_id": 1.5}', '{"other": 1}',
                f'{{"order_id": {top + 100000}}}', '{"order_id": 99999999999999999999999}', "null",
                "{bad", '{"order_id": -5}'):
        redis.lpush(QUEUE, raw)  # fmt: skip
    sku = new_product(pricing, 300, stock=10)
    made = order(api, sku, 1)
    wait_status(api, made["id"], "fulfilled", SETTLE + 1)
    wait_drained(redis)
    assert stock(db, sku) == 9
    later = order(api, sku, 2)
    wait_status(api, later["id"], "fulfilled", SETTLE)
    time.sleep(0.3)
    assert stock(db, sku) == 7
