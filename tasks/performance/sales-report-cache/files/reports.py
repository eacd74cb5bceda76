"""Store sales: reading the reports and recording sales in PostgreSQL."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any

from psycopg import Connection, errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

Row = dict[str, Any]

pool: ConnectionPool[Connection[Row]] = ConnectionPool(
    os.environ.get("DATABASE_URL", ""),
    min_size=2,
    max_size=10,
    open=False,
    kwargs={"row_factory": dict_row},
)

# a year of one store: its sales from 1 January 00:00 UTC up to the next 1 January
IN_YEAR = """
store_id = %(store)s
AND sold_at >= make_timestamptz(%(year)s, 1, 1, 0, 0, 0, 'UTC')
AND sold_at < make_timestamptz(%(year)s + 1, 1, 1, 0, 0, 0, 'UTC')
"""
BY_MONTH = f"""
SELECT extract(month FROM sold_at AT TIME ZONE 'UTC')::int AS month,
       sum(quantity::bigint * unit_price_cents)::bigint AS revenue_cents,
       count(*) AS sales,
       sum(quantity)::bigint AS units
FROM sales WHERE {IN_YEAR}
GROUP BY 1
"""
TOP_PRODUCTS = f"""
SELECT s.product_id, p.name,
       sum(s.quantity::bigint * s.unit_price_cents)::bigint AS revenue_cents,
       sum(s.quantity)::bigint AS units
FROM sales s JOIN products p ON p.id = s.product_id
WHERE s.{IN_YEAR.strip()}
GROUP BY s.product_id, p.name
ORDER BY revenue_cents DESC, s.product_id
LIMIT 5
"""
SALE_COLUMNS = "id, store_id, product_id, quantity, unit_price_cents, sold_at"


def open_pool() -> None:
    pool.open(wait=True, timeout=30)


def close_pool() -> None:
    pool.close()


def store_exists(conn: Connection[Row], store_id: int) -> bool:
    return conn.execute("SELECT 1 FROM stores WHERE id = %s", (store_id,)).fetchone() is not None


def report(store_id: int, year: int) -> Row | None:
    """A store's report of a year, computed from its sales; None for an unknown store."""
    params = {"store": store_id, "year": year}
    with pool.connection() as conn:
        if not store_exists(conn, store_id):
            return None
        months = {r["month"]: r for r in conn.execute(BY_MONTH, params).fetchall()}
        top = conn.execute(TOP_PRODUCTS, params).fetchall()
    listed = [
        {
            "month": month,
            "revenue_cents": int(months[month]["revenue_cents"]) if month in months else 0,
            "sales": int(months[month]["sales"]) if month in months else 0,
        }
        for month in range(1, 13)
    ]
    return {
        "store_id": store_id,
        "year": year,
        "revenue_cents": sum(m["revenue_cents"] for m in listed),
        "sales": sum(m["sales"] for m in listed),
        "units": sum(int(r["units"]) for r in months.values()),
        "months": listed,
        "top_products": [
            {
                "product_id": r["product_id"],
                "name": r["name"],
                "revenue_cents": int(r["revenue_cents"]),
                "units": int(r["units"]),
            }
            for r in top
        ],
    }


class UnknownProduct(Exception):
    """The sale names a product that does not exist."""


def record_sale(
    store_id: int, product_id: int, quantity: int, unit_price_cents: int, sold_at: datetime
) -> Row | None:
    """Store a sale; None for an unknown store, UnknownProduct for an unknown product."""
    with pool.connection() as conn:
        if not store_exists(conn, store_id):
            return None
        try:
            row = conn.execute(
                "INSERT INTO sales (store_id, product_id, quantity, unit_price_cents, sold_at) "
                f"VALUES (%s, %s, %s, %s, %s) RETURNING {SALE_COLUMNS}",
                (store_id, product_id, quantity, unit_price_cents, sold_at),
            ).fetchone()
        except errors.ForeignKeyViolation as ex:
            raise UnknownProduct from ex
    assert row is not None
    return sale_json(row)


def sale_json(row: Row) -> Row:
    return {**row, "sold_at": row["sold_at"].isoformat()}
