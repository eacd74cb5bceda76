"""Orders through the new API: the shape, exact amounts, validation, the list and its filter."""

from __future__ import annotations

import random

import pytest
from order_requests import (
    MAX_CENTS,
    assert_error,
    assert_order,
    canonical,
    names_stored,
    new_order,
    shown,
    stored,
)

# amounts whose text a float, a division or a missing zero gets wrong
AMOUNTS = [
    0, 1, 5, 10, 50, 99, 100, 110, 1999, 1001, 123400, 2**31 - 1, 2**31, 2**53, 2**53 + 1,
    2**53 + 3, 12345678901234567, 10**17 + 1, MAX_CENTS - 99, MAX_CENTS,
]  # fmt: skip


@pytest.mark.rules("order-create", "order-shape", "order-shape-everywhere", "ids-positive")
def test_a_created_order_has_the_new_shape_and_is_stored_in_cents(authed_api, unique, db):
    name = unique("Ada Lovelace")
    created = new_order(authed_api, name, 1999)
    assert_order(created, name, 1999)
    assert stored(db, created["id"]) == (name, 1999)
    fetched = authed_api.get(f"/v1/orders/{created['id']}")
    assert fetched.status_code == 200, fetched.text
    assert fetched.json() == created
    listed = authed_api.get("/v1/orders", params={"customer_name": name}).json()
    assert listed["total"] == 1
    assert [shown(o) for o in listed["items"]] == [shown(created)]


@pytest.mark.rules("amount-text", "order-shape-everywhere")
def test_amount_is_the_exact_canonical_text_of_the_cents(authed_api, unique, db):
    name = unique("exact")
    made = [new_order(authed_api, name, cents) for cents in AMOUNTS]
    for order, cents in zip(made, AMOUNTS, strict=True):
        assert_order(order, name, cents)
        assert stored(db, order["id"]) == (name, cents)
        assert authed_api.get(f"/v1/orders/{order['id']}").json() == order
    listed = authed_api.get("/v1/orders", params={"customer_name": name, "limit": 100}).json()
    assert [(o["amount_cents"], o["amount"]) for o in listed["items"]] == [
        (cents, canonical(cents)) for cents in AMOUNTS
    ]


@pytest.mark.rules("amount-range", "validation-422", "error-body")
def test_amount_cents_is_checked_at_both_edges(authed_api, unique, db):
    name = unique("edges")
    for cents in (0, MAX_CENTS):
        assert_order(new_order(authed_api, name, cents), name, cents)
    for cents in (-1, -1999, MAX_CENTS + 1, 2**63, 10**30):
        response = authed_api.post("/v1/orders", json={"customer_name": name, "amount_cents": cents})
        assert_error(response, 422, "validation_error")
    assert names_stored(db, name) == 2


@pytest.mark.rules("amount-integer", "validation-422", "error-body")
def test_amount_cents_must_be_a_json_integer(authed_api, unique, db, client_factory, auth_headers):
    name = unique("typed")
    for value in (12.0, 19.99, 0.5, "1250", "12.50", True, False, None, [1250], {"cents": 1}):
        response = authed_api.post("/v1/orders", json={"customer_name": name, "amount_cents": value})
        assert_error(response, 422, "validation_error")
    raw = b'{"customer_name": "%s", "amount_cents": 1e3}' % name.encode()
    with client_factory(headers={**auth_headers, "Content-Type": "application/json"}) as client:
        assert_error(client.post("/v1/orders", content=raw), 422, "validation_error")
    assert_error(authed_api.post("/v1/orders", json={"customer_name": name}), 422, "validation_error")
    assert names_stored(db, name) == 0


