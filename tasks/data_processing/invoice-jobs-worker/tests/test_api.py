"""The HTTP side: credentials, the create's rules and refusals, reading and listing invoices."""

from __future__ import annotations

import json as jsonlib
import time

import pytest
from invoices_api import (
    ROUTE,
    SETTLE,
    assert_error,
    calls_of,
    create,
    get,
    invoice_body,
    new_number,
    upstream,  # noqa: F401 - a fixture
    wait_calls,
    wait_status,
)

INVOICE_FIELDS = {"id", "number", "customer", "amount_cents", "currency", "status", "attempts",
                  "idempotency_key", "last_error"}  # fmt: skip


def stored(db, number):
    return db.scalar("SELECT count(*) FROM invoices WHERE number = %s", (number,))


@pytest.mark.rules("health", "auth", "bearer-case", "fault-order")
def test_every_v1_operation_needs_the_bearer_secret(api, app_secret, db):
    r = api.get("/health")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    body = invoice_body()
    wrong = [{}, {"Authorization": f"Basic {app_secret}"}, {"Authorization": "Bearer nope"},
             {"Authorization": f"Bearer {app_secret}x"}, {"Authorization": f"Bearer  {app_secret}"},
             {"Authorization": app_secret}]  # fmt: skip
    for headers in wrong:
        assert_error(api.post("/v1/invoices", json=body, headers=headers), 401, "unauthorized")
        assert_error(api.post("/v1/invoices", json=[], headers=headers), 401, "unauthorized")
        assert_error(api.get("/v1/invoices/1", headers=headers), 401, "unauthorized")
        assert_error(api.get("/v1/invoices?customer=x", headers=headers), 401, "unauthorized")
        assert_error(api.get("/v1/dead-letters", headers=headers), 401, "unauthorized")
        assert_error(api.post("/v1/dead-letters/1/redrive", headers=headers), 401, "unauthorized")
    assert stored(db, body["number"]) == 0
    r = api.post("/v1/invoices", json=body, headers={"Authorization": f"bEaReR {app_secret}"})
    assert r.status_code == 201, r.text


@pytest.mark.rules("create-201", "stored-row", "key-unique", "attempts-count")
def test_a_create_answers_the_queued_invoice_and_stores_it(authed_api, upstream, peers, db):
    upstream.program(*ROUTE, status=200, delay_ms=1500)
    body = invoice_body(customer="Zoë & Co. ' OR 1=1", amount_cents=100_000_000, currency="GBP")
    r = authed_api.post("/v1/invoices", json={**body, "id": 7, "status": "delivered",
                                              "attempts": 3, "idempotency_key": "mine"})
    assert r.status_code == 201, r.text
    invoice = r.json()
    assert set(invoice) >= INVOICE_FIELDS
    assert {k: invoice[k] for k in body} == body
    assert isinstance(invoice["id"], int) and invoice["id"] > 0
    assert (invoice["status"], invoice["attempts"], invoice["last_error"]) == ("queued", 0, None)
    assert invoice["idempotency_key"] != "mine" and 1 <= len(invoice["idempotency_key"]) <= 200
    fetched = authed_api.get(f"/v1/invoices/{invoice['id']}").json()
    assert {k: fetched[k] for k in body} == body and fetched["status"] == "queued"
    assert fetched["idempotency_key"] == invoice["idempotency_key"]
    # while the first call hangs (1.5 s), the row and the answer both show it counted
    wait_calls(peers, invoice["idempotency_key"], 1, SETTLE)
    row = db.execute("SELECT number, status, attempts FROM invoices WHERE id = %s",
                     (invoice["id"],)).fetchone()  # fmt: skip
    assert tuple(row) == (body["number"], "queued", 1)
    assert (get(authed_api, invoice["id"])["status"], get(authed_api, invoice["id"])["attempts"]) \
        == ("queued", 1)
    other = create(authed_api, customer=body["customer"])
    assert other["idempotency_key"] != invoice["idempotency_key"]
    for made in (invoice, other):
        wait_status(authed_api, made["id"], "delivered", 1.5 + 2 * SETTLE)


BAD_FIELDS = [
    ("number", ""), ("number", "a" * 65), ("number", "with space"), ("number", "é"),
    ("number", "a/b"), ("number", 12), ("number", None),
    ("customer", ""), ("customer", "x" * 201), ("customer", "a\u0000b"), ("customer", 5),
    ("amount_cents", 0), ("amount_cents", 100_000_001), ("amount_cents", 1.0),
    ("amount_cents", "5"), ("amount_cents", True), ("amount_cents", -3),
    ("currency", "eur"), ("currency", "EURO"), ("currency", "E1R"), ("currency", None),
]


@pytest.mark.rules("create-rules", "error-422", "refused-changes-nothing")
@pytest.mark.parametrize(("field", "value"), BAD_FIELDS)
def test_a_field_that_breaks_its_rule_is_422_and_stores_nothing(authed_api, db, field, value):
    body = invoice_body(**{field: value})
    assert_error(authed_api.post("/v1/invoices", json=body), 422, "validation_error")
    if field != "number":
        assert stored(db, body["number"]) == 0


