"""The rooms and bookings tables through one SQLAlchemy engine and its bounded pool."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine

MAX_CONNECTIONS = 10
SESSION_SETTINGS = (
    "SET TIME ZONE 'UTC'",
    "SET statement_timeout = '30s'",
    "SET idle_in_transaction_session_timeout = '60s'",
    "SET application_name = 'room-bookings'",
)
ROOM_COLUMNS = ("id", "name", "building", "capacity")
BOOKING_COLUMNS = ("id", "room_id", "title", "booked_by", "starts_at", "ends_at", "created_at")
BOOKING_SELECT = ", ".join(BOOKING_COLUMNS)


def sqlalchemy_url(url: str) -> str:
    """The psycopg 3 dialect for a libpq URL."""
    for scheme in ("postgresql://", "postgres://"):
        if url.startswith(scheme):
            return "postgresql+psycopg://" + url[len(scheme) :]
    return url


def make_engine() -> Engine:
    # pool_size + max_overflow is the most the pool ever holds; pre_ping replaces connections
    # a database restart broke (and, on a disconnect, every older one) before lending them
    engine = create_engine(
        sqlalchemy_url(os.environ["DATABASE_URL"]),
        pool_size=MAX_CONNECTIONS,
        max_overflow=0,
        pool_timeout=20,
        pool_pre_ping=True,
        connect_args={"connect_timeout": 5},
    )

    @event.listens_for(engine, "connect")
    def set_up_session(dbapi_connection: Any, _record: Any) -> None:
        """Once per new connection: session settings and a check of the columns we use."""
        autocommit = dbapi_connection.autocommit
        dbapi_connection.autocommit = True
        with dbapi_connection.cursor() as cur:
            for statement in SESSION_SETTINGS:
                cur.execute(statement)
            cur.execute(
                "SELECT table_name, column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name IN ('rooms', 'bookings')"
            )
            found = set(cur.fetchall())
        dbapi_connection.autocommit = autocommit
        wanted = {("rooms", c) for c in ROOM_COLUMNS} | {("bookings", c) for c in BOOKING_COLUMNS}
        if wanted - found:
            raise RuntimeError(f"the database lacks the columns {sorted(wanted - found)}")

    return engine


engine = make_engine()


def utc(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def as_booking(row: Any) -> dict[str, Any]:
    data = dict(row._mapping)
    for field in ("starts_at", "ends_at", "created_at"):
        data[field] = utc(data[field])
    return data


def room(room_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(
            text("SELECT id, name, building, capacity FROM rooms WHERE id = :id"), {"id": room_id}
        ).first()
    return None if row is None else dict(row._mapping)


def room_exists(conn: Connection, room_id: int, lock: bool = False) -> bool:
    sql = "SELECT 1 FROM rooms WHERE id = :id" + (" FOR UPDATE" if lock else "")
    return conn.execute(text(sql), {"id": room_id}).first() is not None


def bookings_between(room_id: int, start: datetime, end: datetime) -> list[dict[str, Any]] | None:
    with engine.connect() as conn:
        if not room_exists(conn, room_id):
            return None
        rows = conn.execute(
            text(
                f"SELECT {BOOKING_SELECT} FROM bookings WHERE room_id = :room"
                " AND starts_at < :end AND ends_at > :start ORDER BY starts_at, id"
            ),
            {"room": room_id, "start": start, "end": end},
        ).all()
    return [as_booking(r) for r in rows]


def book(room_id: int, fields: dict[str, Any]) -> dict[str, Any] | str:
    """The new booking, or "no room" / "overlap". The room's row lock serializes its bookings."""
    with engine.begin() as conn:
        if not room_exists(conn, room_id, lock=True):
            return "no room"
        clash = conn.execute(
            text(
                "SELECT 1 FROM bookings WHERE room_id = :room"
                " AND starts_at < :ends_at AND ends_at > :starts_at LIMIT 1"
            ),
            {"room": room_id, **fields},
        ).first()
        if clash is not None:
            return "overlap"
        row = conn.execute(
            text(
                "INSERT INTO bookings (room_id, title, booked_by, starts_at, ends_at)"
                " VALUES (:room, :title, :booked_by, :starts_at, :ends_at)"
                f" RETURNING {BOOKING_SELECT}"
            ),
            {"room": room_id, **fields},
        ).one()
    return as_booking(row)


def booking(booking_id: int) -> dict[str, Any] | None:
    with engine.connect() as conn:
        row = conn.execute(
            text(f"SELECT {BOOKING_SELECT} FROM bookings WHERE id = :id"), {"id": booking_id}
        ).first()
    return None if row is None else as_booking(row)


def cancel(booking_id: int) -> bool:
    with engine.begin() as conn:
        result = conn.execute(text("DELETE FROM bookings WHERE id = :id"), {"id": booking_id})
    return result.rowcount == 1
