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


def open_pool() -> None:
    pool.open(wait=True, timeout=30)


def close_pool() -> None:
    pool.close()


def category_name(conn: Connection[Row], category_id: int) -> str:
    row = conn.execute("SELECT name FROM categories WHERE id = %s", (category_id,)).fetchone()
    assert row is not None  # products.category_id is a foreign key
    return str(row["name"])


def review_count(conn: Connection[Row], product_id: int) -> int:
    row = conn.execute(
        "SELECT count(*) AS n FROM reviews WHERE product_id = %s", (product_id,)
    ).fetchone()
    assert row is not None
    return int(row["n"])


def average_rating(conn: Connection[Row], product_id: int) -> float | None:
    """The mean rating as the API shows it: two decimals, None without reviews."""
    row = conn.execute(
        "SELECT avg(rating) AS average FROM reviews WHERE product_id = %s", (product_id,)
    ).fetchone()
    assert row is not None
    value: Decimal | None = row["average"]
    return None if value is None else round(float(value), 2)


def product_details(conn: Connection[Row], row: Row) -> Row:
    """A product row with its category's name and its review figures."""
    return {
        "id": row["id"],
        "sku": row["sku"],
        "name": row["name"],
        "category_id": row["category_id"],
        "category_name": category_name(conn, row["category_id"]),
        "price_cents": row["price_cents"],
        "stock": row["stock"],
        "review_count": review_count(conn, row["id"]),
        "average_rating": average_rating(conn, row["id"]),
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
        rows = conn.execute(
            sql.SQL("SELECT {} FROM products {} ORDER BY id LIMIT %s OFFSET %s").format(
                PRODUCT_COLUMNS, where
            ),
            [*params, limit, offset],
        ).fetchall()
        assert counted is not None
        return counted["total"], [product_details(conn, row) for row in rows]


def get_product(product_id: int) -> Row | None:
    """One product, or None."""
    with pool.connection() as conn:
        row = conn.execute(
            sql.SQL("SELECT {} FROM products WHERE id = %s").format(PRODUCT_COLUMNS),
            (product_id,),
        ).fetchone()
        return None if row is None else product_details(conn, row)


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
