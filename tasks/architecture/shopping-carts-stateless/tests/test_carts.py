"""Carts: lines, totals, the token, the 10-line limit, and state shared by every instance."""

from __future__ import annotations

import pytest
from carts_api import (
    MAX_LINES,
    Cart,
    assert_error,
    line,
    new_sku,
    shop,  # noqa: F401 - a fixture
)


@pytest.mark.rules("cart-create", "cart-lines", "cart-set", "cart-remove", "stored-carts",
                   "line-totals", "cart-current-prices", "token-once")
def test_lines_are_set_replaced_and_removed_with_their_totals(shop, db):
    (a, a_name, a_price), (b, b_name, b_price) = sorted([shop.product(price=250),
                                                         shop.product(price=1999)])  # fmt: skip
    cart = shop.cart()
    assert db.scalar("SELECT status FROM carts WHERE id = %s", (cart.id,)) == "open"
    response = shop.set(cart, b, 2)
    assert response.status_code == 200, response.text
    assert response.json() == {"id": cart.id, "status": "open",
                               "items": [line(b, b_name, 2, b_price)], "total_cents": 2 * b_price}
    body = shop.set(cart, a, 3).json()
    assert body["items"] == [line(a, a_name, 3, a_price), line(b, b_name, 2, b_price)]
    assert body["total_cents"] == 3 * a_price + 2 * b_price
    # a new quantity replaces the old one
    body = shop.set(cart, a, 1).json()
    assert body["items"][0] == line(a, a_name, 1, a_price)
    assert body["total_cents"] == a_price + 2 * b_price
    assert shop.read(cart).json() == body
    assert "token" not in shop.read(cart).json()
    neighbour = shop.cart()
    shop.set(neighbour, b, 7)
    body = shop.remove(cart, b).json()
    assert body == {"id": cart.id, "status": "open", "items": [line(a, a_name, 1, a_price)],
                    "total_cents": a_price}  # fmt: skip
    # removing what is not there changes nothing
    again = shop.remove(cart, b)
    assert again.status_code == 200 and again.json() == body
    assert shop.remove(cart, new_sku()).json() == body
    # the other cart keeps its line
    assert shop.read(neighbour).json()["items"] == [line(b, b_name, 7, b_price)]
    # an open cart shows the current name and price
    shop.put_product(a, "Renamed", 300, expect=200)
    assert shop.read(cart).json()["items"] == [line(a, "Renamed", 1, 300)]


@pytest.mark.rules("cart-token", "cart-not-found", "fault-order")
def test_a_cart_is_reached_only_with_its_own_token(shop, api):
    sku, _, _ = shop.product()
    mine, theirs = shop.cart(), shop.cart()
    assert shop.set(mine, sku, 4).status_code == 200
    wrong_tokens = [{}, {"X-Cart-Token": theirs.token}, {"X-Cart-Token": mine.token + "x"},
                    {"X-Cart-Token": mine.token[:-1]}]  # fmt: skip
    for headers in wrong_tokens:
        assert_error(api.get(f"/v1/carts/{mine.id}", headers=headers), 404, "cart_not_found")
        # 404 before the body's and the product's faults
        for body in ({"quantity": 1}, {"quantity": "lots"}):
            assert_error(api.put(f"/v1/carts/{mine.id}/items/{sku}", json=body, headers=headers),
                         404, "cart_not_found")  # fmt: skip
        assert_error(api.put(f"/v1/carts/{mine.id}/items/{new_sku()}", json={"quantity": 1},
                             headers=headers), 404, "cart_not_found")  # fmt: skip
        assert_error(api.delete(f"/v1/carts/{mine.id}/items/{sku}", headers=headers),
                     404, "cart_not_found")  # fmt: skip
        assert_error(api.post(f"/v1/carts/{mine.id}/checkout",
                              headers={**headers, "Idempotency-Key": "k1"}),
                     404, "cart_not_found")  # fmt: skip
        assert_error(api.post(f"/v1/carts/{mine.id}/checkout", headers=headers), 404,
                     "cart_not_found")  # fmt: skip
    # a cart's token opens no other cart
    assert_error(api.get(f"/v1/carts/{theirs.id}", headers=mine.headers), 404, "cart_not_found")
    assert_error(shop.set(theirs, sku, 1, headers=mine.headers), 404, "cart_not_found")
    for bad_id in ("0", "-1", "abc", "1.5", str(2**70), str(mine.id + 10**9)):
        assert_error(api.get(f"/v1/carts/{bad_id}", headers=mine.headers), 404, "cart_not_found")
        assert_error(api.put(f"/v1/carts/{bad_id}/items/{sku}", json={"quantity": 1},
                             headers=mine.headers), 404, "cart_not_found")  # fmt: skip
        assert_error(api.delete(f"/v1/carts/{bad_id}/items/{sku}", headers=mine.headers),
                     404, "cart_not_found")  # fmt: skip
        assert_error(api.post(f"/v1/carts/{bad_id}/checkout",
                              headers={**mine.headers, "Idempotency-Key": "k1"}),
                     404, "cart_not_found")  # fmt: skip
    # nothing changed: the cart still holds its line, and the other cart is empty
    assert [i["quantity"] for i in shop.read(mine).json()["items"]] == [4]
    assert shop.read(theirs).json()["items"] == []


@pytest.mark.rules("quantity", "integers", "body-json", "product-unknown", "fault-order",
                   "unknown-fields", "refused-changes-nothing")  # fmt: skip
