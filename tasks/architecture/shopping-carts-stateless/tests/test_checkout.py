"""Checkout: one order per cart, idempotency keys remembered by every instance and across
restarts, and concurrent checkouts of one cart on two instances."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from carts_api import (
    SEARCH_LIMIT,
    assert_error,
    cart_row_locked,
    line,
    new_key,
    shop,  # noqa: F401 - a fixture
    wait_for_lock_waiters,
)


def filled_cart(shop, client=None, lines=2):
    products = sorted(shop.product(price=300 + 7 * n) for n in range(lines))
    cart = shop.cart(client)
    expected = []
    for n, (sku, name, price) in enumerate(products):
        assert shop.set(cart, sku, n + 2, client).status_code == 200
        expected.append(line(sku, name, n + 2, price))
    return cart, products, expected


def orders_of(db, cart):
    return db.execute("SELECT id, total_cents FROM orders WHERE cart_id = %s ORDER BY id",
                      (cart.id,)).fetchall()  # fmt: skip


@pytest.mark.rules("checkout", "checkout-status", "checkout-frozen", "checked-out-refuses",
                   "stored-orders", "line-totals")
def test_a_checkout_makes_one_order_and_freezes_the_cart(shop, db):
    cart, products, expected = filled_cart(shop)
    total = sum(x["line_total_cents"] for x in expected)
    response = shop.checkout(cart, new_key())
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["cart_id"] == cart.id and order["items"] == expected
    assert order["total_cents"] == total and order["id"] >= 1
    assert [tuple(r) for r in orders_of(db, cart)] == [(order["id"], total)]
    assert db.scalar("SELECT status FROM carts WHERE id = %s", (cart.id,)) == "checked_out"
    # the cart shows the order, whatever the catalogue does later
    shop.put_product(products[0][0], "Repriced", 9999, expect=200)
    assert shop.read(cart).json() == {"id": cart.id, "status": "checked_out",
                                      "items": expected, "total_cents": total}
    # it can no longer change, nor be checked out again with another key
    assert_error(shop.set(cart, products[0][0], 1), 409, "cart_checked_out")
    assert_error(shop.set(cart, shop.product()[0], 1), 409, "cart_checked_out")
    assert_error(shop.remove(cart, products[1][0]), 409, "cart_checked_out")
    assert_error(shop.checkout(cart, new_key()), 409, "cart_checked_out")
    assert len(orders_of(db, cart)) == 1
    assert shop.read(cart).json()["items"] == expected


@pytest.mark.rules("idempotent-repeat", "stateless", "stored-orders")
def test_a_repeated_key_is_answered_from_memory_by_another_instance(shop, db):
    other = shop.second()
    cart, products, _ = filled_cart(shop, other)
    key = new_key()
    first = shop.checkout(cart, key)
    assert first.status_code == 201, first.text
    # the catalogue changes; the repeat still answers the first answer, on either instance
    shop.put_product(products[0][0], "Changed", 1, expect=200)
    for client in (other, shop.main, other):
        again = shop.checkout(cart, key, client)
        assert again.status_code == 201, again.text
        assert again.json() == first.json()
    assert len(orders_of(db, cart)) == 1


@pytest.mark.rules("checkout-key", "cart-empty", "not-remembered", "fault-order")
def test_refused_checkouts_are_not_remembered(shop, db):
    cart = shop.cart()
    key = new_key()
    for bad in (None, "", "k" * 65, "has space", "semi;colon", "dot.ted"):
        assert_error(shop.checkout(cart, bad), 422, "validation_error")
    assert_error(shop.checkout(cart, key), 409, "cart_empty")
    sku, name, price = shop.product()
    shop.set(cart, sku, 3)
    # the same key again: answered by what the cart is now
    response = shop.checkout(cart, key)
    assert response.status_code == 201, response.text
    assert response.json()["items"] == [line(sku, name, 3, price)]
    edge = "A-_9" * 16
    other_cart = shop.cart()
    shop.set(other_cart, sku, 1)
    assert shop.checkout(other_cart, edge).status_code == 201
    assert len(orders_of(db, cart)) == 1 and len(orders_of(db, other_cart)) == 1


@pytest.mark.rules("keys-per-cart")
def test_one_key_checks_out_two_carts(shop, db):
    key = new_key()
    first, _, _ = filled_cart(shop, lines=1)
    second, _, _ = filled_cart(shop, lines=1)
    one, two = shop.checkout(first, key), shop.checkout(second, key)
    assert one.status_code == two.status_code == 201, (one.text, two.text)
    assert one.json()["cart_id"] == first.id and two.json()["cart_id"] == second.id
    assert one.json()["id"] != two.json()["id"]
    assert len(orders_of(db, first)) == len(orders_of(db, second)) == 1


@pytest.mark.rules("checkout-concurrent", "idempotent-repeat", "stateless")
def test_one_key_sent_at_once_to_two_instances_makes_one_order(shop, db):
    """Both checkouts are held back by a lock on the cart's row until both wait, then race."""
    other = shop.second()
    for _ in range(2):
        cart, _, expected = filled_cart(shop)
        key = new_key()
        with ThreadPoolExecutor(max_workers=2) as pool:
            with cart_row_locked(db, cart.id):
                futures = [pool.submit(shop.checkout, cart, key, client)
                           for client in (shop.main, other)]  # fmt: skip
                wait_for_lock_waiters(db, 2)
            answers = [f.result() for f in futures]
        assert [a.status_code for a in answers] == [201, 201], [a.text[:200] for a in answers]
        assert answers[0].json() == answers[1].json()
        assert answers[0].json()["items"] == expected
        assert len(orders_of(db, cart)) == 1


@pytest.mark.rules("checkout-concurrent")
def test_two_keys_sent_at_once_make_one_order(shop, db):
    other = shop.second()
    cart, _, _ = filled_cart(shop)
    with ThreadPoolExecutor(max_workers=2) as pool:
        with cart_row_locked(db, cart.id):
            futures = [pool.submit(shop.checkout, cart, new_key(), client)
                       for client in (shop.main, other)]  # fmt: skip
            wait_for_lock_waiters(db, 2)
        answers = [f.result() for f in futures]
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text[:200] for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert_error(refused, 409, "cart_checked_out")
    assert len(orders_of(db, cart)) == 1


@pytest.mark.rules("restart", "idempotent-repeat", "rate-limit")
def test_nothing_is_lost_when_the_server_restarts(shop, server, db):
    cart, products, expected = filled_cart(shop)
    done, _, _ = filled_cart(shop, lines=1)
    key = new_key()
    first = shop.checkout(done, key)
    assert first.status_code == 201
    client = f"restart-{key}"
    for _ in range(SEARCH_LIMIT):
        assert shop.search(client).status_code == 200
    server.restart()
    assert shop.read(cart).json()["items"] == expected
    assert shop.main.get(f"/v1/products/{products[0][0]}").json()["name"] == products[0][1]
    again = shop.checkout(done, key)
    assert again.status_code == 201 and again.json() == first.json()
    assert len(orders_of(db, done)) == 1
    assert_error(shop.search(client), 429, "rate_limited")
    # a new cart gets an id of its own
    assert shop.cart().id not in (cart.id, done.id)
