"""The SQL of the orders service (parameters only, never pasted values)."""

from typing import Any

import psycopg

from orders_api.schemas import OrderIn

COLUMNS = "id, cust_name, amount"


def insert_order(conn: psycopg.Connection[Any], body: OrderIn) -> dict[str, Any]:
    """Store a new order and return its row."""
    row = conn.execute(
        f"INSERT INTO orders (cust_name, amount) VALUES (%s, %s) RETURNING {COLUMNS}",
        (body.cust_name, body.amount),
    ).fetchone()
    assert row is not None
    return dict(row)


def find_order(conn: psycopg.Connection[Any], order_id: int) -> dict[str, Any] | None:
    """The order's row, or None."""
    row = conn.execute(f"SELECT {COLUMNS} FROM orders WHERE id = %s", (order_id,)).fetchone()
    return dict(row) if row else None


def order_page(
    conn: psycopg.Connection[Any], cust_name: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of orders by id (of one customer name, when given), and how many match."""
    where, params = ("WHERE cust_name = %s", [cust_name]) if cust_name is not None else ("", [])
    total = conn.execute(f"SELECT count(*) AS n FROM orders {where}", params).fetchone()
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM orders {where} ORDER BY id LIMIT %s OFFSET %s",
        [*params, limit, offset],
    ).fetchall()
    assert total is not None
    return [dict(row) for row in rows], int(total["n"])
