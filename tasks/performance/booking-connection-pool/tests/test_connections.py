"""The service's connections: at most ten, given back on every path; bookings of one room checked
and written one at a time; the tables kept as given."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from booking_api import LIMIT, SEEDED_BOOKINGS, bookings_in, burst, error_code, free_day, new_booking

H = timedelta(hours=1)

SERVICE_CONNECTIONS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND backend_type = 'client backend'
  AND usename = (SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database())
"""
IN_TRANSACTION = SERVICE_CONNECTIONS + " AND state LIKE 'idle in transaction%%'"
WAITING_ON_LOCKS = """
SELECT count(*) FROM pg_stat_activity
WHERE datname = current_database() AND wait_event_type = 'Lock'
"""


def count(db, query):
    """A count from pg_stat_activity as it is now: inside a transaction PostgreSQL would answer
    from the snapshot it took at the transaction's first read of the statistics."""
    db.execute("SELECT pg_stat_clear_snapshot()")
    return db.execute(query).fetchone()[0]


@pytest.mark.rules("conn-limit", "conn-wait")
def test_at_most_ten_connections_however_many_requests_wait(db, client_factory):
    # While this test holds the bookings table, every request that reads it waits inside the
    # database on a connection of its own: 30 at once would need 30 connections.
    sender = ThreadPoolExecutor(max_workers=1)
    most = 0
    requests = [("GET", f"/v1/bookings/{1000 + 997 * i}", None) for i in range(30)]
    with db.transaction():
        db.execute("LOCK TABLE bookings IN ACCESS EXCLUSIVE MODE")
        sent = sender.submit(burst, client_factory, None, requests)
        # the 30 requests arrive within a few seconds: watch for 6 s (a service that opens a
        # connection per waiting request is caught as soon as it passes the limit)
        watch_until = time.monotonic() + 6
        while time.monotonic() < watch_until and not sent.done() and most <= LIMIT:
            most = max(most, count(db, SERVICE_CONNECTIONS))
            time.sleep(0.05)
    answers = sent.result(timeout=60)
    sender.shutdown()
    assert most <= LIMIT, f"the service held {most} connections at once"
    assert [r.status_code for r in answers] == [200] * 30  # the waiting requests were served
    assert count(db, SERVICE_CONNECTIONS) <= LIMIT


@pytest.mark.rules("conn-returned", "no-open-transaction", "conflict-409", "unknown-404")
def test_refused_and_failed_requests_give_their_connection_back(authed_api, db):
    room_id, day = free_day(db)
    made = authed_api.post(
        f"/v1/rooms/{room_id}/bookings", json=new_booking("Held", day + 10 * H, day + 11 * H)
    )
    assert made.status_code == 201
    clash = new_booking("Clash", day + 10 * H, day + 12 * H)
    for _ in range(2 * LIMIT + 5):
        response = authed_api.post(
            f"/v1/rooms/{room_id}/bookings", json=clash, extensions={"deadline": 5}
        )
        assert response.status_code == 409
        response = authed_api.post(
            "/v1/rooms/401/bookings", json=clash, extensions={"deadline": 5}
        )
        assert response.status_code == 404
        response = authed_api.get("/v1/bookings/987654321987", extensions={"deadline": 5})
        assert response.status_code == 404
        response = authed_api.delete("/v1/bookings/987654321987", extensions={"deadline": 5})
        assert response.status_code == 404
        response = authed_api.get("/v1/rooms/401/bookings", params={"from": "2026-01-05T00:00:00Z", "to": "2026-01-06T00:00:00Z"}, extensions={"deadline": 5})
        assert response.status_code == 404
        response = authed_api.get("/v1/rooms/401", extensions={"deadline": 5})
        assert response.status_code == 404
    # every connection is back: a booking and reads are still served at once
    free = authed_api.post(
        f"/v1/rooms/{room_id}/bookings",
        json=new_booking("After", day + 12 * H, day + 13 * H),
        extensions={"deadline": 5},
    )
    assert free.status_code == 201
    assert len(bookings_in(db, room_id, day, day + 24 * H)) == 2
    assert count(db, SERVICE_CONNECTIONS) <= LIMIT
    time.sleep(0.3)  # every answer is in: no connection may sit inside a transaction now
    assert count(db, IN_TRANSACTION) == 0


@pytest.mark.rules("no-overlap", "room-serialized")
def test_overlapping_bookings_sent_at_once_store_exactly_one(db, client_factory, auth_headers):
    # The room's row is held while the requests arrive: a service that locks the room before
    # it checks waits there; one that checks first waits when its insert checks the room
    # reference. Either way every request has made its check before any of them writes, so
    # only locking the room before checking keeps all but one out, every time.
    room_id, day = free_day(db)
    requests = [
        ("POST", f"/v1/rooms/{room_id}/bookings",
         new_booking(f"Rush {i}", day + 10 * H + i * timedelta(minutes=5), day + 11 * H))
        for i in range(6)
    ]  # fmt: skip
    sender = ThreadPoolExecutor(max_workers=1)
    with db.transaction():
        db.execute("SELECT id FROM rooms WHERE id = %s FOR UPDATE", (room_id,))
        sent = sender.submit(burst, client_factory, auth_headers, requests)
        seen, steady_since, give_up = 0, time.monotonic(), time.monotonic() + 10
        while time.monotonic() < give_up and not sent.done():
            now = count(db, WAITING_ON_LOCKS)
            if now != seen:
                seen, steady_since = now, time.monotonic()
            elif seen >= len(requests) and time.monotonic() - steady_since > 1.0:
                break
            time.sleep(0.05)
    answers = sent.result(timeout=60)
    sender.shutdown()
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] + [409] * (len(requests) - 1), statuses
    assert all(error_code(r) == "conflict" for r in answers if r.status_code == 409)
    assert len(bookings_in(db, room_id, day, day + 24 * H)) == 1


TABLES = {
    "rooms": {"id": "integer", "name": "text", "building": "text", "capacity": "integer"},
    "bookings": {
        "id": "bigint", "room_id": "integer", "title": "text", "booked_by": "text",
        "starts_at": "timestamp with time zone", "ends_at": "timestamp with time zone",
        "created_at": "timestamp with time zone",
    },
}  # fmt: skip


@pytest.mark.rules("schema-unchanged", "data-kept")
def test_the_tables_and_the_seeded_rows_are_unchanged(db):
    assert set(db.tables()) >= set(TABLES)
    for table, columns in TABLES.items():
        assert db.columns(table) == columns, table
    assert db.scalar("SELECT count(*) FROM rooms") == 400
    seeded = db.scalar("SELECT count(*) FROM bookings WHERE id <= %s", (SEEDED_BOOKINGS,))
    assert seeded == SEEDED_BOOKINGS
    # every 97th seeded booking and every room, as seed.py wrote them
    bookings = db.scalar(
        "SELECT md5(string_agg(concat_ws('|', id, room_id, title, booked_by,"
        " extract(epoch FROM starts_at)::bigint, extract(epoch FROM ends_at)::bigint,"
        " extract(epoch FROM created_at)::bigint), ',' ORDER BY id))"
        " FROM bookings WHERE id <= %s AND id %% 97 = 0",
        (SEEDED_BOOKINGS,),
    )
    assert bookings == "b8b1baa7e0254a3266ed403ee4750ab1"
    rooms = db.scalar(
        "SELECT md5(string_agg(concat_ws('|', id, name, building, capacity), ',' ORDER BY id))"
        " FROM rooms"
    )
    assert rooms == "c790d00e6f4ab3d3bff91d6c38d90da1"
