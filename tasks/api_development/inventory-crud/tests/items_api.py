"""What the inventory tests share: the error body check, item creation, storage look-ups."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from psycopg import sql

FIELDS = ("id", "name", "sku", "price", "quantity", "created_at")
MAX_QUANTITY = 2_147_483_647


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The response has `status` and the body {"error": {"code": code, "message": <text>}}."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body


def assert_item(item: Any) -> None:
    """An item representation: all six fields, with their types and formats."""
    assert isinstance(item, dict), item
    assert set(FIELDS) <= set(item), item
    assert isinstance(item["id"], int) and not isinstance(item["id"], bool), item
    assert isinstance(item["name"], str), item
    assert item["sku"] is None or isinstance(item["sku"], str), item
    assert isinstance(item["price"], int | float) and not isinstance(item["price"], bool), item
    assert isinstance(item["quantity"], int) and not isinstance(item["quantity"], bool), item
    created = datetime.fromisoformat(item["created_at"].replace("Z", "+00:00"))
    assert created.utcoffset() is not None, f"created_at has no UTC offset: {item['created_at']}"


def six_fields(item: Any) -> dict[str, Any]:
    """The six documented fields of an item (the documents allow more)."""
    assert_item(item)
    return {k: item[k] for k in FIELDS}


def new_item(authed_api: httpx.Client, unique: Callable[..., str], **fields: Any) -> dict[str, Any]:
    """Create an item (a unique name, price 10.5, quantity 1 unless given) and return it."""
    body: dict[str, Any] = {"name": unique("inv"), "price": 10.5, "quantity": 1, **fields}
    response = authed_api.post("/v1/items", json=body)
    assert response.status_code == 201, response.text
    return six_fields(response.json())


def read_item(api: httpx.Client, item_id: int) -> dict[str, Any]:
    response = api.get(f"/v1/items/{item_id}")
    assert response.status_code == 200, response.text
    return six_fields(response.json())


def count_named(api: httpx.Client, name: str) -> int:
    """How many items the API lists under exactly this name."""
    response = api.get("/v1/items", params={"name": name})
    assert response.status_code == 200, response.text
    total: int = response.json()["total"]
    return total


def price_band() -> float:
    """The base of a price range no other test (or the load test) uses."""
    return float(random.randint(10_000_000, 900_000_000))  # noqa: S311


def rows_mentioning(db: Any, text: str) -> int:
    """Rows of any table of the submission's database whose text form contains `text`.

    The documents do not name the tables, so every table is searched.
    """
    tables = db.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_%'"
    ).fetchall()
    found = 0
    for schema, table in tables:
        query = sql.SQL("SELECT count(*) FROM {} AS t WHERE strpos(t::text, %s) > 0").format(
            sql.Identifier(schema, table)
        )
        found += db.execute(query, (text,)).fetchone()[0]
    return found