@pytest.mark.rules("customer-name", "text-verbatim", "validation-422", "parameterized-sql")
def test_customer_name_is_checked_and_stored_exactly_as_sent(authed_api, unique, db):
    tag = unique("n")
    for name in ("", " ", "\t\n ", tag + "x" * (201 - len(tag)), f"{tag}\x00nul", "\x00"):
        response = authed_api.post("/v1/orders", json={"customer_name": name, "amount_cents": 1})
        assert_error(response, 422, "validation_error")
    for bad in (None, 12, ["a"], True):
        response = authed_api.post("/v1/orders", json={"customer_name": bad, "amount_cents": 1})
        assert_error(response, 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM orders WHERE customer_name LIKE %s", (f"{tag}%",)) == 0
    for name in (
        tag + "y" * (200 - len(tag)),
        f"  {tag} Spaced  ",
        f"{tag} MiXeD cAsE",
        f"{tag} O'Brien \"quoted\"; DROP TABLE orders; --",
        f"{tag} Zoë 🛒 李",
        "z",
    ):
        order = new_order(authed_api, name, 42)
        assert_order(order, name, 42)
        assert stored(db, order["id"]) == (name, 42)


@pytest.mark.rules("old-fields-gone", "unknown-fields-ignored", "validation-422")
def test_the_old_request_fields_are_not_read(authed_api, unique, db):
    name = unique("old")
    for body in (
        {"cust_name": name, "amount": "12.50"},
        {"cust_name": name, "amount_cents": 1250},
        {"customer_name": name, "amount": "12.50"},
        {"customer_name": name, "amount": 1250},
    ):
        assert_error(authed_api.post("/v1/orders", json=body), 422, "validation_error")
    assert names_stored(db, name) == 0
    body = {"customer_name": name, "amount_cents": 1250, "amount": "99.99", "cust_name": "x"}
    body["id"] = 1
    created = authed_api.post("/v1/orders", json=body)
    assert created.status_code == 201, created.text
    assert_order(created.json(), name, 1250)
    assert created.json()["id"] != 1
    assert stored(db, created.json()["id"]) == (name, 1250)


@pytest.mark.rules("list-filter", "list-order", "list-total", "parameterized-sql")
def test_the_list_filters_by_the_exact_customer_name(authed_api, unique):
    name = unique("Grace Hopper")
    mine = [new_order(authed_api, name, cents) for cents in (300, 100, 200)]
    others = [
        new_order(authed_api, other, 1)
        for other in (name.lower(), name.upper(), f"{name} ", f" {name}", f"{name}x", name[:-1])
    ]
    listed = authed_api.get("/v1/orders", params={"customer_name": name})
    assert listed.status_code == 200, listed.text
    assert listed.json()["total"] == 3
    assert [shown(o) for o in listed.json()["items"]] == [shown(o) for o in mine]
    for other in others:
        got = authed_api.get("/v1/orders", params={"customer_name": other["customer_name"]}).json()
        assert [o["id"] for o in got["items"]] == [other["id"]], (other, got)
    for absent in (unique("nobody"), f"{name}%", f"{name[:4]}_%", "' OR '1'='1", f"{name}\x00"):
        got = authed_api.get("/v1/orders", params={"customer_name": absent})
        assert got.status_code == 200, got.text
        assert got.json() == {"items": [], "total": 0}, absent


@pytest.mark.rules("list-order", "list-paging", "list-total")
def test_the_list_pages_by_id_ascending(authed_api, unique, db):
    name = unique("pages")
    ids = [new_order(authed_api, name, n)["id"] for n in range(7)]
    assert ids == sorted(ids)

    def page(**params):
        response = authed_api.get("/v1/orders", params={"customer_name": name, **params})
        assert response.status_code == 200, response.text
        return response.json()

    assert [o["id"] for o in page(limit=3)["items"]] == ids[:3]
    assert [o["id"] for o in page(limit=3, offset=3)["items"]] == ids[3:6]
    assert [o["id"] for o in page(limit=3, offset=6)["items"]] == ids[6:]
    assert page(limit=3, offset=7) == {"items": [], "total": 7}
    assert page(offset=10**30) == {"items": [], "total": 7}
    assert len(page()["items"]) == 7
    before = db.scalar("SELECT count(*) FROM orders")
    everything = authed_api.get("/v1/orders", params={"limit": 100}).json()
    assert before <= everything["total"] <= db.scalar("SELECT count(*) FROM orders")
    assert len(everything["items"]) == 100
    listed = [o["id"] for o in everything["items"]]
    assert listed == sorted(listed)
    assert len(authed_api.get("/v1/orders").json()["items"]) == 50


@pytest.mark.rules("list-paging", "validation-422", "error-body")
def test_bad_paging_parameters_are_422(authed_api):
    for params in (
        {"limit": 0}, {"limit": 101}, {"limit": -1}, {"limit": "abc"}, {"limit": "1.5"},
        {"offset": -1}, {"offset": "x"}, {"offset": "1e3"},
    ):  # fmt: skip
        assert_error(authed_api.get("/v1/orders", params=params), 422, "validation_error")


@pytest.mark.rules("list-order", "list-filter", "amount-text")
def test_the_list_is_ordered_by_id_whatever_order_the_rows_were_stored_in(authed_api, unique, db):
    # rows written straight into the table, highest id first (far above any id the server
    # assigns), so that the table's physical order and the index's are the reverse of id order
    name = unique("stored")
    first = 9_000_000_000_000_000 + random.randrange(10**12) * 10
    ids = [first + n for n in range(4)]
    for order_id in reversed(ids):
        db.execute(
            "INSERT INTO orders (id, customer_name, amount_cents) VALUES (%s, %s, %s)",
            (order_id, name, order_id - first + 5),
        )
    listed = authed_api.get("/v1/orders", params={"customer_name": name})
    assert listed.status_code == 200, listed.text
    assert [o["id"] for o in listed.json()["items"]] == ids
    assert [o["amount"] for o in listed.json()["items"]] == ["0.05", "0.06", "0.07", "0.08"]
    assert listed.json()["total"] == 4
    paged = authed_api.get("/v1/orders", params={"customer_name": name, "limit": 2, "offset": 1})
    assert [o["id"] for o in paged.json()["items"]] == ids[1:3]
    for order_id in ids:
        assert_order(authed_api.get(f"/v1/orders/{order_id}").json(), name, order_id - first + 5)
