"""Concurrency: no overselling under a burst of orders, no duplicate email under a burst of creates."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

ROUNDS = 3
CLIENTS = 24
STOCK = 5


def error_code(response):
    return response.json()["error"]["code"]


def burst(client_factory, auth_headers, requests):
    """Send `requests` ((method, path, json) each) all at once, one thread and connection each."""
    client = client_factory(
        headers=auth_headers, deadline=30
    )  # its pool opens one connection per thread
    barrier = threading.Barrier(len(requests))

    def send(index):
        method, path, body = requests[index]
        assert client.get("/health").status_code == 200  # connected before the start line
        barrier.wait(timeout=30)
        return client.request(method, path, json=body)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, range(len(requests))))


def order_lines_of(db, product_id):
    """Order lines stored for a product, and their summed quantity, whatever the columns' names."""
    link = db.execute(
        "SELECT a.attname FROM pg_constraint con JOIN pg_attribute a"
        " ON a.attrelid = con.conrelid AND a.attnum = con.conkey[1]"
        " WHERE con.contype = 'f' AND con.conrelid = 'order_items'::regclass"
        " AND con.confrelid = 'products'::regclass"
    ).fetchone()[0]
    return db.execute(
        f"SELECT count(*) FROM order_items WHERE {link} = %s", (product_id,)
    ).fetchone()[0]


@pytest.mark.rules("order-no-oversell", "order-insufficient-stock", "order-decrements-stock")
def test_burst_of_single_unit_orders_sells_exactly_the_stock_every_round(
    authed_api, client_factory, auth_headers, unique, db
):
    customer = authed_api.post(
        "/customers", json={"email": f"{unique('race')}@example.com", "name": "Racer"}
    )
    assert customer.status_code == 201, customer.text
    for round_no in range(ROUNDS):
        product = authed_api.post(
            "/products", json={"name": unique("race"), "price": 1.5, "stock": STOCK}
        )
        assert product.status_code == 201, product.text
        pid = product.json()["id"]
        body = {"customer_id": customer.json()["id"], "items": [{"product_id": pid, "quantity": 1}]}
        answers = burst(client_factory, auth_headers, [("POST", "/orders", body)] * CLIENTS)
        statuses = sorted(r.status_code for r in answers)
        assert statuses.count(201) == STOCK, (round_no, statuses)
        assert statuses.count(409) == CLIENTS - STOCK, (round_no, statuses)
        assert all(error_code(r) == "insufficient_stock" for r in answers if r.status_code == 409)
        assert authed_api.get(f"/products/{pid}").json()["stock"] == 0, round_no
        assert order_lines_of(db, pid) == STOCK, round_no
        late = authed_api.post("/orders", json=body)
        assert late.status_code == 409 and error_code(late) == "insufficient_stock"


@pytest.mark.rules("order-no-oversell", "order-all-or-nothing")
def test_burst_of_orders_over_two_products_in_both_line_orders_never_oversells(
    authed_api, client_factory, auth_headers, unique, db
):
    customer = authed_api.post(
        "/customers", json={"email": f"{unique('pair')}@example.com", "name": "Pair"}
    ).json()
    a = authed_api.post("/products", json={"name": unique("pair"), "price": 1, "stock": 6}).json()
    b = authed_api.post("/products", json={"name": unique("pair"), "price": 2, "stock": 6}).json()
    forward = {
        "customer_id": customer["id"],
        "items": [{"product_id": a["id"], "quantity": 1}, {"product_id": b["id"], "quantity": 1}],
    }
    backward = {
        "customer_id": customer["id"],
        "items": [{"product_id": b["id"], "quantity": 1}, {"product_id": a["id"], "quantity": 1}],
    }
    answers = burst(
        client_factory,
        auth_headers,
        [("POST", "/orders", forward), ("POST", "/orders", backward)] * 8,
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(201) == 6, statuses
    assert statuses.count(409) == 10, statuses
    assert authed_api.get(f"/products/{a['id']}").json()["stock"] == 0
    assert authed_api.get(f"/products/{b['id']}").json()["stock"] == 0
    assert order_lines_of(db, a["id"]) == order_lines_of(db, b["id"]) == 6


def waiting_on_locks(db):
    """Sessions of this database waiting for a lock (ours never is)."""
    return db.execute(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    ).fetchone()[0]


@pytest.mark.rules("customer-email-unique")
def test_burst_of_creates_with_one_email_stores_exactly_one_customer(
    authed_api, client_factory, auth_headers, unique, db
):
    # The customers table is held in SHARE mode while the burst arrives: reads go on, every
    # write waits. So every create has made whatever check it makes before any of them writes,
    # and only the database's own uniqueness can turn all but one away: a check-then-insert
    # stores the email twice every time, not only when the threads happen to interleave.
    email = f"{unique('same')}@example.com"
    body = {"email": email, "name": "Same"}
    sender = ThreadPoolExecutor(max_workers=1)
    with db.transaction():
        db.execute("LOCK TABLE customers IN SHARE MODE")
        sent = sender.submit(burst, client_factory, auth_headers, [("POST", "/customers", body)] * 12)
        seen, steady_since, deadline = 0, time.monotonic(), time.monotonic() + 15
        while time.monotonic() < deadline and not sent.done():
            now = waiting_on_locks(db)
            if now != seen:
                seen, steady_since = now, time.monotonic()
            elif seen >= 2 and time.monotonic() - steady_since > 1.0:
                break  # at least two creates past their checks, none written
            time.sleep(0.1)
    answers = sent.result(timeout=60)
    sender.shutdown()
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == 11, statuses
    assert all(error_code(r) == "conflict" for r in answers if r.status_code == 409)
    stored = db.execute(
        "SELECT count(*) FROM customers AS c WHERE strpos(c::text, %s) > 0", (email,)
    ).fetchone()[0]
    assert stored == 1
