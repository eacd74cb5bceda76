"""Uniqueness under concurrency: only the database's own unique index can keep it."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

CLIENTS = 12


def burst(client_factory, auth_headers, requests):
    """Send `requests` ((method, path, json) each) all at once, one thread and connection each."""
    client = client_factory(headers=auth_headers, deadline=30)
    barrier = threading.Barrier(len(requests))

    def send(index):
        method, path, body = requests[index]
        assert client.get("/health").status_code == 200  # connected before the start line
        barrier.wait(timeout=30)
        return client.request(method, path, json=body)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, range(len(requests))))


def waiting_on_locks(db):
    """Sessions of this database waiting for a lock (ours never is)."""
    return db.scalar(
        "SELECT count(*) FROM pg_stat_activity "
        "WHERE datname = current_database() AND wait_event_type = 'Lock'"
    )


def held_burst(db, table, client_factory, auth_headers, requests):
    """Send the burst while `table` is held in SHARE mode: reads go on, every write waits. So
    every create has made whatever check it makes before any of them writes, and only the
    database's own uniqueness can turn all but one away, on every run."""
    sender = ThreadPoolExecutor(max_workers=1)
    with db.transaction():
        db.execute(f"LOCK TABLE {table} IN SHARE MODE")
        sent = sender.submit(burst, client_factory, auth_headers, requests)
        seen, steady_since, deadline = 0, time.monotonic(), time.monotonic() + 15
        while time.monotonic() < deadline and not sent.done():
            now = waiting_on_locks(db)
            if now != seen:
                seen, steady_since = now, time.monotonic()
            elif seen >= 2 and time.monotonic() - steady_since > 1.0:
                break  # at least two creates past their checks, none written
            time.sleep(0.1)
    answers = sent.result(timeout=60)
    sender.shutdown()
    return answers


def variants(name, n):
    """n spellings of `name` differing only in the case of its letters."""
    letters = [i for i, c in enumerate(name) if c.isalpha()]
    out = []
    for k in range(n):
        chars = list(name)
        for bit, i in enumerate(letters):
            if (k >> (bit % 8)) & 1:
                chars[i] = chars[i].upper()
        out.append("".join(chars))
    return out


@pytest.mark.rules("project-unique-concurrent", "project-unique")
def test_concurrent_creates_of_one_name_in_any_case_store_exactly_one(
    authed_api, client_factory, auth_headers, unique, db
):
    org = authed_api.post("/organisations", json={"name": unique("race")}).json()
    name = unique("apollo")
    bodies = [{"organisation_id": org["id"], "name": v} for v in variants(name, CLIENTS)]
    answers = held_burst(
        db, "projects", client_factory, auth_headers, [("POST", "/projects", b) for b in bodies]
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses.count(201) == 1, statuses
    assert statuses.count(409) == CLIENTS - 1, statuses
    assert all(r.json()["error"]["code"] == "conflict" for r in answers if r.status_code == 409)
    stored = db.scalar(
        "SELECT count(*) FROM projects WHERE organisation_id = %s AND lower(name) = lower(%s)",
        (org["id"], name),
    )
    assert stored == 1


@pytest.mark.rules("assign", "assign-errors")
def test_concurrent_assignments_of_one_member_store_exactly_one(
    authed_api, client_factory, auth_headers, unique, db
):
    org = authed_api.post("/organisations", json={"name": unique("race")}).json()
    project = authed_api.post("/projects", json={"organisation_id": org["id"], "name": "p"}).json()
    task = authed_api.post("/tasks", json={"project_id": project["id"], "title": "t"}).json()
    member = authed_api.post("/members", json={"email": f"{unique('r')}@x.io", "name": "R"}).json()
    path = f"/tasks/{task['id']}/assignees"
    answers = held_burst(
        db, "task_assignments", client_factory, auth_headers,
        [("POST", path, {"member_id": member["id"]})] * 6,
    )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] + [409] * 5, statuses
    assert db.scalar("SELECT count(*) FROM task_assignments WHERE task_id = %s", (task["id"],)) == 1
