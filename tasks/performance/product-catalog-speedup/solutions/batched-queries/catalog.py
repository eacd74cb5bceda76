"""Product catalogue: reading and writing the catalogue's tables."""

from __future__ import annotations

import os
from decimal import Decimal
from typing import Any

from psycopg import Connection, errors, sql
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

PRODUCT_COLUMNS = sql.SQL("id, sku, name, category_id, price_cents, stock")
REVIEW_COLUMNS = sql.SQL("id, product_id, rating, author, body, created_at")

# a hash index answers the exact SKU lookup; built on every start (the database may be a fresh
# copy without it), serialised between instances starting at once by an advisory lock
INDEXES = sql.SQL("CREATE INDEX IF NOT EXISTS products_sku_hash_idx ON products USING hash (sku)")
INDEX_LOCK = 4_021_977

# a page in two round trips: the products with their category's name, then the review figures
# of all of them at once, grouped (products without reviews are absent: 0 and null)
PAGE = sql.SQL(
    """
    SELECT p.id, p.sku, p.name, p.category_id, c.name AS category_name, p.price_cents, p.stock
    FROM products AS p JOIN categories AS c ON c.id = p.category_id
    {where} ORDER BY p.id LIMIT %s OFFSET %s
    """
)
FIGURES = """
SELECT product_id, count(*) AS review_count, avg(rating) AS average
FROM reviews WHERE product_id = ANY(%s) GROUP BY product_id
"""


def open_pool() -> None:
    """Open the pool and add the indexes the queries need."""
    pool.open(wait=True, timeout=30)
    with pool.connection() as conn:
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (INDEX_LOCK,))
        conn.execute(INDEXES)


def close_pool() -> None:
    pool.close()


def average(value: Decimal | None) -> float | None:
    """The mean rating as the API shows it: two decimals, none without reviews."""
    return None if value is None else round(float(value), 2)


def with_figures(conn: Connection[Row], rows: list[Row]) -> list[Row]:
    """The page's rows, each with its review figures, in the page's order."""
    figures = {
        f["product_id"]: f
        for f in conn.execute(FIGURES, ([r["id"] for r in rows],)).fetchall()
    }
    none: Row = {"review_count": 0, "average": None}
    return [{**r, **figures.get(r["id"], none)} for r in rows]


def product(row: Row) -> Row:
    """A page row with its figures, as the API shows it."""
    return {
        "id": row["id"],
        "sku": row["sku"],
        "name": row["name"],
        "category_id": row["category_id"],
        "category_name": row["category_name"],
        "price_cents": row["price_cents"],
        "stock": row["stock"],
        "review_count": row["review_count"],
        "average_rating": average(row["average"]),
    }


def list_products(
    category: int | None, sku: str | None, limit: int, offset: int
) -> tuple[int, list[Row]]:
    """The number of matching products and one page of them, by id."""
    conditions: list[sql.Composable] = []
    params: list[Any] = []
    if category is not None:
        conditions.append(sql.SQL("category_id = %s"))
        params.append(category)
    if sku is not None:
        conditions.append(sql.SQL("sku = %s"))
        params.append(sku)
    where = sql.SQL("WHERE ") + sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("")
    with pool.connection() as conn:
        counted = conn.execute(
            sql.SQL("SELECT count(*) AS total FROM products {}").format(where), params
        ).fetchone()
        rows = conn.execute(PAGE.format(where=where), [*params, limit, offset]).fetchall()
        rows = with_figures(conn, rows)
    assert counted is not None
    return counted["total"], [product(row) for row in rows]


def get_product(product_id: int) -> Row | None:
    """One product, or None."""
    with pool.connection() as conn:
        rows = conn.execute(PAGE.format(where=sql.SQL("WHERE p.id = %s")), (product_id, 1, 0))
        found = with_figures(conn, rows.fetchall())
    return product(found[0]) if found else None


def review(row: Row) -> Row:
    """A review row as the API shows it."""
    return {**row, "created_at": row["created_at"].isoformat()}


def list_reviews(product_id: int, limit: int, offset: int) -> tuple[int, list[Row]] | None:
    """The number of a product's reviews and one page of them, newest first; None when there
    is no such product."""
    with pool.connection() as conn:
        if conn.execute("SELECT 1 FROM products WHERE id = %s", (product_id,)).fetchone() is None:
            return None
        counted = conn.execute(
            "SELECT count(*) AS total FROM reviews WHERE product_id = %s", (product_id,)
        ).fetchone()
        rows = conn.execute(
            sql.SQL(
                "SELECT {} FROM reviews WHERE product_id = %s ORDER BY id DESC LIMIT %s OFFSET %s"
            ).format(REVIEW_COLUMNS),
            (product_id, limit, offset),
        ).fetchall()
    assert counted is not None
    return counted["total"], [review(r) for r in rows]


def add_review(product_id: int, rating: int, author: str, body: str) -> Row | None:
    """Store a review; None when there is no such product."""
    try:
        with pool.connection() as conn:
            row = conn.execute(
                sql.SQL(
                    "INSERT INTO reviews (product_id, rating, author, body) "
                    "VALUES (%s, %s, %s, %s) RETURNING {}"
                ).format(REVIEW_COLUMNS),
                (product_id, rating, author, body),
            ).fetchone()
    except errors.ForeignKeyViolation:
        return None
    assert row is not None
    return review(row)
