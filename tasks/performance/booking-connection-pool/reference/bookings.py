"""Room bookings: reading and writing the rooms and bookings tables."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

Row = dict[str, Any]

# the DBA's limit: this service may hold at most 10 connections at once
MAX_CONNECTIONS = 10

# every session of the service runs with these settings, set once per connection
SESSION_SETTINGS = (
    "SET TIME ZONE 'UTC'",
    "SET statement_timeout = '30s'",
    "SET idle_in_transaction_session_timeout = '60s'",
    "SET application_name = 'room-bookings'",
)

ROOM_COLUMNS = "id, name, building, capacity"
BOOKING_COLUMNS = "id, room_id, title, booked_by, starts_at, ends_at, created_at"

# the columns this code reads and writes: a session on a database without them must not serve
EXPECTED_COLUMNS = {
    ("rooms", column) for column in ROOM_COLUMNS.split(", ")
} | {("bookings", column) for column in BOOKING_COLUMNS.split(", ")}


def verify_schema(conn: Connection[Row]) -> None:
    """Fail fast on a database that is not the one this code was written for."""
    rows = conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name IN ('rooms', 'bookings')"
    ).fetchall()
    missing = EXPECTED_COLUMNS - {(row["table_name"], row["column_name"]) for row in rows}
    if missing:
        raise RuntimeError(f"the database lacks the columns {sorted(missing)}")


def configure(conn: Connection[Row]) -> None:
    """A new connection's session settings and schema check, once for its whole life."""
    for statement in SESSION_SETTINGS:
        conn.execute(statement)
    verify_schema(conn)
    conn.commit()


def check(conn: Connection[Row]) -> None:
    """Prove a connection alive before lending it. One broken connection means the database
    has most likely restarted and broken every idle one with it: test them all at once and
    replace the broken ones, rather than find them one lending (and one back-off) at a time."""
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        pool.check()
        raise


# one pool for the process (uvicorn runs one): never more than MAX_CONNECTIONS connections;
# requests beyond them wait for one to come back; connections broken by a database restart
# are replaced, not served
pool: ConnectionPool[Connection[Row]] = ConnectionPool(
    os.environ.get("DATABASE_URL", ""),
    min_size=4,
    max_size=MAX_CONNECTIONS,
    timeout=20,
    open=False,
    configure=configure,
    check=check,
    kwargs={"row_factory": dict_row, "connect_timeout": 5},
)


def open_pool() -> None:
    pool.open(wait=True, timeout=30)


def close_pool() -> None:
    pool.close()


@contextmanager
def connection() -> Iterator[Connection[Row]]:
    """A pooled connection for one request: committed (or rolled back on an error) and given
    back to the pool when the block ends, whatever happens in it."""
    with pool.connection() as conn:
        yield conn


def timestamp(value: datetime) -> str:
    """A timestamp as the API shows it: RFC 3339 in UTC."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def booking(row: Row) -> Row:
    return {
        "id": row["id"],
        "room_id": row["room_id"],
        "title": row["title"],
        "booked_by": row["booked_by"],
        "starts_at": timestamp(row["starts_at"]),
        "ends_at": timestamp(row["ends_at"]),
        "created_at": timestamp(row["created_at"]),
    }


def get_room(room_id: int) -> Row | None:
    with connection() as conn:
        return conn.execute(
            f"SELECT {ROOM_COLUMNS} FROM rooms WHERE id = %s", (room_id,)
        ).fetchone()


def list_bookings(room_id: int, start: datetime, end: datetime) -> list[Row] | None:
    """The room's bookings that overlap [start, end), by start time; None for no such room."""
    with connection() as conn:
        if conn.execute("SELECT 1 FROM rooms WHERE id = %s", (room_id,)).fetchone() is None:
            return None
        rows = conn.execute(
            f"SELECT {BOOKING_COLUMNS} FROM bookings"
            " WHERE room_id = %s AND starts_at < %s AND ends_at > %s"
            " ORDER BY starts_at, id",
            (room_id, end, start),
        ).fetchall()
        return [booking(row) for row in rows]


def create_booking(
    room_id: int, title: str, booked_by: str, starts_at: datetime, ends_at: datetime
) -> Row | str:
    """The stored booking, or "no room" / "overlap"."""
    with connection() as conn:
        # the room's row lock: two bookings of one room are checked and written one at a time
        room = conn.execute("SELECT id FROM rooms WHERE id = %s FOR UPDATE", (room_id,))
        if room.fetchone() is None:
            return "no room"
        clash = conn.execute(
            "SELECT 1 FROM bookings WHERE room_id = %s AND starts_at < %s AND ends_at > %s"
            " LIMIT 1",
            (room_id, ends_at, starts_at),
        ).fetchone()
        if clash is not None:
            return "overlap"
        row = conn.execute(
            "INSERT INTO bookings (room_id, title, booked_by, starts_at, ends_at)"
            f" VALUES (%s, %s, %s, %s, %s) RETURNING {BOOKING_COLUMNS}",
            (room_id, title, booked_by, starts_at, ends_at),
        ).fetchone()
        assert row is not None
        return booking(row)


def get_booking(booking_id: int) -> Row | None:
    with connection() as conn:
        row = conn.execute(
            f"SELECT {BOOKING_COLUMNS} FROM bookings WHERE id = %s", (booking_id,)
        ).fetchone()
        return None if row is None else booking(row)


def cancel_booking(booking_id: int) -> bool:
    with connection() as conn:
        deleted = conn.execute("DELETE FROM bookings WHERE id = %s", (booking_id,))
        return deleted.rowcount == 1
