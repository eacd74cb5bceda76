"""Parameterized SQL over an asyncpg pool; rows come back as plain dicts ready for JSON."""

from collections import Counter
from decimal import Decimal
from typing import Any

import asyncpg

from errors import ApiError, invalid

Row = dict[str, Any]


def money(amount: Decimal) -> str:
    """An amount as a string with exactly two decimals."""
    return f"{amount:.2f}"


def _customer(row: asyncpg.Record) -> Row:
    return {"id": row["id"], "email": row["email"], "name": row["name"]}


def _product(row: asyncpg.Record) -> Row:
    return {"id": row["id"], "name": row["name"], "price": money(row["price"]),
            "stock": row["stock"]}  # fmt: skip


# --- customers ---------------------------------------------------------------------------


async def create_customer(pool: asyncpg.Pool, email: str, name: str) -> Row:
    try:
        row = await pool.fetchrow(
            "INSERT INTO customers (email, name) VALUES ($1, $2) RETURNING id, email, name",
            email, name,
        )  # fmt: skip
    except asyncpg.UniqueViolationError as exc:
        raise ApiError(409, "conflict", "this email is already used") from exc
    return _customer(row)


async def list_customers(pool: asyncpg.Pool, limit: int, offset: int) -> Row:
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        total = await conn.fetchval("SELECT count(*) FROM customers")
        rows = await conn.fetch(
            "SELECT id, email, name FROM customers ORDER BY id LIMIT $1 OFFSET $2", limit, offset
        )
    return {"items": [_customer(r) for r in rows], "total": total}


async def get_customer(pool: asyncpg.Pool, customer_id: int) -> Row | None:
    row = await pool.fetchrow("SELECT id, email, name FROM customers WHERE id = $1", customer_id)
    return _customer(row) if row else None


async def delete_customer(pool: asyncpg.Pool, customer_id: int) -> bool:
    """Delete a customer without orders; False when there is no such customer."""
    try:
        status = await pool.execute("DELETE FROM customers WHERE id = $1", customer_id)
    except asyncpg.ForeignKeyViolationError as exc:
        raise ApiError(409, "conflict", "the customer has orders") from exc
    return status != "DELETE 0"


# --- products ----------------------------------------------------------------------------

_NAME_FILTER = "($1::text = '' OR strpos(lower(name), lower($1::text)) > 0)"


async def create_product(pool: asyncpg.Pool, name: str, price: Decimal, stock: int) -> Row:
    row = await pool.fetchrow(
        "INSERT INTO products (name, price, stock) VALUES ($1, $2, $3)"
        " RETURNING id, name, price, stock",
        name, price, stock,
    )  # fmt: skip
    return _product(row)


