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

# the SKU lookup scanned all 10^5 products without it; an index on 10^5 rows builds in well
# under a second, on every start (the database may be a fresh copy without it)
INDEXES = sql.SQL("CREATE INDEX IF NOT EXISTS products_sku_idx ON products (sku)")
# any number, the same in every instance: two starting at once build the index one at a time
INDEX_LOCK = 7_310_442

# one round trip for a whole page: the category's name by a join, the review figures by an
# aggregate per product through reviews_product_id_idx (count(*) of no rows is 0, avg is NULL)
DETAILS = sql.SQL(
    """
    SELECT p.id, p.sku, p.name, p.category_id, c.name AS category_name, p.price_cents,
           p.stock, r.review_count, r.average
    FROM ({page}) AS p
    JOIN categories AS c ON c.id = p.category_id
    CROSS JOIN LATERAL (
        SELECT count(*) AS review_count, avg(rating) AS average
        FROM reviews WHERE reviews.product_id = p.id
    ) AS r
    ORDER BY p.id
    """
)


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


def product(row: Row) -> Row:
    """A row of DETAILS as the API shows it."""
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
        page = sql.SQL("SELECT {} FROM products {} ORDER BY id LIMIT %s OFFSET %s").format(
            PRODUCT_COLUMNS, where
        )
        rows = conn.execute(DETAILS.format(page=page), [*params, limit, offset]).fetchall()
    assert counted is not None
    return counted["total"], [product(row) for row in rows]


def get_product(product_id: int) -> Row | None:
    """One product, or None."""
    with pool.connection() as conn:
        page = sql.SQL("SELECT {} FROM products WHERE id = %s").format(PRODUCT_COLUMNS)
        row = conn.execute(DETAILS.format(page=page), (product_id,)).fetchone()
    return None if row is None else product(row)


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
