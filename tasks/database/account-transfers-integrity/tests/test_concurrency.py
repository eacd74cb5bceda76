"""Concurrent transfers: no lost update, no overdraft, no deadlock: caught every time, not by luck.

Each race is made deterministic from the test's own database connections: they hold the rows a
burst of transfers needs with SELECT ... FOR UPDATE (as any other client of the database may,
which the prompt states), the burst is sent, and the locks are released only once every request
of the burst waits on a lock inside the database. So every request has read whatever it reads
before any of them writes: code that reads a balance, computes in Python and writes it back
loses the updates (or overdraws) on every run, while code that locks or updates conditionally
serialises and passes.
"""

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest

BURST = 8
WAIT = 25  # seconds the test waits for the burst to queue on the locks, at most
STEADY = 3.0  # a server with fewer database connections than the burst: this long unchanged


def assert_error(response, status, code):
    assert response.status_code == status, (response.request.content[:200], response.text)
    assert response.json()["error"]["code"] == code


def open_account(api, unique, balance):
    response = api.post("/accounts", json={"owner": unique("race"), "balance": balance})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def balances(db, ids):
    rows = db.execute("SELECT id, balance FROM accounts WHERE id = ANY(%s)", (list(ids),))
    return dict(rows.fetchall())


def stored(db, ids):
    """(from, to, amount) of every stored transfer touching the accounts."""
    return db.execute(
        "SELECT from_account_id, to_account_id, amount FROM transfers"
        " WHERE from_account_id = ANY(%(ids)s) OR to_account_id = ANY(%(ids)s) ORDER BY id",
        {"ids": list(ids)},
    ).fetchall()


def lock_waiters(db):
    """Sessions of this database waiting for a lock that is not granted (live, not a snapshot)."""
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
    """A connection of the test's own, holding accounts' rows FOR UPDATE in an open transaction
    (or, given `sql`, whatever that statement locks)."""

    def __init__(self, *account_ids, sql=None):
        self.conn = psycopg.connect(
            os.environ["BACKBENCH_ADMIN_DATABASE_URL"],
            connect_timeout=10,
            options="-c statement_timeout=10000",
        )
        self.conn.execute(
            sql or "SELECT id FROM accounts WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            None if sql else (list(account_ids),),
        )

    def release(self):
        if not self.conn.closed:
            self.conn.commit()
            self.conn.close()


def fire(client, bodies, pool):
    """Send every body to POST /transfers at once, one thread each; futures of the answers."""
    barrier = threading.Barrier(len(bodies))

    def send(body):
        assert client.get("/health").status_code == 200  # connected before the start line
        barrier.wait(timeout=30)
        return client.post("/transfers", json=body)

    return [pool.submit(send, body) for body in bodies]


def race(db, client_factory, auth_headers, hold, bodies):
    """`bodies` sent while the rows `hold` are locked, released once the burst queued."""
    client = client_factory(headers=auth_headers, deadline=40)
    holder = Holder(*hold)
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        try:  # the locks go before the pool waits for its threads, whatever happens
            pending = fire(client, bodies, pool)
            wait_for_waiters(db, len(bodies), pending)
        finally:
            holder.release()
        return [f.result(timeout=60) for f in pending]


def assert_ledger_adds_up(api, db, opening):
    """Each account: opening + listed in - listed out == its balance, here and stored; and the
    listed transfers are exactly the stored ones."""
    stored_balances = balances(db, opening)
    for account, start in opening.items():
        listed = api.get(f"/accounts/{account}/transfers")
        assert listed.status_code == 200
        items = listed.json()["items"]
        moved = sum(
            t["amount"] if t["to_account_id"] == account else -t["amount"] for t in items
        )
        shown = api.get(f"/accounts/{account}").json()["balance"]
        assert shown == stored_balances[account] == start + moved, (account, start, moved, shown)
        rows = db.scalar(
            "SELECT count(*) FROM transfers WHERE from_account_id = %(a)s OR to_account_id = %(a)s",
            {"a": account},
        )
        assert rows == len(items)
    assert sum(stored_balances.values()) == sum(opening.values())


@pytest.mark.rules("no-lost-update", "money-conserved", "locks-wait")
def test_a_burst_out_of_one_account_loses_no_update(authed_api, client_factory, auth_headers, unique, db):
    source = open_account(authed_api, unique, 10_000)
    targets = [open_account(authed_api, unique, 100) for _ in range(BURST)]
    bodies = [
        {"from_account_id": source, "to_account_id": t, "amount": 100 + i}
        for i, t in enumerate(targets)
    ]
    answers = race(db, client_factory, auth_headers, [source], bodies)
    assert [r.status_code for r in answers] == [201] * BURST, [r.text for r in answers]
    spent = sum(100 + i for i in range(BURST))
    assert balances(db, [source])[source] == 10_000 - spent
    assert balances(db, targets) == {t: 200 + i for i, t in enumerate(targets)}
    assert len(stored(db, [source])) == BURST
    assert_ledger_adds_up(authed_api, db, {source: 10_000, **{t: 100 for t in targets}})