def test_invalid_quantities_and_unknown_products_change_nothing(shop, api):
    sku, name, price = shop.product()
    cart = shop.cart()
    assert shop.set(cart, sku, 99).status_code == 200
    for quantity in (0, 100, -1, 1.0, 2.5, "5", True, None, [1]):
        assert_error(shop.set(cart, sku, quantity), 422, "validation_error")
        # the body's fault comes before the unknown product
        assert_error(shop.set(cart, new_sku(), quantity), 422, "validation_error")
    for raw in (b"{", b"[1]", b'"quantity"', b"\xff"):
        response = api.put(f"/v1/carts/{cart.id}/items/{sku}", content=raw,
                           headers={**cart.headers, "Content-Type": "application/json"})
        assert_error(response, 422, "validation_error")
    assert_error(api.put(f"/v1/carts/{cart.id}/items/{sku}", json={}, headers=cart.headers),
                 422, "validation_error")  # fmt: skip
    assert_error(shop.set(cart, new_sku(), 1), 404, "product_not_found")
    assert_error(shop.set(cart, "not-a-sku", 1), 404, "product_not_found")
    assert shop.read(cart).json()["items"] == [line(sku, name, 99, price)]
    ok = api.put(f"/v1/carts/{cart.id}/items/{sku}", json={"quantity": 1, "price": 0},
                 headers=cart.headers)  # fmt: skip
    assert ok.status_code == 200 and ok.json()["items"] == [line(sku, name, 1, price)], ok.text


@pytest.mark.rules("cart-full")
def test_a_cart_holds_at_most_ten_lines(shop):
    products = sorted(shop.product(price=100 + n) for n in range(MAX_LINES + 1))
    cart = shop.cart()
    for sku, _, _ in products[:MAX_LINES]:
        assert shop.set(cart, sku, 1).status_code == 200
    extra = products[MAX_LINES][0]
    assert_error(shop.set(cart, extra, 1), 409, "cart_full")
    # a new quantity for a line already there is fine
    body = shop.set(cart, products[0][0], 5).json()
    assert len(body["items"]) == MAX_LINES and body["items"][0]["quantity"] == 5
    # once a line is gone, another product fits
    shop.remove(cart, products[1][0])
    assert shop.set(cart, extra, 2).status_code == 200
    assert len(shop.read(cart).json()["items"]) == MAX_LINES


@pytest.mark.rules("stateless", "cart-create", "ids-unique")
def test_carts_made_on_two_instances_get_distinct_ids(shop, db):
    other = shop.second()
    carts = [shop.cart(client) for client in (other, shop.main, other, shop.main, other)]
    ids = [c.id for c in carts]
    assert len(set(ids)) == len(ids) and all(i >= 1 for i in ids), ids
    assert db.scalar("SELECT count(*) FROM carts WHERE id = ANY(%s)", (ids,)) == len(ids)
    # a body sent is ignored
    extra = other.post("/v1/carts", json={"id": 1, "status": "checked_out", "total_cents": 5})
    assert extra.status_code == 201 and extra.json()["status"] == "open", extra.text
    assert extra.json()["id"] not in ids and extra.json()["total_cents"] == 0
    # each is reachable through the instance that did not make it
    for n, cart in enumerate(carts):
        client = shop.main if n % 2 == 0 else other
        assert shop.read(cart, client).json()["id"] == cart.id


@pytest.mark.rules("stateless")
def test_one_cart_is_changed_through_both_instances_in_turn(shop):
    other = shop.second()
    products = sorted(shop.product(price=100 * (n + 1)) for n in range(4))
    cart = shop.cart(other)
    expected = []
    for n, (sku, name, price) in enumerate(products):
        client = shop.main if n % 2 == 0 else other
        response = shop.set(cart, sku, n + 1, client)
        assert response.status_code == 200, response.text
        expected.append(line(sku, name, n + 1, price))
        assert response.json()["items"] == expected
    assert shop.remove(cart, products[0][0], other).json()["items"] == expected[1:]
    assert shop.read(cart).json()["items"] == expected[1:]
    assert shop.read(cart, other).json()["items"] == expected[1:]
    assert_error(shop.read(Cart(cart.id, "not-the-token"), other), 404, "cart_not_found")


@pytest.mark.rules("catalogue-fresh", "stateless", "cart-current-prices")
def test_a_product_change_is_seen_at_once_by_every_instance(shop, api):
    other = shop.second()
    sku, name, _ = shop.product(price=700)
    cart = shop.cart(other)
    # the second instance reads the product (and may be tempted to keep it)
    assert other.get(f"/v1/products/{sku}").json()["price_cents"] == 700
    assert shop.set(cart, sku, 2, other).json()["total_cents"] == 1400
    client = f"fresh-{sku}"
    assert [p["price_cents"] for p in shop.search(client, q=name, client=other).json()["items"]] \
        == [700]
    shop.put_product(sku, "New name", 650, expect=200)
    assert other.get(f"/v1/products/{sku}").json() == {"sku": sku, "name": "New name",
                                                        "price_cents": 650}
    assert shop.read(cart, other).json()["items"] == [line(sku, "New name", 2, 650)]
    assert shop.set(cart, sku, 3, other).json()["total_cents"] == 1950
    assert [p["price_cents"] for p in
            shop.search(client, q="New name", client=other).json()["items"] if p["sku"] == sku] \
        == [650]  # fmt: skip
    # and the other way round
    shop.put_product(sku, "Newer name", 600, client=other, expect=200)
    assert api.get(f"/v1/products/{sku}").json()["price_cents"] == 600
