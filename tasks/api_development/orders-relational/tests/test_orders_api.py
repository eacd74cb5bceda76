import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

MISSING_ID = 2_000_000_000


@pytest.fixture
def make_customer(authed_api):
    def _make(name="Customer"):
        email = f"c-{uuid.uuid4().hex}@example.com"
        r = authed_api.post("/customers", json={"email": email, "name": name})
        assert r.status_code == 201, r.text
        return r.json()

    return _make


@pytest.fixture
def make_product(authed_api):
    def _make(price=10.0, stock=10, name=None):
        name = name or f"product-{uuid.uuid4().hex}"
        r = authed_api.post("/products", json={"name": name, "price": price, "stock": stock})
        assert r.status_code == 201, r.text
        return r.json()

    return _make


def error_code(response):
    return response.json()["error"]["code"]


def order_body(customer_id, *lines):
    """A POST /orders body: one (product_id, quantity) pair per line."""
    return {
        "customer_id": customer_id,
        "items": [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines],
    }


@pytest.mark.rules("auth-required", "health-open", "error-body")
def test_requests_without_valid_token_are_rejected(api):
    assert api.get("/health").status_code == 200
    r = api.get("/customers")
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"
    r = api.post(
        "/orders",
        json={"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}]},
        headers={"Authorization": "Bearer wrong-" + uuid.uuid4().hex},
    )
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"


@pytest.mark.rules("customer-create", "customer-get")
def test_create_customer_and_fetch_it_by_id(authed_api):
    email = f"fetch-{uuid.uuid4().hex}@example.com"
    r = authed_api.post("/customers", json={"email": email, "name": "Ada Lovelace"})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["email"] == email
    assert created["name"] == "Ada Lovelace"
    r = authed_api.get(f"/customers/{created['id']}")
    assert r.status_code == 200
    assert r.json() == {"id": created["id"], "email": email, "name": "Ada Lovelace"}
    r = authed_api.get(f"/customers/{MISSING_ID}")
    assert r.status_code == 404
    assert error_code(r) == "not_found"


@pytest.mark.rules("customer-email-shape", "validation-422")
def test_create_customer_rejects_malformed_email(authed_api):
    token = uuid.uuid4().hex
    for email in (f"no-at-sign-{token}", f"user-{token}@nodot", f"two words-{token}@example.com"):
        r = authed_api.post("/customers", json={"email": email, "name": "Bad Email"})
        assert r.status_code == 422, email
        assert error_code(r) == "validation_error"


@pytest.mark.rules("customer-email-unique")
def test_duplicate_customer_email_conflicts(authed_api):
    email = f"dup-{uuid.uuid4().hex}@example.com"
    assert authed_api.post("/customers", json={"email": email, "name": "First"}).status_code == 201
    r = authed_api.post("/customers", json={"email": email, "name": "Second"})
    assert r.status_code == 409
    assert error_code(r) == "conflict"


@pytest.mark.rules("product-price", "product-stock", "money-format", "product-get")
def test_create_product_validates_price_and_stock(authed_api):
    name = f"validated-{uuid.uuid4().hex}"
    for body in (
        {"name": name, "price": 0, "stock": 1},
        {"name": name, "price": -5, "stock": 1},
        {"name": name, "price": 1.234, "stock": 1},
        {"name": name, "price": 2.5, "stock": -1},
    ):
        r = authed_api.post("/products", json=body)
        assert r.status_code == 422, body
        assert error_code(r) == "validation_error"
    r = authed_api.post("/products", json={"name": name, "price": 7.5, "stock": 4})
    assert r.status_code == 201
    product = r.json()
    assert product["price"] == "7.50"
    assert product["stock"] == 4
    r = authed_api.get(f"/products/{product['id']}")
    assert r.status_code == 200
    assert r.json() == product


@pytest.mark.rules("product-filter", "product-total", "product-list")
def test_product_list_filters_by_name_case_insensitively_and_paginates(authed_api, make_product):
    token = uuid.uuid4().hex
    made = [make_product(name=f"Gadget-{token}-{n}") for n in range(3)]
    make_product(name=f"Other-{uuid.uuid4().hex}")
    r = authed_api.get("/products", params={"name": f"gadget-{token.upper()}", "limit": 2})
    assert r.status_code == 200
    page = r.json()
    assert page["total"] == 3
    assert [p["id"] for p in page["items"]] == [made[0]["id"], made[1]["id"]]
    r = authed_api.get("/products", params={"name": f"GADGET-{token}", "limit": 2, "offset": 2})
    page = r.json()
    assert page["total"] == 3
    assert [p["id"] for p in page["items"]] == [made[2]["id"]]


@pytest.mark.rules("order-created", "order-unit-price-copied", "order-total", "order-get")
def test_order_copies_unit_prices_and_computes_total(authed_api, make_customer, make_product):
    customer = make_customer()
    first = make_product(price=19.99, stock=10)
    second = make_product(price=5.25, stock=10)
    r = authed_api.post("/orders", json=order_body(customer["id"], (first["id"], 3), (second["id"], 2)))
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["customer_id"] == customer["id"]
    assert order["status"] == "placed"
    assert order["items"] == [
        {"product_id": first["id"], "quantity": 3, "unit_price": "19.99"},
        {"product_id": second["id"], "quantity": 2, "unit_price": "5.25"},
    ]
    assert order["total"] == "70.47"
    assert order["created_at"]
    r = authed_api.get(f"/orders/{order['id']}")
    assert r.status_code == 200
    assert r.json() == order


@pytest.mark.rules("order-decrements-stock")
def test_successful_order_decrements_stock(authed_api, make_customer, make_product):
    customer = make_customer()
    product = make_product(price=3.0, stock=7)
    r = authed_api.post("/orders", json=order_body(customer["id"], (product["id"], 5)))
    assert r.status_code == 201, r.text
    assert authed_api.get(f"/products/{product['id']}").json()["stock"] == 2


@pytest.mark.rules("order-unknown-refs", "order-rejected-changes-nothing")
def test_order_with_unknown_customer_or_product_is_rejected(authed_api, make_customer, make_product):
    customer = make_customer()
    product = make_product(stock=5)
    r = authed_api.post("/orders", json=order_body(MISSING_ID, (product["id"], 1)))
    assert r.status_code == 422
    assert error_code(r) == "validation_error"
    r = authed_api.post("/orders", json=order_body(customer["id"], (product["id"], 1), (MISSING_ID, 1)))
    assert r.status_code == 422
    assert error_code(r) == "validation_error"
    assert authed_api.get(f"/products/{product['id']}").json()["stock"] == 5


@pytest.mark.rules("order-lines-bounds")
def test_order_rejects_empty_items_and_non_positive_quantity(authed_api, make_customer, make_product):
    customer = make_customer()
    product = make_product(stock=5)
    for items in ([], [{"product_id": product["id"], "quantity": 0}]):
        r = authed_api.post("/orders", json={"customer_id": customer["id"], "items": items})
        assert r.status_code == 422, items
        assert error_code(r) == "validation_error"


@pytest.mark.rules("order-insufficient-stock", "order-all-or-nothing")
def test_insufficient_stock_rejects_whole_order_and_changes_no_stock(
    authed_api, make_customer, make_product
):
    customer = make_customer()
    plenty = make_product(price=2.0, stock=5)
    scarce = make_product(price=4.0, stock=1)
    r = authed_api.post("/orders", json=order_body(customer["id"], (plenty["id"], 2), (scarce["id"], 3)))
    assert r.status_code == 409
    assert error_code(r) == "insufficient_stock"
    assert authed_api.get(f"/products/{plenty['id']}").json()["stock"] == 5
    assert authed_api.get(f"/products/{scarce['id']}").json()["stock"] == 1
    assert authed_api.get(f"/customers/{customer['id']}/orders").json()["items"] == []


@pytest.mark.rules("order-no-oversell")
def test_concurrent_orders_never_oversell(
    authed_api, make_customer, make_product, client_factory, auth_headers
):
    customer = make_customer()
    product = make_product(price=1.5, stock=3)
    body = order_body(customer["id"], (product["id"], 1))
    attempts = 10
    barrier = threading.Barrier(attempts)

    def place_order(_):
        with client_factory(headers=auth_headers, deadline=10.0) as c:
            c.get("/health")
            barrier.wait(timeout=10)
            return c.post("/orders", json=body)

    with ThreadPoolExecutor(max_workers=attempts) as pool:
        responses = list(pool.map(place_order, range(attempts)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 3, statuses
    assert statuses.count(409) == attempts - 3, statuses
    assert all(error_code(r) == "insufficient_stock" for r in responses if r.status_code == 409)
    assert authed_api.get(f"/products/{product['id']}").json()["stock"] == 0


@pytest.mark.rules("customer-orders-newest-first", "customer-orders")
def test_customer_orders_are_listed_newest_first(authed_api, make_customer, make_product):
    customer = make_customer()
    product = make_product(stock=10)
    placed = []
    for quantity in (1, 2, 3):
        r = authed_api.post("/orders", json=order_body(customer["id"], (product["id"], quantity)))
        assert r.status_code == 201, r.text
        placed.append(r.json()["id"])
    r = authed_api.get(f"/customers/{customer['id']}/orders")
    assert r.status_code == 200
    orders = r.json()["items"]
    assert [o["id"] for o in orders] == list(reversed(placed))
    assert [o["items"][0]["quantity"] for o in orders] == [3, 2, 1]


@pytest.mark.rules("customer-delete")
def test_delete_customer_without_orders_returns_204(authed_api, make_customer):
    customer = make_customer()
    r = authed_api.delete(f"/customers/{customer['id']}")
    assert r.status_code == 204
    assert authed_api.get(f"/customers/{customer['id']}").status_code == 404


@pytest.mark.rules("customer-delete-conflict")
def test_delete_customer_with_orders_conflicts(authed_api, make_customer, make_product):
    customer = make_customer()
    product = make_product(stock=2)
    r = authed_api.post("/orders", json=order_body(customer["id"], (product["id"], 1)))
    assert r.status_code == 201, r.text
    r = authed_api.delete(f"/customers/{customer['id']}")
    assert r.status_code == 409
    assert error_code(r) == "conflict"
    assert authed_api.get(f"/customers/{customer['id']}").status_code == 200


@pytest.mark.rules("order-get", "path-id-404")
def test_get_unknown_order_returns_404(authed_api):
    r = authed_api.get(f"/orders/{MISSING_ID}")
    assert r.status_code == 404
    assert error_code(r) == "not_found"


@pytest.mark.rules("db-tables", "db-foreign-keys")
def test_tables_are_linked_by_foreign_keys(db):
    query = """
        SELECT child.relname, parent.relname
        FROM pg_constraint con
        JOIN pg_class child ON child.oid = con.conrelid
        JOIN pg_class parent ON parent.oid = con.confrelid
        WHERE con.contype = 'f'
    """
    links = set(db.execute(query).fetchall())
    assert ("orders", "customers") in links
    assert ("order_items", "orders") in links
    assert ("order_items", "products") in links
