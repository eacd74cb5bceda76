"""Activity feed: reading and writing the feed's tables, with asyncpg.

Every query is awaited on a connection of its own from the pool, so a request waiting for
PostgreSQL never holds up the event loop, and no two requests share a connection.
"""

from __future__ import annotations

import os
from typing import Any

import asyncpg

Row = dict[str, Any]

EVENT_COLUMNS = "id, user_id, kind, actor, message, created_at, delivered_at, read_at"
UNREAD = "SELECT count(*) FROM events WHERE user_id = $1 AND read_at IS NULL"
USER_EXISTS = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)"

_pool: asyncpg.Pool | None = None


async def open_pool() -> None:
    global _pool
    _pool = await asyncpg.create_pool(
        os.environ.get("DATABASE_URL", ""), min_size=2, max_size=10, timeout=30
    )


async def close_pool() -> None:
    if _pool is not None:
        await _pool.close()


def pool() -> asyncpg.Pool:
    assert _pool is not None, "the pool is opened on start-up"
    return _pool


def stamp(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def event(row: asyncpg.Record) -> Row:
    """An events row as the API shows it."""
    return {
        "id": row["id"],
        "user_id": row["user_id"],
        "kind": row["kind"],
        "actor": row["actor"],
        "message": row["message"],
        "created_at": stamp(row["created_at"]),
        "delivered_at": stamp(row["delivered_at"]),
        "read_at": stamp(row["read_at"]),
    }


async def list_events(
    user_id: int, kind: str | None, actor: str | None, before: int | None, limit: int
) -> list[Row] | None:
    """Up to limit + 1 of the user's events, newest first; None when there is no such user."""
    conditions = ["user_id = $1"]
    params: list[Any] = [user_id]
    for column, op, value in (("kind", "=", kind), ("actor", "=", actor), ("id", "<", before)):
        if value is not None:
            params.append(value)
            conditions.append(f"{column} {op} ${len(params)}")
    params.append(limit + 1)
    query = (
        f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(conditions)} "
        f"ORDER BY id DESC LIMIT ${len(params)}"
    )
    async with pool().acquire() as conn:
        if not await conn.fetchval(USER_EXISTS, user_id):
            return None
        rows = await conn.fetch(query, *params)
    return [event(r) for r in rows]


async def get_event(event_id: int) -> Row | None:
    row = await pool().fetchrow(f"SELECT {EVENT_COLUMNS} FROM events WHERE id = $1", event_id)
    return None if row is None else event(row)


async def unread_count(user_id: int) -> int | None:
    """The number of the user's unread events; None when there is no such user."""
    async with pool().acquire() as conn:
        if not await conn.fetchval(USER_EXISTS, user_id):
            return None
        return int(await conn.fetchval(UNREAD, user_id))


async def add_event(user_id: int, kind: str, actor: str, message: str) -> Row | None:
    """Store a new, undelivered event; None when there is no such user."""
    try:
        row = await pool().fetchrow(
            "INSERT INTO events (user_id, kind, actor, message) VALUES ($1, $2, $3, $4) "
            f"RETURNING {EVENT_COLUMNS}",
            user_id, kind, actor, message,
        )  # fmt: skip
    except asyncpg.ForeignKeyViolationError:
        return None
    assert row is not None
    return event(row)


async def mark_delivered(event_id: int) -> Row | None:
    """Record that the event reached the push gateway; the event as it now is."""
    row = await pool().fetchrow(
        f"UPDATE events SET delivered_at = now() WHERE id = $1 RETURNING {EVENT_COLUMNS}",
        event_id,
    )
    return None if row is None else event(row)


async def mark_read(user_id: int, up_to: int) -> tuple[int, int] | None:
    """Mark the user's unread events up to an id read: how many this marked and how many are
    still unread. None when there is no such user."""
    async with pool().acquire() as conn:
        if not await conn.fetchval(USER_EXISTS, user_id):
            return None
        # only rows still unread are marked: a concurrent request waits for the row locks,
        # then sees them read and skips them, so no event is counted twice
        status = await conn.execute(
            "UPDATE events SET read_at = now() "
            "WHERE user_id = $1 AND id <= $2 AND read_at IS NULL",
            user_id, up_to,
        )  # fmt: skip
        remaining = await conn.fetchval(UNREAD, user_id)
    return int(status.split()[-1]), int(remaining)
