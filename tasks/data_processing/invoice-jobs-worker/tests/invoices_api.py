"""Helpers of the invoice-delivery tests: making invoices, waiting for their status, and the
upstream's calls of one invoice (told apart by its Idempotency-Key)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

ROUTE = ("POST", "/deliveries")
BACKOFF = (0.5, 1.0, 2.0)
EARLY = 0.05  # the clocks of the upstream's records: a gap may look this much shorter
LATE = 0.75  # stated: at most 0.5 s late; this much is allowed on a busy machine
SETTLE = 2.5  # stated 1 s for a status or a first attempt; measured with room


def new_number() -> str:
    return "inv-" + uuid.uuid4().hex


def invoice_body(**over: Any) -> dict[str, Any]:
    body = {"number": new_number(), "customer": "cust-" + uuid.uuid4().hex,
            "amount_cents": 12345, "currency": "EUR"}  # fmt: skip
    body.update(over)
    return body


def create(authed_api, **over: Any) -> dict[str, Any]:
    body = invoice_body(**over)
    r = authed_api.post("/v1/invoices", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def get(authed_api, invoice_id: int) -> dict[str, Any]:
    r = authed_api.get(f"/v1/invoices/{invoice_id}")
    assert r.status_code == 200, r.text
    return r.json()


def wait_status(authed_api, invoice_id: int, status: str, timeout: float) -> dict[str, Any]:
    """The invoice once its status is `status`; fails after `timeout` s."""
    end = time.monotonic() + timeout
    while True:
        invoice = get(authed_api, invoice_id)
        if invoice["status"] == status:
            return invoice
        if time.monotonic() > end:
            pytest.fail(f"invoice {invoice_id} is not {status} after {timeout} s: {invoice}")
        time.sleep(0.05)


def calls_of(peers, key: str) -> list:
    return [c for c in peers.upstream.calls() if c.header("Idempotency-Key") == key]


def wait_calls(peers, key: str, count: int, timeout: float) -> list:
    """The invoice's first `count` calls once that many arrived; fails after `timeout` s."""
    end = time.monotonic() + timeout
    while True:
        found = calls_of(peers, key)
        if len(found) >= count:
            return found
        if time.monotonic() > end:
            pytest.fail(f"{len(found)} calls with key {key} after {timeout} s, {count} expected")
        time.sleep(0.05)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


def assert_gaps(calls: list) -> None:
    """Consecutive calls are spaced by the stated backoff, never earlier, at most LATE late."""
    for i, (before, after) in enumerate(zip(calls, calls[1:], strict=False)):
        gap = after.time - before.time
        assert BACKOFF[i] - EARLY <= gap <= BACKOFF[i] + LATE, (i + 1, round(gap, 3))


@pytest.fixture
def upstream(peers):
    """The upstream, forgotten before and after the test (an unprogrammed route answers 404)."""
    peers.upstream.reset()
    yield peers.upstream
    peers.upstream.reset()
