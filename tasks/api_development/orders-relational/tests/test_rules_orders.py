"""Orders: line bounds, unknown references, all or nothing, prices, totals, formats, reading back."""

from datetime import datetime

import pytest

MISSING_ID = 2_000_000_000
BAD_IDS = ["0", "-1", "abc", "1.5", "99999999999999999999999", str(MISSING_ID)]
ORDER_KEYS = {"id", "customer_id", "status", "items", "total", "created_at"}


def assert_error(response, status, code):
    assert response.status_code == status, (
        response.request.method,
        response.request.url,
        response.text,
    )
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def new_customer(api, unique):
    r = api.post("/customers", json={"email": f"{unique('o')}@example.com", "name": "Orderer"})
    assert r.status_code == 201, r.text
    return r.json()


def new_product(api, unique, price=1, stock=10):
    r = api.post("/products", json={"name": unique("op"), "price": price, "stock": stock})
    assert r.status_code == 201, r.text
    return r.json()


def order_body(customer_id, *lines):
    return {
        "customer_id": customer_id,
        "items": [{"product_id": p, "quantity": q} for p, q in lines],
    }


def stock(api, product):
    return api.get(f"/products/{product['id']}").json()["stock"]


def order_rows(db):
    return db.execute(
        "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_items)"
    ).fetchone()


@pytest.mark.rules(
    "order-created", "order-status-placed", "order-get", "ids-positive", "money-format"
)
def test_placed_order_has_the_stated_shape_and_reads_back_the_same(authed_api, unique):
    customer = new_customer(authed_api, unique)
    product = new_product(authed_api, unique, price=4.2, stock=3)
    r = authed_api.post("/orders", json=order_body(customer["id"], (product["id"], 2)))
    assert r.status_code == 201, r.text
    order = r.json()
    assert ORDER_KEYS <= set(order)
    assert isinstance(order["id"], int) and order["id"] >= 1
    assert order["customer_id"] == customer["id"]
    assert order["status"] == "placed"
    assert order["items"] == [{"product_id": product["id"], "quantity": 2, "unit_price": "4.20"}]
    assert order["total"] == "8.40"
    assert authed_api.get(f"/orders/{order['id']}").json() == order
    assert authed_api.get(f"/customers/{customer['id']}/orders").json() == {
        "items": [order],
        "total": 1,
    }


@pytest.mark.rules("order-created-at")
def test_created_at_is_an_iso_8601_timestamp_of_placing(authed_api, unique):
    customer = new_customer(authed_api, unique)
    product = new_product(authed_api, unique)
    before = datetime.now().astimezone()
    order = authed_api.post("/orders", json=order_body(customer["id"], (product["id"], 1))).json()
    after = datetime.now().astimezone()
    text = order["created_at"]
    assert isinstance(text, str), text
    stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if stamp.tzinfo is not None:
        assert before.timestamp() - 120 <= stamp.timestamp() <= after.timestamp() + 120, text


@pytest.mark.rules(
    "order-lines-in-sent-order", "order-unit-price-copied", "order-total", "money-format"
)
def test_lines_keep_the_sent_order_and_prices_and_total_are_exact(authed_api, unique):
    customer = new_customer(authed_api, unique)
    products = [
        new_product(authed_api, unique, price=price, stock=1000000)
        for price in (0.1, 0.2, 19.99, 999999.99, 0.07)
    ]
    lines = [
        (products[4]["id"], 3),
        (products[2]["id"], 3),
        (products[0]["id"], 1),
        (products[3]["id"], 1000000),
        (products[1]["id"], 1),
        (products[0]["id"], 2),
    ]
    r = authed_api.post("/orders", json=order_body(customer["id"], *lines))
    assert r.status_code == 201, r.text
    order = r.json()
    prices = {p["id"]: p["price"] for p in products}
    assert order["items"] == [
        {"product_id": p, "quantity": q, "unit_price": prices[p]} for p, q in lines
    ]
    # 0.21 + 59.97 + 0.10 + 999999990000.00 + 0.20 + 0.20
    assert order["total"] == "999999990060.68"
    assert authed_api.get(f"/orders/{order['id']}").json() == order


@pytest.mark.rules("order-decrements-stock", "order-lines-add-up", "product-get")
def test_stock_decreases_by_the_summed_quantity_of_each_product(authed_api, unique):
    customer = new_customer(authed_api, unique)
    a = new_product(authed_api, unique, stock=10)
    b = new_product(authed_api, unique, stock=10)
    untouched = new_product(authed_api, unique, stock=10)
    r = authed_api.post(
        "/orders", json=order_body(customer["id"], (a["id"], 2), (b["id"], 1), (a["id"], 3))
    )
    assert r.status_code == 201, r.text
    assert (stock(authed_api, a), stock(authed_api, b), stock(authed_api, untouched)) == (5, 9, 10)
    r = authed_api.post("/orders", json=order_body(customer["id"], (a["id"], 5)))
    assert r.status_code == 201, r.text
    assert stock(authed_api, a) == 0


@pytest.mark.rules(
    "order-lines-add-up",
    "order-insufficient-stock",
    "order-all-or-nothing",
    "order-rejected-changes-nothing",
)
def test_lines_of_one_product_add_up_against_its_stock(authed_api, unique, db):
    customer = new_customer(authed_api, unique)
    scarce = new_product(authed_api, unique, stock=5)
    other = new_product(authed_api, unique, stock=5)
    rows = order_rows(db)
    r = authed_api.post(
        "/orders",
        json=order_body(customer["id"], (other["id"], 1), (scarce["id"], 3), (scarce["id"], 3)),
    )
    assert_error(r, 409, "insufficient_stock")
    assert (stock(authed_api, scarce), stock(authed_api, other)) == (5, 5)
    assert order_rows(db) == rows
    assert authed_api.get(f"/customers/{customer['id']}/orders").json() == {"items": [], "total": 0}