@pytest.mark.rules("no-lost-update", "money-conserved", "locks-wait")
def test_a_burst_into_one_account_loses_no_update(authed_api, client_factory, auth_headers, unique, db):
    sources = [open_account(authed_api, unique, 1_000) for _ in range(BURST)]
    target = open_account(authed_api, unique, 0)
    bodies = [
        {"from_account_id": s, "to_account_id": target, "amount": 10 + i}
        for i, s in enumerate(sources)
    ]
    answers = race(db, client_factory, auth_headers, [target], bodies)
    assert [r.status_code for r in answers] == [201] * BURST, [r.text for r in answers]
    assert balances(db, [target])[target] == sum(10 + i for i in range(BURST))
    assert balances(db, sources) == {s: 990 - i for i, s in enumerate(sources)}
    assert len(stored(db, [target])) == BURST
    assert_ledger_adds_up(authed_api, db, {target: 0, **{s: 1_000 for s in sources}})


@pytest.mark.rules("no-overdraft", "insufficient-funds", "balance-never-negative", "locks-wait")
def test_a_burst_of_overdrafts_lets_exactly_one_through(authed_api, client_factory, auth_headers, unique, db):
    source = open_account(authed_api, unique, 100)
    targets = [open_account(authed_api, unique, 0) for _ in range(BURST)]
    bodies = [{"from_account_id": source, "to_account_id": t, "amount": 60} for t in targets]
    answers = race(db, client_factory, auth_headers, [source], bodies)
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [201] + [409] * (BURST - 1), [r.text for r in answers]
    for r in answers:
        if r.status_code == 409:
            assert_error(r, 409, "insufficient_funds")
    winner = next(r.json() for r in answers if r.status_code == 201)
    assert balances(db, [source])[source] == 40
    assert balances(db, targets) == {t: (60 if t == winner["to_account_id"] else 0) for t in targets}
    assert stored(db, [source]) == [(source, winner["to_account_id"], 60)]
    assert_ledger_adds_up(authed_api, db, {source: 100, **{t: 0 for t in targets}})


@pytest.mark.rules("no-deadlock", "no-5xx", "money-conserved", "locks-wait")
def test_opposite_transfers_between_two_accounts_never_deadlock(
    authed_api, client_factory, auth_headers, unique, db
):
    # Two holders: one on A, one on B. The A->B transfers queue first, then the B->A ones; A is
    # let go, and only once everything queues again is B. A server that locks the source before
    # the target then has an A->B transfer holding A and waiting for B behind a B->A transfer
    # that will hold B and wait for A: a deadlock on every run. One lock order (or a retry of
    # what the database aborts) lets every transfer through.
    a = open_account(authed_api, unique, 1_000)
    b = open_account(authed_api, unique, 1_000)
    half = BURST // 2
    forward = [{"from_account_id": a, "to_account_id": b, "amount": 100}] * half
    backward = [{"from_account_id": b, "to_account_id": a, "amount": 30}] * half
    client = client_factory(headers=auth_headers, deadline=40)
    hold_a, hold_b = Holder(a), Holder(b)
    with ThreadPoolExecutor(max_workers=BURST) as pool:
        try:  # the locks go before the pool waits for its threads, whatever happens
            pending = fire(client, forward, pool)
            wait_for_waiters(db, half, pending)
            pending += fire(client, backward, pool)
            wait_for_waiters(db, BURST, pending)
            hold_a.release()
            wait_for_waiters(db, BURST, pending)
        finally:
            hold_a.release()
            hold_b.release()
        answers = [f.result(timeout=60) for f in pending]
    assert [r.status_code for r in answers] == [201] * BURST, [r.text[:200] for r in answers]
    assert balances(db, [a, b]) == {a: 1_000 - 70 * half, b: 1_000 + 70 * half}
    assert sorted(stored(db, [a, b])) == sorted([(a, b, 100)] * half + [(b, a, 30)] * half)
    assert_ledger_adds_up(authed_api, db, {a: 1_000, b: 1_000})


@pytest.mark.rules("transfer-moves-money", "locks-wait")
def test_balances_change_only_when_the_transfer_row_commits(
    authed_api, client_factory, auth_headers, unique, db
):
    # The transfers table is held in SHARE mode: reads go on, every insert waits. While a
    # transfer waits there, no other session may see its balance changes: they commit with
    # the transfer row, in one transaction, or not at all.
    a = open_account(authed_api, unique, 500)
    b = open_account(authed_api, unique, 500)
    client = client_factory(headers=auth_headers, deadline=40)
    holder = Holder(sql="LOCK TABLE transfers IN SHARE MODE")
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:  # the lock goes before the pool waits for its thread, whatever happens
            pending = fire(client, [{"from_account_id": a, "to_account_id": b, "amount": 120}], pool)
            wait_for_waiters(db, 1, pending)
            assert not pending[0].done(), pending[0].result().text
            seen = balances(db, [a, b]), stored(db, [a, b])
        finally:
            holder.release()
        answer = pending[0].result(timeout=60)
    # while the transfer row waited, nothing of the transfer was visible
    assert seen == ({a: 500, b: 500}, []), seen
    assert answer.status_code == 201, answer.text
    assert balances(db, [a, b]) == {a: 380, b: 620}
    assert stored(db, [a, b]) == [(a, b, 120)]