@pytest.mark.rules("create-rules", "error-422", "limits-inclusive")
def test_the_limits_themselves_are_accepted(authed_api, upstream):
    upstream.program(*ROUTE, status=200)
    for over in ({"number": "A" * 64, "customer": "c" * 200, "amount_cents": 100_000_000},
                 {"number": "Z", "customer": "ü", "amount_cents": 1, "currency": "XYZ"}):
        made = create(authed_api, **over)
        wait_status(authed_api, made["id"], "delivered", SETTLE)


@pytest.mark.rules("body-json", "error-422", "content-type", "body-size", "fault-order")
def test_bodies_that_are_not_json_objects_or_too_big_are_refused(authed_api, db):
    number = new_number()
    for raw in (b"{", b"[1]", b'"x"', b"null", b"\xff\xfe{}"):
        r = authed_api.post("/v1/invoices", content=raw, headers={"Content-Type": "application/json"})
        assert_error(r, 422, "validation_error")
    body = invoice_body(number=number)
    for missing in body:
        partial = {k: v for k, v in body.items() if k != missing}
        assert_error(authed_api.post("/v1/invoices", json=partial), 422, "validation_error")
    raw = jsonlib.dumps(body).encode()
    for ctype in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = {"Content-Type": ctype} if ctype else {}
        r = authed_api.post("/v1/invoices", content=raw, headers=headers)
        assert_error(r, 415, "unsupported_media_type")
    assert_error(authed_api.post("/v1/invoices", content=b"[", headers={"Content-Type": "text/plain"}),
                 415, "unsupported_media_type")  # fmt: skip
    big = jsonlib.dumps({**body, "pad": "x" * (1024 * 1024)}).encode()
    r = authed_api.post("/v1/invoices", content=big, headers={"Content-Type": "text/plain"})
    assert_error(r, 413, "payload_too_large")
    assert stored(db, number) == 0
    r = authed_api.post("/v1/invoices", content=iter([big]), headers={"Content-Type": "application/json"})
    assert_error(r, 413, "payload_too_large")  # no Content-Length: sent in chunks
    assert stored(db, number) == 0
    exact = jsonlib.dumps({**body, "pad": ""}).encode()
    exact = jsonlib.dumps({**body, "pad": "x" * (1024 * 1024 - len(exact))}).encode()
    assert len(exact) == 1024 * 1024
    r = authed_api.post("/v1/invoices", content=exact, headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text  # exactly 1 MiB is read as usual
    again = invoice_body()
    r = authed_api.post("/v1/invoices", content=iter([jsonlib.dumps(again).encode()]),
                        headers={"Content-Type": "application/json; charset=utf-8"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert stored(db, number) == 1 and stored(db, again["number"]) == 1


@pytest.mark.rules("number-taken", "refused-changes-nothing")
def test_a_taken_number_is_409_and_enqueues_nothing(authed_api, upstream, peers, db):
    upstream.program(*ROUTE, status=200)
    first = create(authed_api)
    wait_status(authed_api, first["id"], "delivered", SETTLE)
    again = invoice_body(number=first["number"], customer="someone else")
    assert_error(authed_api.post("/v1/invoices", json=again), 409, "number_taken")
    time.sleep(1.0)
    assert stored(db, first["number"]) == 1
    assert len([c for c in peers.upstream.calls() if c.json().get("number") == first["number"]]) == 1
    assert len(calls_of(peers, first["idempotency_key"])) == 1


@pytest.mark.rules("get-404", "error-404")
def test_unknown_and_malformed_ids_are_404(authed_api):
    for bad in ("999999999999", "abc", "0", "-1", "1.5", "01x", "9223372036854775808", "%20"):
        assert_error(authed_api.get(f"/v1/invoices/{bad}"), 404, "not_found")


@pytest.mark.rules("list-customer", "list-query-422", "error-422")
def test_the_list_holds_one_customers_invoices_in_id_order(authed_api, upstream, unique):
    upstream.program(*ROUTE, status=200)
    customer = unique("cust") + " ' OR '1'='1"
    made = [create(authed_api, customer=customer) for _ in range(3)]
    create(authed_api, customer=customer + "x")
    create(authed_api, customer=customer.upper())
    r = authed_api.get("/v1/invoices", params={"customer": customer})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    assert [i["id"] for i in items] == [m["id"] for m in made]
    assert all(i["customer"] == customer for i in items)
    assert authed_api.get("/v1/invoices", params={"customer": unique("none")}).json() == {"items": []}
    assert_error(authed_api.get("/v1/invoices"), 422, "validation_error")
    assert_error(authed_api.get("/v1/invoices", params={"customer": ""}), 422, "validation_error")
    longest = authed_api.get("/v1/invoices", params={"customer": "c" * 200})
    assert longest.status_code == 200 and isinstance(longest.json()["items"], list)
    too_long = authed_api.get("/v1/invoices", params={"customer": "c" * 201})
    assert_error(too_long, 422, "validation_error")


@pytest.mark.rules("queue-on-redis")
def test_jobs_go_through_a_queue_library_on_redis(authed_api, upstream, redis):
    upstream.program(*ROUTE, status=200)
    made = create(authed_api)
    wait_status(authed_api, made["id"], "delivered", SETTLE)
    keys = [k for k in redis.scan_iter(count=1000)]
    assert any(k.startswith(("rq:", "celery", "_kombu", "unacked")) for k in keys), keys[:20]
