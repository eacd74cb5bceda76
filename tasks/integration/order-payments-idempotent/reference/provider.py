"""The payment provider's client: one charge, at most 3 attempts with the order's idempotency key."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import httpx

PAYMENTS_URL = os.environ.get("PAYMENTS_URL", "").rstrip("/")
PAYMENTS_API_KEY = os.environ.get("PAYMENTS_API_KEY", "")
ATTEMPTS = 3
CALL_TIMEOUT = 2.0
BACKOFF = 0.5
RETRYABLE = {409, 429}

client = httpx.Client(timeout=httpx.Timeout(CALL_TIMEOUT), trust_env=False)


@dataclass
class Outcome:
    """A charge's id, or None and why the charge was not made."""

    charge_id: str | None
    reason: str = ""


def attempt(order: dict, key: str) -> tuple[str, str | None]:
    """One call: ("ok", charge id), ("retry", None) or ("refused", None)."""
    try:
        answer = client.post(
            f"{PAYMENTS_URL}/v1/charges",
            json={"amount": order["amount"], "currency": order["currency"],
                  "reference": f"order-{order['id']}"},
            headers={"Authorization": f"Bearer {PAYMENTS_API_KEY}", "Idempotency-Key": key},
        )  # fmt: skip
    except httpx.HTTPError:
        return "retry", None
    if answer.status_code in (200, 201):
        return "ok", str(answer.json()["id"])
    if answer.status_code in RETRYABLE or answer.status_code >= 500:
        return "retry", None
    return "refused", None


def charge(order: dict) -> Outcome:
    """Charge the order's amount: up to 3 attempts, 0.5 s apart, all with its payment_key."""
    for number in range(1, ATTEMPTS + 1):
        result, charge_id = attempt(order, order["payment_key"])
        if result == "ok":
            return Outcome(charge_id)
        if result == "refused":
            return Outcome(None, "the payment provider refused the charge")
        if number < ATTEMPTS:
            time.sleep(BACKOFF)
    return Outcome(None, "the payment provider did not answer in 3 attempts")
