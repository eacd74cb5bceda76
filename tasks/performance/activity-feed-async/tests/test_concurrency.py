"""Concurrent requests: each answer is about its own request, and no event is marked twice.

The interleavings are made deterministic with locks held from the test's own connection: every
request is in flight before any of them may write, then all are let go at once.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from feed_api import (
    add_event,
    assert_event,
    assert_events,
    count_events,
    event_row,
    new_event,
    new_user,
    random_user,
    unread,
    user_events,
)

WAITING = (
    "SELECT count(*) FROM pg_stat_activity "
    "WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
)


def wait_for_waiters(db, wanted, timeout=4.0):
    """Until `wanted` statements of the server wait for the test's lock (or the time is up: a
    server that serves one request at a time has only one waiting), then a moment for the
    others to arrive."""
    deadline = time.monotonic() + timeout
    while db.scalar(WAITING) < wanted and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.3)


def run_all(clients, calls):
    """Each call on a thread of its own, with a client of its own; returns at once (the
    threads end with their calls)."""
    pool = ThreadPoolExecutor(len(calls))
    futures = [pool.submit(call, client) for call, client in zip(calls, clients, strict=True)]
    pool.shutdown(wait=False)
    return futures


@pytest.mark.rules("concurrent-independent", "event-create")
def test_concurrent_new_events_each_answer_their_own_event(client_factory, auth_headers, db, unique):
    users = [new_user(db, unique) for _ in range(3)]
    bodies = [(users[n % 3], new_event(message=unique(f"m{n}"))) for n in range(6)]
    clients = [client_factory(headers=auth_headers, deadline=20) for _ in bodies]
    calls = [
        (lambda c, u=u, b=b: c.post(f"/v1/users/{u}/events", json=b)) for u, b in bodies
    ]
    with db.transaction():
        # inserts wait for this lock: every post is in flight before any is stored
        db.execute("LOCK TABLE events IN SHARE MODE")
        futures = run_all(clients, calls)
        wait_for_waiters(db, len(calls))
    responses = [f.result() for f in futures]
    seen = set()
    for (user_id, body), response in zip(bodies, responses, strict=True):
        assert response.status_code == 201, response.text
        got = response.json()
        assert (got["user_id"], got["message"]) == (user_id, body["message"]), got
        assert got["id"] not in seen
        seen.add(got["id"])
        assert_event(got, event_row(db, got["id"]))
    assert [count_events(db, u) for u in users] == [2, 2, 2]


@pytest.mark.rules("mark-read-once", "mark-read")
def test_concurrent_mark_reads_count_each_event_once(client_factory, auth_headers, db, unique):
    user_id = new_user(db, unique)
    made = [add_event(db, user_id, message=f"event {n}") for n in range(5)]
    clients = [client_factory(headers=auth_headers, deadline=20) for _ in range(2)]
    call = lambda c: c.post(f"/v1/users/{user_id}/events/read", json={"up_to": made[-1]})  # noqa: E731
    with db.transaction():
        # the updates wait for these row locks: both requests are in flight before either marks
        db.execute("SELECT id FROM events WHERE user_id = %s FOR UPDATE", (user_id,))
        futures = run_all(clients, [call, call])
        wait_for_waiters(db, 2)
    answers = [f.result() for f in futures]
    for response in answers:
        assert response.status_code == 200, response.text
    marked = sorted(r.json()["marked"] for r in answers)
    assert marked == [0, 5], f"each event is marked by one request only: {marked}"
    assert [r.json()["unread"] for r in answers] == [0, 0]
    assert unread(db, user_id) == 0


@pytest.mark.rules("concurrent-independent", "feed-order")
def test_concurrent_reads_each_get_their_own_answer(client_factory, db):
    users = []
    while len(users) < 8:
        user_id = random_user(db, min_events=5)
        if user_id not in users:
            users.append(user_id)
    clients = [client_factory() for _ in users]
    for _ in range(3):
        calls = []
        for n, user_id in enumerate(users):
            path = f"/v1/users/{user_id}/{'events' if n % 2 else 'unread'}"
            calls.append(lambda c, path=path: c.get(path))
        responses = [f.result() for f in run_all(clients, calls)]
        for n, (user_id, response) in enumerate(zip(users, responses, strict=True)):
            assert response.status_code == 200, response.text
            if n % 2:
                assert_events(response.json()["items"], user_events(db, user_id, limit=20))
            else:
                assert response.json() == {"user_id": user_id, "unread": unread(db, user_id)}
