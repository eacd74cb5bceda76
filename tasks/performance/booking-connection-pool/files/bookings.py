"""Room bookings: reading and writing the rooms and bookings tables."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import Connection
from psycopg.rows import dict_row

Row = dict[str, Any]

# the DBA's limit: this service may hold at most 10 connections at once
MAX_CONNECTIONS = 10
_slots = threading.BoundedSemaphore(MAX_CONNECTIONS)

# every session of the service runs with these settings
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


@contextmanager
def connection() -> Iterator[Connection[Row]]:
    """A connection of its own for one request: committed when the block ends, then closed."""
    with _slots:
        with psycopg.connect(
            os.environ["DATABASE_URL"], row_factory=dict_row, connect_timeout=5
        ) as conn:
            for statement in SESSION_SETTINGS:
                conn.execute(statement)
            verify_schema(conn)
            conn.commit()
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
