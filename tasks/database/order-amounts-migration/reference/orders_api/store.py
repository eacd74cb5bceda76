"""The SQL of the orders service (parameters only, never pasted values).

Amounts are integer cents (`amount_cents`); the API also shows them as a decimal string,
made from the integer with integer arithmetic so that no amount is rounded.
"""

from typing import Any

import psycopg

from orders_api.schemas import OrderIn

COLUMNS = "id, customer_name, amount_cents"


def amount_text(cents: int) -> str:
    """1250 -> "12.50", 5 -> "0.05", 0 -> "0.00": exact for every bigint."""
    return f"{cents // 100}.{cents % 100:02d}"


def _order(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "amount": amount_text(row["amount_cents"])}


def insert_order(conn: psycopg.Connection[Any], body: OrderIn) -> dict[str, Any]:
    """Store a new order and return it."""
    row = conn.execute(
        f"INSERT INTO orders (customer_name, amount_cents) VALUES (%s, %s) RETURNING {COLUMNS}",
        (body.customer_name, body.amount_cents),
    ).fetchone()
    assert row is not None
    return _order(row)


def find_order(conn: psycopg.Connection[Any], order_id: int) -> dict[str, Any] | None:
    """The order, or None."""
    row = conn.execute(f"SELECT {COLUMNS} FROM orders WHERE id = %s", (order_id,)).fetchone()
    return _order(row) if row else None


def order_page(
    conn: psycopg.Connection[Any], customer_name: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of orders by id (of one customer name, when given), and how many match."""
    where, params = ("", [])
    if customer_name is not None:
        where, params = "WHERE customer_name = %s", [customer_name]
    total = conn.execute(f"SELECT count(*) AS n FROM orders {where}", params).fetchone()
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM orders {where} ORDER BY id LIMIT %s OFFSET %s",
        [*params, limit, offset],
    ).fetchall()
    assert total is not None
    return [_order(row) for row in rows], int(total["n"])
