"""Delivery to the upstream: the call, retries with backoff, permanent failures, timeouts and
the dead-letter list with its re-drive."""

from __future__ import annotations

import time

import pytest
from invoices_api import (
    ROUTE,
    SETTLE,
    assert_error,
    assert_gaps,
    calls_of,
    create,
    get,
    upstream,  # noqa: F401 - a fixture
    wait_calls,
    wait_status,
)


@pytest.mark.rules("delivery-call", "delivered", "first-attempt", "stored-row", "never-again")
def test_an_invoice_is_delivered_once_with_its_key_and_body(authed_api, upstream, peers, db):
    upstream.program(*ROUTE, status=201, json={"ok": True})
    invoice = create(authed_api, customer="Acme Ltd", amount_cents=4200, currency="USD")
    assert invoice["status"] == "queued" and invoice["attempts"] == 0
    (call,) = wait_calls(peers, invoice["idempotency_key"], 1, SETTLE)
    assert call.method == "POST" and call.path == "/deliveries"
    assert (call.header("Content-Type") or "").startswith("application/json")
    assert call.json() == {"invoice_id": invoice["id"], "number": invoice["number"],
                           "customer": "Acme Ltd", "amount_cents": 4200, "currency": "USD"}
    done = wait_status(authed_api, invoice["id"], "delivered", SETTLE)
    assert done["attempts"] == 1 and done["idempotency_key"] == invoice["idempotency_key"]
    row = db.execute("SELECT status, attempts, number FROM invoices WHERE id = %s",
                     (invoice["id"],)).fetchone()  # fmt: skip
    assert tuple(row) == ("delivered", 1, invoice["number"])
    time.sleep(1.0)
    assert len(calls_of(peers, invoice["idempotency_key"])) == 1


@pytest.mark.rules("retryable-5xx", "backoff", "same-key", "attempts-count")
def test_failed_attempts_are_retried_with_backoff_and_the_same_key(authed_api, upstream, peers):
    upstream.program(*ROUTE, status=200, fail_times=3, fail_status=503)
    invoice = create(authed_api)
    calls = wait_calls(peers, invoice["idempotency_key"], 4, 3.5 + 3 * SETTLE)
    assert [c.outcome for c in calls] == [503, 503, 503, 200]
    assert_gaps(calls)
    done = wait_status(authed_api, invoice["id"], "delivered", SETTLE)
    assert done["attempts"] == 4 and done["last_error"]


@pytest.mark.rules("max-attempts", "dead", "dead-letter-list", "last-error", "backoff")
def test_after_four_failures_the_invoice_is_dead_and_listed(authed_api, upstream, peers, db):
    upstream.program(*ROUTE, status=502)
    invoice = create(authed_api)
    calls = wait_calls(peers, invoice["idempotency_key"], 4, 3.5 + 3 * SETTLE)
    assert_gaps(calls)
    dead = wait_status(authed_api, invoice["id"], "dead", SETTLE)
    assert dead["attempts"] == 4 and isinstance(dead["last_error"], str) and dead["last_error"]
    assert db.scalar("SELECT status FROM invoices WHERE id = %s", (invoice["id"],)) == "dead"
    listed = authed_api.get("/v1/dead-letters").json()["items"]
    assert invoice["id"] in [i["id"] for i in listed]
    time.sleep(1.0)
    assert len(calls_of(peers, invoice["idempotency_key"])) == 4


@pytest.mark.rules("permanent")
@pytest.mark.parametrize("status", [300, 302, 400, 409])
def test_a_permanent_failure_is_dead_at_once(authed_api, upstream, peers, status):
    upstream.program(*ROUTE, status=status, headers={"Location": "/deliveries-moved"})
    invoice = create(authed_api)
    wait_calls(peers, invoice["idempotency_key"], 1, SETTLE)
    dead = wait_status(authed_api, invoice["id"], "dead", SETTLE)
    assert dead["attempts"] == 1 and dead["last_error"]
    time.sleep(0.6)
    assert len(calls_of(peers, invoice["idempotency_key"])) == 1
    assert [c.path for c in peers.upstream.calls()] == ["/deliveries"]  # a redirect not followed


@pytest.mark.rules("retryable-other", "retryable-5xx", "backoff")
@pytest.mark.parametrize("failure", ["429", "408", "500", "drop"])
def test_429_408_500_and_a_dropped_connection_are_retried(authed_api, upstream, peers, failure):
    if failure == "drop":
        upstream.program(*ROUTE, status=200, fail_times=1, drop=True)
    else:
        upstream.program(*ROUTE, status=200, fail_times=1, fail_status=int(failure))
    invoice = create(authed_api)
    calls = wait_calls(peers, invoice["idempotency_key"], 2, 0.5 + 2 * SETTLE)
    assert_gaps(calls)
    done = wait_status(authed_api, invoice["id"], "delivered", SETTLE)
    assert done["attempts"] == 2


