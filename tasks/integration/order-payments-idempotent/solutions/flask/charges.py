"""Charging an order at the payment provider with requests: 3 attempts, one idempotency key."""

from __future__ import annotations

import os
import time

import requests

URL = os.environ.get("PAYMENTS_URL", "").rstrip("/") + "/v1/charges"
KEY = os.environ.get("PAYMENTS_API_KEY", "")


class ChargeFailed(Exception):
    """No charge: every attempt failed, or the provider refused."""


def _is_retryable(status: int) -> bool:
    return status in (409, 429) or 500 <= status <= 599


def charge(order_id: int, amount: int, currency: str, key: str) -> str:
    """The id of the provider's charge for the order (the same one on every retry)."""
    payload = {"amount": amount, "currency": currency, "reference": f"order-{order_id}"}
    headers = {"Authorization": f"Bearer {KEY}", "Idempotency-Key": key}
    for attempt in range(3):
        if attempt:
            time.sleep(0.5)
        try:
            answer = requests.post(URL, json=payload, headers=headers, timeout=(2, 2))
        except requests.RequestException:
            continue
        if answer.status_code in (200, 201):
            return str(answer.json()["id"])
        if not _is_retryable(answer.status_code):
            raise ChargeFailed("the payment provider refused the charge")
    raise ChargeFailed("the payment provider failed three times")
