"""Concurrent registrations never take more seats than the event has: caught every time.

The race is made deterministic from the test's own database connection: it holds the event's
row with SELECT ... FOR UPDATE (as any other client of the database may, which the prompt
states), the burst is sent, and the lock is released only once every request of the burst
waits on a lock inside the database. Code that counts the seats taken without locking the
event reads them all before any insert (which waits on the held row through its foreign key)
and overbooks on every run; code that locks the event's row first serialises and passes.
"""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
from events_api import assert_error, create_event, registration_body, seats_of

BURST = 8
WAIT = 25  # seconds the test waits for the burst to queue on the lock, at most
STEADY = 3.0  # a server with fewer database connections than the burst: this long unchanged


def lock_waiters(db):
    """Sessions of this database waiting for a lock that is not granted."""
    return db.scalar(
        "SELECT count(DISTINCT l.pid) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE NOT l.granted AND a.datname = current_database()"
    )


def wait_for_waiters(db, want, pending):
    """Until `want` sessions wait on a lock (every request of the burst has queued); a server
    with fewer database connections than that is let go once the count stays unchanged."""
    deadline = time.monotonic() + WAIT
    seen, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        now = lock_waiters(db)
        if now >= want:
            return now
        if now != seen:
            seen, since = now, time.monotonic()
        elif now >= 1 and time.monotonic() - since > STEADY:
            return now
        if all(f.done() for f in pending):
            return now
        time.sleep(0.05)
    return seen


class Holder:
    """A connection of the test's own holding an event's row FOR UPDATE in an open transaction."""

    def __init__(self, event_id):
        self.conn = psycopg.connect(
            os.environ["BACKBENCH_ADMIN_DATABASE_URL"],
            connect_timeout=10,
            options="-c statement_timeout=10000",
        )
        self.conn.execute("SELECT id FROM events WHERE id = %s FOR UPDATE", (event_id,))

    def release(self):
        if not self.conn.closed:
            self.conn.commit()
            self.conn.close()


def burst(db, client_factory, auth_headers, event_id, bodies):
    """`bodies` registered at once while the event's row is locked, released once they queued."""
    client = client_factory(headers=auth_headers, deadline=40)
    holder = Holder(event_id)
    barrier = threading.Barrier(len(bodies))

    def send(body):
        assert client.get("/health").status_code == 200  # connected before the start line
        barrier.wait(timeout=30)
        return client.post(f"/v1/events/{event_id}/registrations", json=body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        try:  # the lock goes before the pool waits for its threads, whatever happens
            pending = [pool.submit(send, body) for body in bodies]
            waiting = wait_for_waiters(db, len(bodies), pending)
        finally:
            holder.release()
        return waiting, [f.result(timeout=60) for f in pending]


@pytest.mark.rules("registration-race", "locks-wait", "not-enough-seats")
def test_a_burst_of_registrations_never_takes_more_seats_than_the_capacity(
    authed_api, client_factory, auth_headers, db, unique
):
    event = create_event(authed_api, unique("race"), capacity=5)
    bodies = [registration_body(email=f"r{i}@example.com", name=f"Racer {i}") for i in range(BURST)]
    waiting, answers = burst(db, client_factory, auth_headers, event["id"], bodies)
    assert waiting >= 1, "no registration waited for the event's locked row"
    created = [r for r in answers if r.status_code == 201]
    refused = [r for r in answers if r.status_code != 201]
    for response in refused:
        assert_error(response, 409, "not_enough_seats")
    assert len(created) == 5, [r.status_code for r in answers]
    assert seats_of(db, event["id"]) == 5
    assert authed_api.get(f"/v1/events/{event['id']}").json()["seats_taken"] == 5


@pytest.mark.rules("registration-race", "locks-wait")
def test_multi_seat_registrations_racing_for_the_last_seats(
    authed_api, client_factory, auth_headers, db, unique
):
    event = create_event(authed_api, unique("race seats"), capacity=10)
    assert authed_api.post(
        f"/v1/events/{event['id']}/registrations", json=registration_body(seats=4)
    ).status_code == 201  # fmt: skip
    bodies = [registration_body(email=f"s{i}@example.com", seats=3) for i in range(6)]
    _, answers = burst(db, client_factory, auth_headers, event["id"], bodies)
    assert sorted(r.status_code for r in answers) == [201, 201, 409, 409, 409, 409]
    assert seats_of(db, event["id"]) == 10
