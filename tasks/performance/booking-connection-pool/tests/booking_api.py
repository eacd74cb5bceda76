"""Helpers of the hidden tests: free time slots, timestamps and the rows as the API must show them.

The rooms and 2026's bookings are seeded (seed.py). The tests book far-future days at random
(2040 to 2098), so they meet neither the seeded bookings nor each other.
"""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

ROOMS = 400
LIMIT = 10  # the connections the service may hold
SEEDED_BOOKINGS = 145_719
BOOKING_FIELDS = ("id", "room_id", "title", "booked_by", "starts_at", "ends_at", "created_at")
ROOM_FIELDS = ("id", "name", "building", "capacity")
FIRST_FREE_DAY = datetime(2040, 1, 1, tzinfo=UTC)
FREE_DAYS = 21_000  # up to 2097


def free_day(db: Any) -> tuple[int, datetime]:
    """A room and a day (at midnight UTC) on which that room has no booking."""
    rng = random.SystemRandom()
    while True:
        room_id = rng.randint(1, ROOMS)
        day = FIRST_FREE_DAY + timedelta(days=rng.randrange(FREE_DAYS))
        busy = db.execute(
            "SELECT count(*) FROM bookings WHERE room_id = %s AND starts_at < %s AND ends_at > %s",
            (room_id, day + timedelta(days=2), day - timedelta(days=1)),
        ).fetchone()[0]
        if busy == 0:
            return room_id, day


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def instant(text: str) -> datetime:
    """A timestamp of an answer, which must carry a UTC offset."""
    moment = datetime.fromisoformat(text)
    assert moment.tzinfo is not None, f"{text!r} has no UTC offset"
    return moment


def in_utc(text: str) -> datetime:
    """A timestamp of an answer, which must be in UTC."""
    moment = instant(text)
    assert moment.utcoffset() == timedelta(0), f"{text!r} is not in UTC"
    return moment


def booking_row(db: Any, booking_id: int) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT id, room_id, title, booked_by, starts_at, ends_at, created_at"
        " FROM bookings WHERE id = %s",
        (booking_id,),
    ).fetchone()
    return None if row is None else dict(zip(BOOKING_FIELDS, row, strict=True))


def assert_booking(answer: dict[str, Any], row: dict[str, Any]) -> None:
    """The answer shows the row: every field, timestamps in UTC and equal as instants."""
    assert set(answer) >= set(BOOKING_FIELDS), answer
    for field in ("id", "room_id", "title", "booked_by"):
        assert answer[field] == row[field], (field, answer, row)
    for field in ("starts_at", "ends_at", "created_at"):
        assert in_utc(answer[field]) == row[field], (field, answer, row)


def bookings_in(db: Any, room_id: int, start: datetime, end: datetime) -> list[int]:
    """Ids of the room's bookings overlapping [start, end), by starts_at then id."""
    rows = db.execute(
        "SELECT id FROM bookings WHERE room_id = %s AND starts_at < %s AND ends_at > %s"
        " ORDER BY starts_at, id",
        (room_id, end, start),
    ).fetchall()
    return [r[0] for r in rows]


def new_booking(title: str, start: datetime, end: datetime, who: str = "Test Runner") -> dict:
    return {"title": title, "booked_by": who, "starts_at": iso(start), "ends_at": iso(end)}


def error_code(response: Any) -> str:
    return response.json()["error"]["code"]


def burst(client_factory, headers, requests, deadline=20.0):
    """Send every (method, path, json) at once, each from a client of its own."""

    def send(request):
        method, path, body = request
        with client_factory(headers=headers, deadline=deadline) as client:
            return client.request(method, path, json=body)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))
