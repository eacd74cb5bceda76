"""Shared by the hidden tests: creating orders, the canonical amount, and the error shape."""

from __future__ import annotations

from typing import Any

import httpx

ORDER_KEYS = {"id", "customer_name", "amount_cents", "amount"}
OLD_FIELDS = {"cust_name"}
MAX_CENTS = 999_999_999_999_999_999


def canonical(cents: int) -> str:
    """The documented text of an amount: plain euros, a dot, two digits of cents."""
    return f"{cents // 100}.{cents % 100:02d}"


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The answer is `status` with the shared error body and `code`."""
    assert response.status_code == status, (
        response.request.method,
        str(response.request.url),
        response.status_code,
        response.text[:500],
    )
    body = response.json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


def assert_order(order: Any, name: str, cents: int) -> None:
    """An order as the API answers it: the documented keys, the values, the canonical text."""
    assert isinstance(order, dict) and set(order) >= ORDER_KEYS, order
    assert not set(order) & OLD_FIELDS, order
    assert isinstance(order["id"], int) and not isinstance(order["id"], bool), order
    assert order["id"] >= 1, order
    assert order["customer_name"] == name, order
    assert order["amount_cents"] == cents and not isinstance(order["amount_cents"], bool), order
    assert order["amount"] == canonical(cents), order


def new_order(api: httpx.Client, name: str, cents: int) -> dict[str, Any]:
    """Create an order; 201 expected."""
    response = api.post("/v1/orders", json={"customer_name": name, "amount_cents": cents})
    assert response.status_code == 201, response.text
    return response.json()


def shown(order: dict[str, Any]) -> dict[str, Any]:
    """The documented keys of an order the API answers (others may be added)."""
    return {key: order[key] for key in ORDER_KEYS}


def stored(db: Any, order_id: int) -> tuple[str, int] | None:
    """(customer_name, amount_cents) of the order's row, or None."""
    row = db.execute(
        "SELECT customer_name, amount_cents FROM orders WHERE id = %s", (order_id,)
    ).fetchone()
    return None if row is None else (row[0], row[1])


def names_stored(db: Any, name: str) -> int:
    return db.scalar("SELECT count(*) FROM orders WHERE customer_name = %s", (name,))
