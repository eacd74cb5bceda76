"""Helpers of the order-payment tests: making and paying orders, and the provider's calls and
charges of one order (told apart by its payment_key and its reference)."""

from __future__ import annotations

from typing import Any

import pytest

CHARGES = ("POST", "/v1/charges")
BACKOFF = 0.5
EARLY = 0.05  # the clocks of the provider's records: a gap may look this much shorter
LATE = 0.75  # stated: at most 0.5 s late; this much is allowed on a busy machine
PAY_DEADLINE = 9.0  # 3 abandoned attempts and 2 pauses take 7 s


def create(authed_api, amount: int = 4250, currency: str = "EUR") -> dict[str, Any]:
    r = authed_api.post("/v1/orders", json={"amount": amount, "currency": currency})
    assert r.status_code == 201, r.text
    return r.json()


def get(authed_api, order_id: int) -> dict[str, Any]:
    r = authed_api.get(f"/v1/orders/{order_id}")
    assert r.status_code == 200, r.text
    return r.json()


def pay(authed_api, order_id: int, **kwargs: Any):
    return authed_api.post(
        f"/v1/orders/{order_id}/pay", extensions={"deadline": PAY_DEADLINE}, **kwargs
    )


def calls_of(payments, order: dict[str, Any]) -> list:
    """The charge calls sent for the order: those with its key, or with its reference."""
    return [
        c for c in payments.calls()
        if (c.method, c.path) == CHARGES
        and (c.header("Idempotency-Key") == order["payment_key"] or reference_of(c) == ref(order))
    ]  # fmt: skip


def reference_of(call) -> Any:
    try:
        body = call.json()
    except ValueError:
        return None
    return body.get("reference") if isinstance(body, dict) else None


def ref(order: dict[str, Any]) -> str:
    return f"order-{order['id']}"


def charges_of(payments, order: dict[str, Any]) -> list[dict[str, Any]]:
    """The charges the provider made for the order (by its key, or by its reference)."""
    return [
        c for c in payments.charges()
        if c["idempotency_key"] == order["payment_key"] or c["reference"] == ref(order)
    ]  # fmt: skip


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


def assert_same_key(calls: list, order: dict[str, Any]) -> None:
    keys = [c.header("Idempotency-Key") for c in calls]
    assert keys == [order["payment_key"]] * len(calls), keys


def assert_paid_once(authed_api, db, payments, order: dict[str, Any], answer) -> dict[str, Any]:
    """The pay answered 200 paid; the provider made exactly one charge; API and row agree."""
    assert answer.status_code == 200, answer.text
    paid = answer.json()
    charges = charges_of(payments, order)
    assert len(charges) == 1, charges
    assert paid["status"] == "paid" and paid["charge_id"] == charges[0]["id"], paid
    assert {k: paid[k] for k in ("id", "amount", "currency", "payment_key")} == {
        k: order[k] for k in ("id", "amount", "currency", "payment_key")
    }
    assert get(authed_api, order["id"]) == paid
    row = db.execute(
        "SELECT status, charge_id FROM orders WHERE id = %s", (order["id"],)
    ).fetchone()
    assert tuple(row) == ("paid", paid["charge_id"])
    return paid


def assert_unpaid(authed_api, db, order: dict[str, Any]) -> None:
    found = get(authed_api, order["id"])
    assert (found["status"], found["charge_id"]) == ("unpaid", None), found
    row = db.execute(
        "SELECT status, charge_id FROM orders WHERE id = %s", (order["id"],)
    ).fetchone()
    assert tuple(row) == ("unpaid", None)


def assert_gaps(calls: list, gaps: list[float]) -> None:
    """Consecutive calls start `gaps` apart: never earlier, at most LATE later."""
    assert len(calls) == len(gaps) + 1, (len(calls), gaps)
    for i, (before, after) in enumerate(zip(calls, calls[1:], strict=False)):
        gap = after.time - before.time
        assert gaps[i] - EARLY <= gap <= gaps[i] + LATE, (i + 1, round(gap, 3))


@pytest.fixture
def payments(peers):
    """The provider, with its records, charges and faults forgotten before and after the test."""
    peers.payments.reset()
    yield peers.payments
    peers.payments.reset()
