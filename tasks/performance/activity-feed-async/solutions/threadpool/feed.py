"""Activity feed: reading and writing the feed's tables."""

from __future__ import annotations

import os
from typing import Any

from psycopg import Connection, errors, sql
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

Row = dict[str, Any]

pool: ConnectionPool[Connection[Row]] = ConnectionPool(
    os.environ.get("DATABASE_URL", ""),
    min_size=2,
    max_size=20,  # the threadpool runs up to 40 requests at once; the rest wait for a connection
    open=False,
    kwargs={"row_factory": dict_row, "autocommit": True},
)

EVENT_COLUMNS = sql.SQL(
    "id, user_id, kind, actor, message, created_at, delivered_at, read_at"
)


def open_pool() -> None:
    pool.open(wait=True, timeout=30)


def close_pool() -> None:
    pool.close()


def stamp(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def event(row: Row) -> Row:
    """An events row as the API shows it."""
    return {
        **row,
        "created_at": stamp(row["created_at"]),
        "delivered_at": stamp(row["delivered_at"]),
        "read_at": stamp(row["read_at"]),
    }


def user_exists(conn: Connection[Row], user_id: int) -> bool:
    return conn.execute("SELECT 1 FROM users WHERE id = %s", (user_id,)).fetchone() is not None


def list_events(
    user_id: int, kind: str | None, actor: str | None, before: int | None, limit: int
) -> list[Row] | None:
    """Up to limit + 1 of the user's events, newest first; None when there is no such user."""
    conditions: list[sql.Composable] = [sql.SQL("user_id = %s")]
    params: list[Any] = [user_id]
    if kind is not None:
        conditions.append(sql.SQL("kind = %s"))
        params.append(kind)
    if actor is not None:
        conditions.append(sql.SQL("actor = %s"))
        params.append(actor)
    if before is not None:
        conditions.append(sql.SQL("id < %s"))
        params.append(before)
    query = sql.SQL("SELECT {} FROM events WHERE {} ORDER BY id DESC LIMIT %s").format(
        EVENT_COLUMNS, sql.SQL(" AND ").join(conditions)
    )
    with pool.connection() as conn:
        if not user_exists(conn, user_id):
            return None
        rows = conn.execute(query, [*params, limit + 1]).fetchall()
    return [event(r) for r in rows]


def get_event(event_id: int) -> Row | None:
    with pool.connection() as conn:
        row = conn.execute(
            sql.SQL("SELECT {} FROM events WHERE id = %s").format(EVENT_COLUMNS), (event_id,)
        ).fetchone()
    return None if row is None else event(row)


def unread_count(user_id: int) -> int | None:
    """The number of the user's unread events; None when there is no such user."""
    with pool.connection() as conn:
        if not user_exists(conn, user_id):
            return None
        row = conn.execute(
            "SELECT count(*) AS n FROM events WHERE user_id = %s AND read_at IS NULL", (user_id,)
        ).fetchone()
    assert row is not None
    return int(row["n"])


def add_event(user_id: int, kind: str, actor: str, message: str) -> Row | None:
    """Store a new, undelivered event; None when there is no such user."""
    try:
        with pool.connection() as conn:
            row = conn.execute(
                sql.SQL(
                    "INSERT INTO events (user_id, kind, actor, message) "
                    "VALUES (%s, %s, %s, %s) RETURNING {}"
                ).format(EVENT_COLUMNS),
                (user_id, kind, actor, message),
            ).fetchone()
    except errors.ForeignKeyViolation:
        return None
    assert row is not None
    return row


def mark_delivered(event_id: int) -> Row | None:
    """Record that the event reached the push gateway; the event as it now is."""
    with pool.connection() as conn:
        row = conn.execute(
            sql.SQL("UPDATE events SET delivered_at = now() WHERE id = %s RETURNING {}").format(
                EVENT_COLUMNS
            ),
            (event_id,),
        ).fetchone()
    return None if row is None else event(row)


def mark_read(user_id: int, up_to: int) -> tuple[int, int] | None:
    """Mark the user's unread events up to an id read: how many this marked and how many are
    still unread. None when there is no such user."""
    with pool.connection() as conn:
        if not user_exists(conn, user_id):
            return None
        marked = conn.execute(
            "UPDATE events SET read_at = now() "
            "WHERE user_id = %s AND id <= %s AND read_at IS NULL",
            (user_id, up_to),
        ).rowcount
        row = conn.execute(
            "SELECT count(*) AS n FROM events WHERE user_id = %s AND read_at IS NULL", (user_id,)
        ).fetchone()
    assert row is not None
    return marked, int(row["n"])
