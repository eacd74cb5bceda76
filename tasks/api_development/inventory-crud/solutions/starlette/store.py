"""Raw SQL access to the ``items`` table through an asyncpg pool."""

from typing import Any

import asyncpg

from validation import INT64_MAX, SORT_ORDERS, ListQuery, storable

COLUMNS = "id, name, sku, price, quantity, created_at"


class NameTaken(Exception):
    """The requested name belongs to another item."""


def to_json(row: asyncpg.Record) -> dict[str, Any]:
    """Render one row as the item resource."""
    item = dict(row)
    item["created_at"] = row["created_at"].isoformat(timespec="microseconds")
    return item


async def fetch(pool: asyncpg.Pool, item_id: int) -> asyncpg.Record | None:
    if item_id > INT64_MAX:
        return None
    return await pool.fetchrow(f"SELECT {COLUMNS} FROM items WHERE id = $1", item_id)


async def create(pool: asyncpg.Pool, fields: dict[str, Any]) -> asyncpg.Record:
    sql = (
        "INSERT INTO items (name, sku, price, quantity) VALUES ($1, $2, $3, $4) "
        f"RETURNING {COLUMNS}"
    )
    try:
        return await pool.fetchrow(
            sql, fields["name"], fields["sku"], fields["price"], fields["quantity"]
        )
    except asyncpg.UniqueViolationError as exc:
        raise NameTaken from exc


async def update(
    pool: asyncpg.Pool, item_id: int, changes: dict[str, Any]
) -> asyncpg.Record | None:
    if not changes or item_id > INT64_MAX:
        return await fetch(pool, item_id)
    # Column names come from the validator's fixed field list, never from the client.
    assignments = ", ".join(f"{column} = ${n}" for n, column in enumerate(changes, start=2))
    sql = f"UPDATE items SET {assignments} WHERE id = $1 RETURNING {COLUMNS}"
    try:
        return await pool.fetchrow(sql, item_id, *changes.values())
    except asyncpg.UniqueViolationError as exc:
        raise NameTaken from exc


async def delete(pool: asyncpg.Pool, item_id: int) -> bool:
    if item_id > INT64_MAX:
        return False
    return await pool.fetchval("DELETE FROM items WHERE id = $1 RETURNING true", item_id) is True


def _filters(query: ListQuery) -> tuple[str, list[Any]]:
    conditions, args = [], []
    for column, operator, value in (
        ("name", "=", query.name),
        ("price", ">=", query.min_price),
        ("price", "<=", query.max_price),
    ):
        if value is not None:
            args.append(value)
            conditions.append(f"{column} {operator} ${len(args)}")
    return (" WHERE " + " AND ".join(conditions)) if conditions else "", args


async def page(pool: asyncpg.Pool, query: ListQuery) -> tuple[list[asyncpg.Record], int]:
    """Return one page of the matching rows and the number of matching rows."""
    if query.name is not None and not storable(query.name):
        return [], 0  # no stored name can hold such a character
    where, args = _filters(query)
    n = len(args)
    select = (
        f"SELECT {COLUMNS} FROM items{where} ORDER BY {SORT_ORDERS[query.sort]} "
        f"LIMIT ${n + 1} OFFSET ${n + 2}"
    )
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        total = await conn.fetchval(f"SELECT count(*) FROM items{where}", *args)
        rows = await conn.fetch(select, *args, query.limit, min(query.offset, INT64_MAX))
    return rows, total
