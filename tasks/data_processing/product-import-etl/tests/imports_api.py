"""What the product-import tests share: posting a body in a format, the error body check, the
stored row of a sku, and skus no other test or run uses."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import httpx

CSV = "text/csv"
NDJSON = "application/x-ndjson"
JSON = "application/json"
HEADER = "sku,name,price,quantity,available_from"


def new_prefix() -> str:
    """A sku prefix no other test or run uses (skus are ASCII letters, digits, '.', '_', '-')."""
    return f"t{uuid.uuid4().hex[:12]}"


def post_import(api: httpx.Client, body: bytes | str | Iterable[bytes], content_type: str,
                deadline: float | None = None) -> httpx.Response:  # fmt: skip
    """POST the body (bytes, text, or chunks sent with Transfer-Encoding: chunked)."""
    data = body.encode() if isinstance(body, str) else body
    extensions = {"deadline": deadline} if deadline else None
    return api.post("/v1/imports", content=data, headers={"Content-Type": content_type},
                    extensions=extensions)  # fmt: skip


def imported(api: httpx.Client, body: bytes | str, content_type: str = CSV) -> dict[str, Any]:
    """The report of a successful import (201), its counts adding up."""
    response = post_import(api, body, content_type)
    assert response.status_code == 201, response.text
    report = response.json()
    counts = report["counts"]
    assert counts["received"] == sum(
        counts[k] for k in ("inserted", "updated", "unchanged", "rejected")
    ), report
    return report


def counts(report: dict[str, Any]) -> tuple[int, int, int, int, int]:
    """(received, inserted, updated, unchanged, rejected)."""
    c = report["counts"]
    return c["received"], c["inserted"], c["updated"], c["unchanged"], c["rejected"]


def rejects(report: dict[str, Any]) -> list[tuple[int, str, str | None]]:
    return [(r["row"], r["code"], r["field"]) for r in report["rejects"]]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The response has `status` and the body {"error": {"code": code, "message": <text>}}."""
    assert response.status_code == status, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str), response.text


def stored(db: Any, sku: str) -> tuple[str, Decimal, int, dt.date | None] | None:
    """(name, price, quantity, available_from) of the sku's row in products, or None."""
    with db.cursor() as cur:
        cur.execute("SELECT name, price, quantity, available_from FROM products WHERE sku = %s",
                    (sku,))  # fmt: skip
        rows = cur.fetchall()
    assert len(rows) <= 1, f"{len(rows)} rows for sku {sku}"
    return tuple(rows[0]) if rows else None  # type: ignore[return-value]


def stored_count(db: Any, prefix: str) -> int:
    """Rows of products whose sku starts with the prefix."""
    return int(db.scalar("SELECT count(*) FROM products WHERE sku LIKE %s", (prefix + "%",)))
