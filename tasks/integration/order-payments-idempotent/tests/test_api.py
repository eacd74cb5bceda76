"""The HTTP side: credentials, the create's rules and refusals, reading orders."""

from __future__ import annotations

import json as jsonlib

import pytest
from orders_api import (
    assert_error,
    calls_of,
    create,
    get,
    pay,
    payments,  # noqa: F401 - a fixture
)

ORDER_FIELDS = {"id", "amount", "currency", "status", "charge_id", "payment_key"}


def count_orders(db) -> int:
    return db.scalar("SELECT count(*) FROM orders")


@pytest.mark.rules("health", "auth", "bearer-case", "fault-order")
def test_every_v1_operation_needs_the_bearer_secret(api, authed_api, app_secret, db, payments):
    r = api.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    order = create(authed_api)
    before = count_orders(db)
    wrong = [{}, {"Authorization": f"Basic {app_secret}"}, {"Authorization": "Bearer nope"},
             {"Authorization": f"Bearer {app_secret}x"}, {"Authorization": f"Bearer  {app_secret}"},
             {"Authorization": app_secret}]  # fmt: skip
    for headers in wrong:
        body = {"amount": 100, "currency": "EUR"}
        assert_error(api.post("/v1/orders", json=body, headers=headers), 401, "unauthorized")
        assert_error(api.post("/v1/orders", json=[], headers=headers), 401, "unauthorized")
        assert_error(api.get(f"/v1/orders/{order['id']}", headers=headers), 401, "unauthorized")
        assert_error(api.get("/v1/orders/abc", headers=headers), 401, "unauthorized")
        r = api.post(f"/v1/orders/{order['id']}/pay", headers=headers)
        assert_error(r, 401, "unauthorized")
    assert count_orders(db) == before
    assert calls_of(payments, order) == []
    assert get(authed_api, order["id"])["status"] == "unpaid"
    r = api.post("/v1/orders", json={"amount": 1, "currency": "EUR"},
                 headers={"Authorization": f"bEaReR {app_secret}"})  # fmt: skip
    assert r.status_code == 201, r.text
    r = api.get(f"/v1/orders/{order['id']}", headers={"Authorization": f"BEARER {app_secret}"})
    assert r.status_code == 200, r.text


@pytest.mark.rules("create-201", "stored-row", "payment-key", "extra-fields")
def test_a_create_answers_the_unpaid_order_and_stores_it(authed_api, db):
    r = authed_api.post("/v1/orders", json={
        "amount": 100_000_000, "currency": "GBP", "id": 7, "status": "paid",
        "charge_id": "ch_mine", "payment_key": "mine-mine-mine-mine"})  # fmt: skip
    assert r.status_code == 201, r.text
    order = r.json()
    assert set(order) >= ORDER_FIELDS
    assert (order["amount"], order["currency"]) == (100_000_000, "GBP")
    assert isinstance(order["id"], int) and order["id"] > 0
    assert (order["status"], order["charge_id"]) == ("unpaid", None)
    assert order["payment_key"] != "mine-mine-mine-mine"
    assert 16 <= len(order["payment_key"]) <= 200
    assert get(authed_api, order["id"]) == order
    row = db.execute("SELECT id, amount, status, charge_id FROM orders WHERE id = %s",
                     (order["id"],)).fetchone()  # fmt: skip
    assert tuple(row) == (order["id"], 100_000_000, "unpaid", None)
    keys = {create(authed_api)["payment_key"] for _ in range(5)} | {order["payment_key"]}
    assert len(keys) == 6


BAD_BODIES = [
    {"amount": 0, "currency": "EUR"}, {"amount": 100_000_001, "currency": "EUR"},
    {"amount": -5, "currency": "EUR"}, {"amount": 1.0, "currency": "EUR"},
    {"amount": "5", "currency": "EUR"}, {"amount": True, "currency": "EUR"},
    {"amount": None, "currency": "EUR"}, {"currency": "EUR"},
    {"amount": 5, "currency": "eur"}, {"amount": 5, "currency": "EURO"},
    {"amount": 5, "currency": "E1R"}, {"amount": 5, "currency": "ÉUR"},
    {"amount": 5, "currency": 978}, {"amount": 5},
]


