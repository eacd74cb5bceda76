"""The checkout API itself: orders created, read and paid, the token, errors and malformed
requests. What the metrics say of this traffic is in test_metrics.py."""

from __future__ import annotations

import json
import random
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from metrics_scrape import assert_error, create_order, open_in_db, scrape, stored

MiB = 1024 * 1024


@pytest.mark.rules("health")
def test_health_answers_ok_without_a_token(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("create-201", "unknown-fields")
def test_a_created_order_is_open_stored_and_readable(authed_api, unique, db):
    customer = unique("Ada Lovelace ü")
    response = authed_api.post(
        "/v1/orders",
        json={"customer": customer, "amount_cents": 10000000, "status": "paid", "id": 1},
    )
    assert response.status_code == 201, response.text[:300]
    order = response.json()
    assert order == {"id": order["id"], "customer": customer, "amount_cents": 10000000,
                     "status": "open"}  # fmt: skip
    assert stored(db, order["id"]) == (customer, 10000000, "open")
    again = authed_api.get(f"/v1/orders/{order['id']}")
    assert again.status_code == 200 and again.json() == order


@pytest.mark.rules("create-validation", "error-body")
@pytest.mark.parametrize(
    "body",
    [
        {"customer": "", "amount_cents": 5},
        {"customer": "x" * 101, "amount_cents": 5},
        {"customer": 5, "amount_cents": 5},
        {"customer": None, "amount_cents": 5},
        {"amount_cents": 5},
        {"customer": "ok", "amount_cents": 0},
        {"customer": "ok", "amount_cents": 10000001},
        {"customer": "ok", "amount_cents": 12.5},
        {"customer": "ok", "amount_cents": 1.0},
        {"customer": "ok", "amount_cents": "5"},
        {"customer": "ok", "amount_cents": True},
        {"customer": "ok"},
        [{"customer": "ok", "amount_cents": 5}],
        "ok",
    ],
)
def test_an_invalid_order_is_422_and_stores_nothing(authed_api, db, body):
    if isinstance(body, dict) and body.get("customer") == "ok":
        body = {**body, "customer": "bad-" + uuid.uuid4().hex}
    count = db.scalar("SELECT count(*) FROM orders")
    assert_error(authed_api.post("/v1/orders", json=body), 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM orders") == count


@pytest.mark.rules("create-validation", "customer-text")
def test_customers_of_1_and_100_characters_are_stored_and_nul_or_a_surrogate_is_422(
    authed_api, client_factory, auth_headers, db
):
    for name in ("é" * 96 + uuid.uuid4().hex[:4], "Z"):
        response = authed_api.post("/v1/orders", json={"customer": name, "amount_cents": 1})
        assert response.status_code == 201, response.text[:300]
        assert stored(db, response.json()["id"])[0] == name
    count = db.scalar("SELECT count(*) FROM orders")
    headers = {**auth_headers, "Content-Type": "application/json"}
    with client_factory(headers=headers) as client:
        for raw in (b'{"customer": "a\\u0000b", "amount_cents": 5}',
                    b'{"customer": "a\\ud800b", "amount_cents": 5}'):  # fmt: skip
            assert_error(client.post("/v1/orders", content=raw), 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM orders") == count


@pytest.mark.rules("malformed-body")
def test_a_body_that_is_not_json_utf8_or_an_object_is_422(client_factory, auth_headers, db):
    count = db.scalar("SELECT count(*) FROM orders")
    headers = {**auth_headers, "Content-Type": "application/json"}
    with client_factory(headers=headers) as client:
        for raw in (b"", b"{", b"not json", b'{"customer": "caf\xe9", "amount_cents": 5}',
                    b'{"customer": "\xff\xfe", "amount_cents": 5}', b"null", b"42"):  # fmt: skip
            assert_error(client.post("/v1/orders", content=raw), 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM orders") == count


@pytest.mark.rules("get-order", "malformed-id", "error-body")
def test_reading_orders_that_do_not_exist_or_cannot_exist_is_404(authed_api, unique):
    order = create_order(authed_api, unique)
    wide = "".join(chr(0xFF10 + int(d)) for d in str(order["id"]))  # full-width digits
    for oid in ("9223372036854775807", "abc", "0", "-1", "1.5", "9223372036854775808", "1e3",
                wide, f" {order['id']}", f"+{order['id']}"):  # fmt: skip
        assert_error(authed_api.get(f"/v1/orders/{oid}"), 404, "not_found")
        assert_error(authed_api.post(f"/v1/orders/{oid}/pay"), 404, "not_found")
    assert authed_api.get(f"/v1/orders/{order['id']}").json()["status"] == "open"


@pytest.mark.rules("get-order", "pay")
def test_an_order_with_a_large_id_written_by_another_program_is_read_and_paid(
    authed_api, unique, db
):
    big = random.randrange(2**62, 2**63 - 1)
    customer = unique("ext")
    db.execute(
        "INSERT INTO orders (id, customer, amount_cents, status) VALUES (%s, %s, 77, 'open')",
        (big, customer),
    )
    expected = {"id": big, "customer": customer, "amount_cents": 77, "status": "open"}
    response = authed_api.get(f"/v1/orders/{big}")
    assert response.status_code == 200, response.text[:300]
    assert response.json() == expected
    response = authed_api.post(f"/v1/orders/{big}/pay")
    assert response.status_code == 200, response.text[:300]
    assert response.json() == {**expected, "status": "paid"}


@pytest.mark.rules("pay", "pay-wait", "pay-409", "pay-404", "pay-body")
def test_paying_waits_then_marks_the_order_paid_once(authed_api, unique, db):
    order = create_order(authed_api, unique)
    start = time.perf_counter()
    response = authed_api.post(f"/v1/orders/{order['id']}/pay", json={"status": "open"})
    took = time.perf_counter() - start
    assert response.status_code == 200, response.text[:300]
    assert response.json() == {**order, "status": "paid"}
    assert took >= 0.25, f"the pay answered after {took:.3f} s"
    assert stored(db, order["id"])[2] == "paid"
    assert_error(authed_api.post(f"/v1/orders/{order['id']}/pay"), 409, "conflict")
    assert stored(db, order["id"])[2] == "paid"
    assert authed_api.get(f"/v1/orders/{order['id']}").json()["status"] == "paid"
    assert_error(authed_api.post("/v1/orders/9223372036854775806/pay"), 404, "not_found")
    assert_error(authed_api.post("/v1/orders/abc/pay"), 404, "not_found")


@pytest.mark.rules("pay-concurrent", "orders-open")
def test_two_pays_of_one_order_sent_at_once_give_one_200_and_one_409(
    api, authed_api, client_factory, auth_headers, unique, db
):
    # The order's row is locked by this test while both pays arrive: each gets past whatever
    # check it makes before either can write, so a check-then-update pays twice every run.
    order = create_order(authed_api, unique)

    def pay(_i):
        with client_factory(headers=auth_headers, deadline=20) as client:
            return client.post(f"/v1/orders/{order['id']}/pay")

    sender = ThreadPoolExecutor(max_workers=2)
    with db.transaction():
        db.execute("SELECT 1 FROM orders WHERE id = %s FOR UPDATE", (order["id"],))
        sent = [sender.submit(pay, i) for i in range(2)]
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline and not any(f.done() for f in sent):
            if waiting_on_locks(db) >= 2:
                break
            time.sleep(0.05)
    answers = [f.result(timeout=30) for f in sent]
    sender.shutdown()
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    assert stored(db, order["id"])[2] == "paid"
    assert scrape(api, auth_headers).value("orders_open") == open_in_db(db)


@pytest.mark.rules("pay-wait")
def test_pays_wait_side_by_side_not_one_after_another(
    authed_api, client_factory, auth_headers, unique
):
    orders = [create_order(authed_api, unique) for _ in range(6)]

    def pay(order):
        with client_factory(headers=auth_headers) as client:
            return client.post(f"/v1/orders/{order['id']}/pay")

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = [r.status_code for r in pool.map(pay, orders)]
    took = time.perf_counter() - start
    assert statuses == [200] * 6, statuses
    assert took < 1.2, f"six pays sent at once took {took:.2f} s: they waited one after another"


def waiting_on_locks(db):
    return db.scalar(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )


@pytest.mark.rules("auth", "error-body")
def test_every_v1_endpoint_needs_the_exact_bearer_token_and_changes_nothing(
    api, authed_api, app_secret, unique, db
):
    order = create_order(authed_api, unique)
    count = db.scalar("SELECT count(*) FROM orders")
    for headers in (
        {},
        {"Authorization": "Bearer wrong-" + uuid.uuid4().hex},
        {"Authorization": f"bearer {app_secret}"},
        {"Authorization": f"Bearer {app_secret[:-1]}"},
        {"Authorization": f"Token {app_secret}"},
    ):
        for response in (
            api.post("/v1/orders", json={"customer": unique("n"), "amount_cents": 5},
                     headers=headers),
            api.post("/v1/orders", json={"customer": ""}, headers=headers),
            api.get(f"/v1/orders/{order['id']}", headers=headers),
            api.get("/v1/orders/abc", headers=headers),
            api.post(f"/v1/orders/{order['id']}/pay", headers=headers),
        ):  # fmt: skip
            assert_error(response, 401, "unauthorized")
    assert db.scalar("SELECT count(*) FROM orders") == count
    assert stored(db, order["id"])[2] == "open"


@pytest.mark.rules("oversized-body")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    api, client_factory, auth_headers, unique, db
):
    customer = unique("big")
    body = json.dumps({"customer": customer, "amount_cents": 5, "pad": "x" * (MiB + 64)}).encode()
    with client_factory(headers={**auth_headers, "Content-Type": "application/json"}) as client:
        response = client.post("/v1/orders", content=body)
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    rows = db.scalar("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
    assert rows == (1 if response.status_code == 201 else 0)
    assert api.get("/health").status_code == 200


@pytest.mark.rules("content-type")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    client_factory, auth_headers, unique, db, content_type
):
    customer = unique("ct")
    body = json.dumps({"customer": customer, "amount_cents": 5}).encode()
    with client_factory(headers={**auth_headers, "Content-Type": content_type}) as client:
        response = client.post("/v1/orders", content=body)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert response.json()["customer"] == customer
    rows = db.scalar("SELECT count(*) FROM orders WHERE customer = %s", (customer,))
    assert rows == (1 if response.status_code == 201 else 0)