@pytest.mark.rules("timeout", "last-error")
def test_an_attempt_without_an_answer_in_5_seconds_is_abandoned_and_retried(
    authed_api, upstream, peers
):
    upstream.program(*ROUTE, status=200, delay_ms=9000)
    invoice = create(authed_api)
    (first,) = wait_calls(peers, invoice["idempotency_key"], 1, SETTLE)
    upstream.program(*ROUTE, status=200)  # the next call is answered at once
    calls = wait_calls(peers, invoice["idempotency_key"], 2, 8.0)
    gap = calls[1].time - first.time
    assert 5.0 + 0.5 - 0.05 <= gap <= 5.0 + 0.5 + 1.0, round(gap, 3)
    done = wait_status(authed_api, invoice["id"], "delivered", SETTLE)
    assert done["attempts"] == 2 and done["last_error"]


@pytest.mark.rules("redrive", "same-key", "redrive-not-dead", "never-again", "error-404")
def test_a_dead_invoice_is_redriven_and_a_delivered_one_is_not(authed_api, upstream, peers, db):
    upstream.program(*ROUTE, status=400)
    invoice = create(authed_api)
    dead = wait_status(authed_api, invoice["id"], "dead", SETTLE)
    upstream.program(*ROUTE, status=200, fail_times=1)
    r = authed_api.post(f"/v1/dead-letters/{invoice['id']}/redrive")
    assert r.status_code == 202, r.text
    queued = r.json()
    assert (queued["status"], queued["attempts"]) == ("queued", 0)
    assert queued["idempotency_key"] == invoice["idempotency_key"]
    assert queued["last_error"] == dead["last_error"]
    calls = wait_calls(peers, invoice["idempotency_key"], 3, 0.5 + 2 * SETTLE)
    assert [c.outcome for c in calls] == [400, 503, 200]
    assert_gaps(calls[1:])
    done = wait_status(authed_api, invoice["id"], "delivered", SETTLE)
    assert done["attempts"] == 2
    assert invoice["id"] not in [i["id"] for i in authed_api.get("/v1/dead-letters").json()["items"]]
    again = authed_api.post(f"/v1/dead-letters/{invoice['id']}/redrive")
    assert_error(again, 409, "not_dead")
    time.sleep(1.0)
    assert len(calls_of(peers, invoice["idempotency_key"])) == 3
    assert db.scalar("SELECT status FROM invoices WHERE id = %s", (invoice["id"],)) == "delivered"
    for bad in ("999999999999", "abc", "0", "-1", "1.5", "9223372036854775808"):
        assert_error(authed_api.post(f"/v1/dead-letters/{bad}/redrive"), 404, "not_found")


@pytest.mark.rules("redrive-not-dead")
def test_a_queued_invoice_cannot_be_redriven(authed_api, upstream, peers):
    upstream.program(*ROUTE, status=200, delay_ms=3000)
    invoice = create(authed_api)
    wait_calls(peers, invoice["idempotency_key"], 1, SETTLE)
    r = authed_api.post(f"/v1/dead-letters/{invoice['id']}/redrive", json={"x": 1})
    assert_error(r, 409, "not_dead")
    wait_status(authed_api, invoice["id"], "delivered", 3 + SETTLE)
    assert len(calls_of(peers, invoice["idempotency_key"])) == 1
    assert get(authed_api, invoice["id"])["attempts"] == 1


@pytest.mark.rules("dead-letter-list", "get-404")
def test_the_dead_letter_list_holds_the_newest_100_dead_invoices(authed_api, upstream, peers):
    upstream.program(*ROUTE, status=410)
    made = [create(authed_api) for _ in range(101)]
    wait_status(authed_api, made[-1]["id"], "dead", 30.0)  # a burst waits its turn
    for invoice in made[:3]:
        wait_status(authed_api, invoice["id"], "dead", SETTLE)
    upstream.program(*ROUTE, status=200)
    alive = create(authed_api)
    wait_status(authed_api, alive["id"], "delivered", SETTLE)
    items = authed_api.get("/v1/dead-letters").json()["items"]
    assert all(i["status"] == "dead" for i in items)
    assert [i["id"] for i in items] == [m["id"] for m in reversed(made[1:])]
    assert get(authed_api, made[-1]["id"])["number"] == made[-1]["number"]