@pytest.mark.rules("create-rules", "error-422", "refused-changes-nothing")
@pytest.mark.parametrize("body", BAD_BODIES)
def test_a_field_that_breaks_its_rule_is_422_and_stores_nothing(authed_api, db, body):
    before = count_orders(db)
    assert_error(authed_api.post("/v1/orders", json=body), 422, "validation_error")
    assert count_orders(db) == before


@pytest.mark.rules("create-rules", "limits-inclusive", "create-201")
def test_the_limits_themselves_are_accepted(authed_api):
    for amount, currency in ((1, "XYZ"), (100_000_000, "AAA"), (999, "ZZZ")):
        order = create(authed_api, amount, currency)
        assert (order["amount"], order["currency"]) == (amount, currency)
    # ids run past the small numbers: an order with a three-digit id is read like any other
    for _ in range(300):
        order = create(authed_api, 5, "EUR")
        if order["id"] > 200:
            break
    assert order["id"] > 200, order
    assert get(authed_api, order["id"]) == order


@pytest.mark.rules("body-json", "error-422", "content-type", "body-size", "fault-order",
                   "refused-changes-nothing")  # fmt: skip
def test_bodies_that_are_not_json_objects_or_too_big_are_refused(authed_api, db):
    before = count_orders(db)
    for raw in (b"{", b"[1]", b'"x"', b"null", b"\xff\xfe{}", b""):
        r = authed_api.post("/v1/orders", content=raw, headers={"Content-Type": "application/json"})
        assert_error(r, 422, "validation_error")
    good = jsonlib.dumps({"amount": 5, "currency": "EUR"}).encode()
    for media in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": media} if media else {}
        r = authed_api.post("/v1/orders", content=good, headers=headers)
        assert_error(r, 415, "unsupported_media_type")
    # 415 before 422: a broken body with the wrong type
    r = authed_api.post("/v1/orders", content=b"{", headers={"Content-Type": "text/plain"})
    assert_error(r, 415, "unsupported_media_type")
    padded = b'{"amount": 5, "currency": "EUR", "pad": "' + b"x" * (1024 * 1024) + b'"}'
    r = authed_api.post("/v1/orders", content=padded, headers={"Content-Type": "text/plain"})
    assert_error(r, 413, "payload_too_large")

    def chunks():
        yield padded[:1000]
        yield padded[1000:]

    r = authed_api.post("/v1/orders", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")
    assert count_orders(db) == before
    exact = b'{"amount": 5, "currency": "EUR", "pad": "'
    exact += b"y" * (1024 * 1024 - len(exact) - 2) + b'"}'
    assert len(exact) == 1024 * 1024
    r = authed_api.post("/v1/orders", content=exact,
                        headers={"Content-Type": "application/json; charset=utf-8"})  # fmt: skip
    assert r.status_code == 201, r.text


@pytest.mark.rules("get-404", "pay-404")
def test_an_unknown_or_malformed_id_is_404_and_calls_no_provider(authed_api, payments):
    order = create(authed_api)
    for raw in ("abc", "0", "-1", "1.5", "1e3", str(2**63), "%201", "99999999999"):
        assert_error(authed_api.get(f"/v1/orders/{raw}"), 404, "not_found")
        assert_error(authed_api.post(f"/v1/orders/{raw}/pay"), 404, "not_found")
    assert_error(authed_api.get(f"/v1/orders/{order['id'] + 10_000}"), 404, "not_found")
    assert_error(authed_api.post(f"/v1/orders/{order['id'] + 10_000}/pay"), 404, "not_found")
    assert [c for c in payments.calls() if c.method == "POST"] == []
    assert payments.charges() == []
