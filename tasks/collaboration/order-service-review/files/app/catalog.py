"""Products: the catalogue customers order from, and its stock."""

import psycopg
from psycopg.rows import dict_row

PRODUCT_COLUMNS = "id, sku, name, price_cents, stock"


class DuplicateSku(Exception):
    """Another product already has this SKU."""


def list_products(conn: psycopg.Connection, limit: int, offset: int) -> list[dict]:
    """One page of the catalogue, by id."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"SELECT {PRODUCT_COLUMNS} FROM products ORDER BY id LIMIT %s OFFSET %s",
            (limit, offset),
        ).fetchall()


def create_product(
    conn: psycopg.Connection, sku: str, name: str, price_cents: int, stock: int
) -> dict:
    """Add a product to the catalogue."""
    try:
        with conn.cursor(row_factory=dict_row) as cur:
            return cur.execute(
                "INSERT INTO products (sku, name, price_cents, stock)"
                f" VALUES (%s, %s, %s, %s) RETURNING {PRODUCT_COLUMNS}",
                (sku, name, price_cents, stock),
            ).fetchone()
    except psycopg.errors.UniqueViolation as exc:
        raise DuplicateSku(sku) from exc


def restock(conn: psycopg.Connection, product_id: int, quantity: int) -> dict | None:
    """Add delivered units to a product's stock; None when there is no such product."""
    # one atomic statement: concurrent orders and deliveries cannot lose an update
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            f"UPDATE products SET stock = stock + %s WHERE id = %s RETURNING {PRODUCT_COLUMNS}",
            (quantity, product_id),
        ).fetchone()
