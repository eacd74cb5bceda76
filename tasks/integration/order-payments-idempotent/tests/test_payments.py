"""Paying orders: the provider's call, retries with one idempotency key, timeouts, refusals,
charges made before a failure, and concurrent pay requests."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from orders_api import (
    BACKOFF,
    CHARGES,
    assert_error,
    assert_gaps,
    assert_paid_once,
    assert_same_key,
    assert_unpaid,
    calls_of,
    charges_of,
    create,
    pay,
    payments,  # noqa: F401 - a fixture
)


@pytest.mark.rules("pay-200", "provider-call", "stored-row")
def test_a_pay_charges_the_order_once_with_its_key_and_stores_the_charge(
    authed_api, db, payments
):
    order = create(authed_api, amount=4321, currency="SEK")
    answer = pay(authed_api, order["id"])
    paid = assert_paid_once(authed_api, db, payments, order, answer)
    calls = calls_of(payments, order)
    assert len(calls) == 1
    call = calls[0]
    assert call.header("Authorization") == f"Bearer {payments.api_key}"
    assert call.header("Idempotency-Key") == order["payment_key"]
    assert call.header("Content-Type").split(";")[0].strip() == "application/json"
    body = call.json()
    assert (body["amount"], body["currency"].upper(), body["reference"]) == (
        4321, "SEK", f"order-{order['id']}")  # fmt: skip
    charge = charges_of(payments, order)[0]
    assert (charge["amount"], charge["currency"], charge["id"]) == (4321, "sek", paid["charge_id"])


@pytest.mark.rules("pay-body-ignored")
def test_the_pay_body_is_ignored_and_the_stored_amount_is_charged(authed_api, db, payments):
    order = create(authed_api, amount=98_765, currency="EUR")
    answer = pay(authed_api, order["id"], json={"amount": 1, "currency": "USD", "status": "x"})
    paid = assert_paid_once(authed_api, db, payments, order, answer)
    assert (paid["amount"], paid["currency"]) == (98_765, "EUR")
    charge = charges_of(payments, order)[0]
    assert (charge["amount"], charge["currency"]) == (98_765, "eur")
    other = create(authed_api, amount=555, currency="EUR")
    answer = pay(authed_api, other["id"], content=b"amount=2",
                 headers={"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert_paid_once(authed_api, db, payments, other, answer)
    assert charges_of(payments, other)[0]["amount"] == 555


@pytest.mark.rules("already-paid")
def test_paying_a_paid_order_is_409_and_calls_no_provider(authed_api, db, payments):
    order = create(authed_api)
    paid = assert_paid_once(authed_api, db, payments, order, pay(authed_api, order["id"]))
    for _ in range(2):
        assert_error(pay(authed_api, order["id"]), 409, "already_paid")
    assert len(calls_of(payments, order)) == 1
    assert len(charges_of(payments, order)) == 1
    assert get_status(authed_api, order) == ("paid", paid["charge_id"])


def get_status(authed_api, order):
    found = authed_api.get(f"/v1/orders/{order['id']}").json()
    return found["status"], found["charge_id"]


@pytest.mark.rules("retryable", "backoff", "same-key", "max-attempts")
def test_5xx_409_and_429_answers_are_retried_half_a_second_later_with_the_same_key(
    authed_api, db, payments
):
    for status in (503, 500, 429, 409):
        payments.reset()
        payments.fault("create", fail_times=2, fail_status=status)
        order = create(authed_api)
        paid = pay(authed_api, order["id"])
        assert_paid_once(authed_api, db, payments, order, paid)
        calls = calls_of(payments, order)
        assert [c.outcome for c in calls] == [status, status, 201], (status, calls)
        assert_same_key(calls, order)
        assert_gaps(calls, [BACKOFF, BACKOFF])


@pytest.mark.rules("max-attempts", "payment-failed", "pay-later", "same-key", "retryable")
def test_after_three_failed_attempts_the_pay_is_502_and_a_later_pay_succeeds(
    authed_api, db, payments
):
    payments.fault("create", fail_times=3, fail_status=502)
    order = create(authed_api, amount=777)
    assert_error(pay(authed_api, order["id"]), 502, "payment_failed")
    calls = calls_of(payments, order)
    assert [c.outcome for c in calls] == [502, 502, 502]
    assert_gaps(calls, [BACKOFF, BACKOFF])
    assert_unpaid(authed_api, db, order)
    assert charges_of(payments, order) == []
    # the fault is spent: the next pay request charges, with the same key
    assert_paid_once(authed_api, db, payments, order, pay(authed_api, order["id"]))
    calls = calls_of(payments, order)
    assert [c.outcome for c in calls] == [502, 502, 502, 201]
    assert_same_key(calls, order)


@pytest.mark.rules("retryable-dropped", "idempotent-retry", "same-key")
def test_a_charge_made_before_a_dropped_or_failed_answer_is_not_made_twice(
    authed_api, db, payments
):
    payments.fault("create", fail_times=1, drop=True, commit=True)
    order = create(authed_api)
    assert_paid_once(authed_api, db, payments, order, pay(authed_api, order["id"]))
    calls = calls_of(payments, order)
    assert [c.outcome for c in calls] == ["dropped", 200]
    assert_same_key(calls, order)
    payments.reset()
    payments.fault("create", fail_times=2, fail_status=503, commit=True)
    order = create(authed_api)
    assert_paid_once(authed_api, db, payments, order, pay(authed_api, order["id"]))
    calls = calls_of(payments, order)
    assert [c.outcome for c in calls] == [503, 503, 200]
    assert_same_key(calls, order)


@pytest.mark.rules("timeout", "idempotent-retry", "payment-failed", "pay-later")
def test_a_call_without_an_answer_in_2_seconds_is_abandoned_and_its_charge_not_made_twice(
    authed_api, db, payments
):
    # an answer after 1.5 s is awaited: one call
    payments.fault("create", delay_ms=1500)
    quick = create(authed_api)
    assert_paid_once(authed_api, db, payments, quick, pay(authed_api, quick["id"]))
    assert len(calls_of(payments, quick)) == 1
    # every call takes 6 s: the first is abandoned after 2 s, the retries find its key in flight
    payments.reset()
    payments.fault("create", delay_ms=6000)
    order = create(authed_api)
    started = time.monotonic()
    assert_error(pay(authed_api, order["id"]), 502, "payment_failed")
    took = time.monotonic() - started
    assert 3.0 - 2 * 0.05 <= took <= 3.0 + 2 * 0.75, took
    assert_unpaid(authed_api, db, order)
    # the provider made the charge after the service gave up; a later pay gets that charge
    end = time.monotonic() + 8
    while not charges_of(payments, order) and time.monotonic() < end:
        time.sleep(0.1)
    made = charges_of(payments, order)
    assert len(made) == 1, made
    payments.fault("create")
    paid = assert_paid_once(authed_api, db, payments, order, pay(authed_api, order["id"]))
    assert paid["charge_id"] == made[0]["id"]
    calls = calls_of(payments, order)
    assert [c.outcome for c in calls][-1] == 200
    assert_same_key(calls, order)
    first, second = sorted(calls[:4], key=lambda c: c.time)[:2]
    assert 2.0 + BACKOFF - 0.05 <= second.time - first.time <= 2.0 + BACKOFF + 0.75


@pytest.mark.rules("refusal", "payment-failed", "pay-later")
def test_a_refused_charge_is_502_at_once_and_not_retried(authed_api, db, payments):
    for status in (400, 422, 401):
        payments.reset()
        payments.fault("create", fail_times=1, fail_status=status)
        order = create(authed_api)
        assert_error(pay(authed_api, order["id"]), 502, "payment_failed")
        time.sleep(BACKOFF + 0.3)
        assert [c.outcome for c in calls_of(payments, order)] == [status]
        assert_unpaid(authed_api, db, order)
        assert_paid_once(authed_api, db, payments, order, pay(authed_api, order["id"]))


@pytest.mark.rules("one-at-a-time", "already-paid")
def test_concurrent_pay_requests_for_one_order_make_one_call(
    authed_api, client_factory, db, payments
):
    # each call takes 1 s: every request arrives while the first call is under way
    payments.fault("create", delay_ms=1000)
    order = create(authed_api)
    clients = [client_factory(headers=dict(authed_api.headers), deadline=9) for _ in range(5)]
    gate = threading.Barrier(len(clients))

    def send(client):
        gate.wait(timeout=5)
        return client.post(f"/v1/orders/{order['id']}/pay")

    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(send, clients))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 409, 409, 409, 409], [a.text for a in answers]
    for answer in answers:
        if answer.status_code == 409:
            assert_error(answer, 409, "already_paid")
    ok = next(a for a in answers if a.status_code == 200)
    assert_paid_once(authed_api, db, payments, order, ok)
    assert len(calls_of(payments, order)) == 1


@pytest.mark.rules("one-at-a-time")
def test_pay_requests_for_different_orders_do_not_wait_for_each_other(
    authed_api, client_factory, db, payments
):
    payments.fault("create", delay_ms=1500)
    orders = [create(authed_api) for _ in range(3)]
    clients = [client_factory(headers=dict(authed_api.headers), deadline=9) for _ in orders]
    gate = threading.Barrier(len(clients))

    def send(pair):
        client, order = pair
        gate.wait(timeout=5)
        return client.post(f"/v1/orders/{order['id']}/pay")

    started = time.monotonic()
    with ThreadPoolExecutor(len(clients)) as pool:
        answers = list(pool.map(send, zip(clients, orders, strict=True)))
    took = time.monotonic() - started
    for order, answer in zip(orders, answers, strict=True):
        assert_paid_once(authed_api, db, payments, order, answer)
    assert took < 2.9, took  # one after another would take 4.5 s


@pytest.mark.rules("api-key-secret")
def test_the_provider_api_key_never_reaches_the_output_or_an_answer(
    authed_api, db, payments, server
):
    key = payments.api_key
    assert key
    answers = []
    order = create(authed_api)
    payments.fault("create", fail_times=1, fail_status=401)
    answers.append(pay(authed_api, order["id"]))
    payments.fault("create", fail_times=3, fail_status=503)
    answers.append(pay(authed_api, order["id"]))
    payments.fault("create", fail_times=1, drop=True)
    answers.append(pay(authed_api, order["id"]))
    answers.append(authed_api.get(f"/v1/orders/{order['id']}"))
    assert [a.status_code for a in answers] == [502, 502, 200, 200]
    for answer in answers:
        assert key not in answer.text and key not in str(answer.headers)
    assert len([c for c in payments.calls() if (c.method, c.path) == CHARGES]) == 6
    assert key not in server.output(size=1024 * 1024)