async def search_products(pool: asyncpg.Pool, term: str, limit: int, offset: int) -> Row:
    """Products whose name contains `term` (literally, ignoring case), by id."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        total = await conn.fetchval(f"SELECT count(*) FROM products WHERE {_NAME_FILTER}", term)
        rows = await conn.fetch(
            f"SELECT id, name, price, stock FROM products WHERE {_NAME_FILTER}"
            " ORDER BY id LIMIT $2 OFFSET $3",
            term, limit, offset,
        )  # fmt: skip
    return {"items": [_product(r) for r in rows], "total": total}


async def get_product(pool: asyncpg.Pool, product_id: int) -> Row | None:
    row = await pool.fetchrow(
        "SELECT id, name, price, stock FROM products WHERE id = $1", product_id
    )
    return _product(row) if row else None


# --- orders ------------------------------------------------------------------------------

_ORDER_COLUMNS = "id, customer_id, status, total, created_at"


async def _with_lines(conn: asyncpg.Connection, orders: list[asyncpg.Record]) -> list[Row]:
    """The orders as dicts, each with its lines in the order they were sent."""
    lines = await conn.fetch(
        "SELECT order_id, product_id, quantity, unit_price FROM order_items"
        " WHERE order_id = ANY($1::bigint[]) ORDER BY order_id, line_no",
        [o["id"] for o in orders],
    )  # fmt: skip
    by_order: dict[int, list[Row]] = {o["id"]: [] for o in orders}
    for line in lines:
        by_order[line["order_id"]].append({
            "product_id": line["product_id"], "quantity": line["quantity"],
            "unit_price": money(line["unit_price"]),
        })  # fmt: skip
    return [
        {"id": o["id"], "customer_id": o["customer_id"], "status": o["status"],
         "items": by_order[o["id"]], "total": money(o["total"]),
         "created_at": o["created_at"].isoformat()}
        for o in orders
    ]  # fmt: skip


async def get_order(pool: asyncpg.Pool, order_id: int) -> Row | None:
    async with pool.acquire() as conn:
        row = await conn.fetchrow(f"SELECT {_ORDER_COLUMNS} FROM orders WHERE id = $1", order_id)
        return (await _with_lines(conn, [row]))[0] if row else None


async def customer_orders(pool: asyncpg.Pool, customer_id: int) -> Row | None:
    """All of a customer's orders, newest first; None when there is no such customer."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read"):
        if not await conn.fetchval("SELECT 1 FROM customers WHERE id = $1", customer_id):
            return None
        rows = await conn.fetch(
            f"SELECT {_ORDER_COLUMNS} FROM orders WHERE customer_id = $1"
            " ORDER BY created_at DESC, id DESC",
            customer_id,
        )  # fmt: skip
        items = await _with_lines(conn, rows)
    return {"items": items, "total": len(items)}


async def _lock_products(conn: asyncpg.Connection, wanted: Counter[int]) -> dict[int, Row]:
    """Lock every wanted product (in id order, so concurrent orders cannot deadlock)."""
    rows = await conn.fetch(
        "SELECT id, price, stock FROM products WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
        list(wanted),
    )
    found = {r["id"]: dict(r) for r in rows}
    if len(found) != len(wanted):
        raise invalid("an order line names an unknown product")
    short = sorted(pid for pid, qty in wanted.items() if found[pid]["stock"] < qty)
    if short:
        raise ApiError(409, "insufficient_stock", f"not enough stock for products {short}")
    return found


async def _store_order(
    conn: asyncpg.Connection, customer_id: int, lines: list[tuple[int, int]],
    prices: dict[int, Decimal],
) -> asyncpg.Record:  # fmt: skip
    total = sum((qty * prices[pid] for pid, qty in lines), Decimal(0))
    order = await conn.fetchrow(
        f"INSERT INTO orders (customer_id, total) VALUES ($1, $2) RETURNING {_ORDER_COLUMNS}",
        customer_id, total,
    )  # fmt: skip
    await conn.execute(
        "INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price)"
        " SELECT $1, l.n, l.product_id, l.quantity, p.price"
        " FROM unnest($2::bigint[], $3::int[]) WITH ORDINALITY AS l(product_id, quantity, n)"
        " JOIN products p ON p.id = l.product_id",
        order["id"], [pid for pid, _ in lines], [qty for _, qty in lines],
    )  # fmt: skip
    return order


async def place_order(pool: asyncpg.Pool, customer_id: int, lines: list[tuple[int, int]]) -> Row:
    """Check, take the stock and store the order in one transaction (all or nothing)."""
    wanted: Counter[int] = Counter()
    for pid, qty in lines:
        wanted[pid] += qty
    async with pool.acquire() as conn, conn.transaction():
        customer = "SELECT 1 FROM customers WHERE id = $1 FOR KEY SHARE"
        if not await conn.fetchval(customer, customer_id):
            raise invalid("the order names an unknown customer")
        products = await _lock_products(conn, wanted)
        await conn.execute(
            "UPDATE products p SET stock = p.stock - w.qty"
            " FROM unnest($1::bigint[], $2::bigint[]) AS w(id, qty) WHERE p.id = w.id",
            list(wanted), list(wanted.values()),
        )  # fmt: skip
        prices = {pid: p["price"] for pid, p in products.items()}
        order = await _store_order(conn, customer_id, lines, prices)
        return (await _with_lines(conn, [order]))[0]
