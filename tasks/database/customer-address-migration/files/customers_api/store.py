"""The SQL of the customers service (parameters only, never pasted values)."""

from typing import Any

import psycopg

from customers_api.schemas import CustomerIn

COLUMNS = "id, name, email, street, city, postal_code, country"


class EmailTaken(Exception):
    """Another customer already has this email."""


def insert_customer(conn: psycopg.Connection[Any], body: CustomerIn) -> dict[str, Any]:
    """Store a new customer and return its row."""
    try:
        row = conn.execute(
            f"INSERT INTO customers (name, email, street, city, postal_code, country)"
            f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
            (body.name, body.email, body.street, body.city, body.postal_code, body.country),
        ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise EmailTaken(body.email) from exc
    assert row is not None
    return dict(row)


def find_customer(conn: psycopg.Connection[Any], customer_id: int) -> dict[str, Any] | None:
    """The customer's row, or None."""
    row = conn.execute(f"SELECT {COLUMNS} FROM customers WHERE id = %s", (customer_id,)).fetchone()
    return dict(row) if row else None


def customer_page(
    conn: psycopg.Connection[Any], limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of customers by id, and how many there are in all."""
    total = conn.execute("SELECT count(*) AS n FROM customers").fetchone()
    rows = conn.execute(
        f"SELECT {COLUMNS} FROM customers ORDER BY id LIMIT %s OFFSET %s", (limit, offset)
    ).fetchall()
    assert total is not None
    return [dict(row) for row in rows], int(total["n"])