@pytest.mark.rules("order-lines-bounds", "validation-422", "order-rejected-changes-nothing")
def test_order_line_count_and_quantity_are_checked_at_both_edges(authed_api, unique, db):
    customer = new_customer(authed_api, unique)
    product = new_product(authed_api, unique, stock=1000000)
    rows = order_rows(db)
    invalid_lines = [
        [],
        [(product["id"], 1)] * 101,
        [(product["id"], 0)],
        [(product["id"], -1)],
        [(product["id"], 1000001)],
        [(product["id"], 1.5)],
        [(product["id"], "1")],
        [(product["id"], None)],
        [(product["id"], 1), (product["id"], 0)],
    ]
    for lines in invalid_lines:
        r = authed_api.post("/orders", json=order_body(customer["id"], *lines))
        assert_error(r, 422, "validation_error")
    for body in (
        {"items": [{"product_id": product["id"], "quantity": 1}]},
        {"customer_id": customer["id"]},
        {
            "customer_id": str(customer["id"]),
            "items": [{"product_id": product["id"], "quantity": 1}],
        },
        {"customer_id": customer["id"], "items": [{"quantity": 1}]},
        {"customer_id": customer["id"], "items": [{"product_id": product["id"]}]},
        {"customer_id": customer["id"], "items": {"product_id": product["id"], "quantity": 1}},
    ):
        assert_error(authed_api.post("/orders", json=body), 422, "validation_error")
    bad_json = authed_api.post(
        "/orders",
        content=b'{"customer_id": 1, "items": [',
        headers={"Content-Type": "application/json"},
    )
    assert_error(bad_json, 422, "validation_error")
    assert stock(authed_api, product) == 1000000
    assert order_rows(db) == rows
    r = authed_api.post("/orders", json=order_body(customer["id"], *[(product["id"], 1)] * 100))
    assert r.status_code == 201, r.text
    assert len(r.json()["items"]) == 100
    assert stock(authed_api, product) == 1000000 - 100
    r = authed_api.post("/orders", json=order_body(customer["id"], (product["id"], 999900)))
    assert r.status_code == 201, r.text
    assert stock(authed_api, product) == 0


@pytest.mark.rules("order-unknown-refs", "order-rejected-changes-nothing", "validation-422")
def test_unknown_customer_or_product_is_422_and_changes_nothing(authed_api, unique, db):
    customer = new_customer(authed_api, unique)
    first = new_product(authed_api, unique, stock=4)
    second = new_product(authed_api, unique, stock=4)
    rows = order_rows(db)
    for body in (
        order_body(MISSING_ID, (first["id"], 1)),
        order_body(customer["id"], (first["id"], 1), (MISSING_ID, 1)),
        order_body(customer["id"], (MISSING_ID, 1), (first["id"], 1)),
        order_body(customer["id"], (first["id"], 1), (second["id"], 2), (MISSING_ID + 1, 1)),
    ):
        assert_error(authed_api.post("/orders", json=body), 422, "validation_error")
    assert (stock(authed_api, first), stock(authed_api, second)) == (4, 4)
    assert order_rows(db) == rows
    assert authed_api.get(f"/customers/{customer['id']}/orders").json()["total"] == 0


@pytest.mark.rules("order-unknown-refs", "order-rejected-changes-nothing")
def test_order_of_a_deleted_customer_is_422(authed_api, unique, db):
    customer = new_customer(authed_api, unique)
    product = new_product(authed_api, unique, stock=2)
    assert authed_api.delete(f"/customers/{customer['id']}").status_code == 204
    rows = order_rows(db)
    assert_error(
        authed_api.post("/orders", json=order_body(customer["id"], (product["id"], 1))),
        422,
        "validation_error",
    )
    assert stock(authed_api, product) == 2
    assert order_rows(db) == rows


@pytest.mark.rules(
    "order-insufficient-stock", "order-all-or-nothing", "order-rejected-changes-nothing"
)
def test_insufficient_stock_on_any_line_refuses_all_lines(authed_api, unique, db):
    customer = new_customer(authed_api, unique)
    products = [new_product(authed_api, unique, stock=n) for n in (3, 3, 0, 3)]
    rows = order_rows(db)
    for lines in (
        [(products[0]["id"], 1), (products[1]["id"], 3), (products[2]["id"], 1)],
        [(products[2]["id"], 1), (products[0]["id"], 1)],
        [(products[0]["id"], 1), (products[1]["id"], 1), (products[3]["id"], 4)],
    ):
        assert_error(
            authed_api.post("/orders", json=order_body(customer["id"], *lines)),
            409,
            "insufficient_stock",
        )
        assert [stock(authed_api, p) for p in products] == [3, 3, 0, 3]
    assert order_rows(db) == rows
    r = authed_api.post(
        "/orders", json=order_body(customer["id"], (products[3]["id"], 3), (products[0]["id"], 3))
    )
    assert r.status_code == 201, r.text
    assert [stock(authed_api, p) for p in products] == [0, 3, 0, 0]


@pytest.mark.rules("order-get", "path-id-404", "error-body")
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_order_id_that_names_no_row_is_404(authed_api, bad_id):
    assert_error(authed_api.get(f"/orders/{bad_id}"), 404, "not_found")
