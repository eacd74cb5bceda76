"""The delivery job, run by the RQ workers (worker.py) and enqueued by the API (app.py).

One job makes every attempt of one invoice, sleeping the backoff between them, while it holds
a session advisory lock on the invoice: a second job of the same invoice (after a restart
re-enqueued it, say) finds the lock taken and leaves, and the lock dies with a killed worker's
connection. The attempt count lives in PostgreSQL and is written before each call, so a job
started after a crash continues the count.
"""

from __future__ import annotations

import logging
import os
import time

import httpx
from redis import Redis
from rq import Queue

import store

QUEUE_NAME = "deliveries"
BACKOFF = (0.5, 1.0, 2.0)  # after failed attempts 1, 2 and 3
CALL_TIMEOUT = 5.0
LOCK_WAIT = 2.0
INVOICE_LOCK = 72_000_002  # advisory lock namespace: (INVOICE_LOCK, invoice id)
log = logging.getLogger("jobs")


def queue() -> Queue:
    return Queue(QUEUE_NAME, connection=Redis.from_url(os.environ["REDIS_URL"]))


def enqueue(q: Queue, invoice_id: int) -> None:
    q.enqueue("jobs.deliver", invoice_id, job_timeout=300, result_ttl=0, failure_ttl=3600)


def call_upstream(invoice: dict) -> tuple[str, str]:
    """One delivery call: ("ok" | "retry" | "permanent", error text)."""
    body = {k: invoice[k] for k in ("number", "customer", "amount_cents", "currency")}
    body["invoice_id"] = invoice["id"]
    try:
        answer = httpx.post(
            os.environ["UPSTREAM_URL"].rstrip("/") + "/deliveries", json=body,
            headers={"Idempotency-Key": invoice["idempotency_key"]},
            timeout=httpx.Timeout(CALL_TIMEOUT), follow_redirects=False,
        )  # fmt: skip
    except httpx.TimeoutException:
        return "retry", "timeout"
    except httpx.HTTPError as ex:
        return "retry", f"connection failed: {type(ex).__name__}"
    if 200 <= answer.status_code < 300:
        return "ok", ""
    error = f"HTTP {answer.status_code}"
    if answer.status_code in (408, 429) or answer.status_code >= 500:
        return "retry", error
    return "permanent", error


def deliver(invoice_id: int) -> None:
    """Attempt the invoice until it is delivered or dead, unless another job holds it."""
    with store.connect() as lock_conn:
        if not take_lock(lock_conn, invoice_id):
            return
        with store.connect() as conn:
            attempt_all(conn, invoice_id)


def take_lock(conn, invoice_id: int) -> bool:
    """The invoice's lock, waiting up to LOCK_WAIT for a job that is just finishing with it
    (a re-drive enqueued as the job that made the invoice dead returns)."""
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        row = conn.execute(
            "SELECT pg_try_advisory_lock(%s, %s) AS held", (INVOICE_LOCK, invoice_id)
        ).fetchone()
        if row["held"]:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def attempt_all(conn, invoice_id: int) -> None:
    invoice = conn.execute(
        f"SELECT {store.COLUMNS} FROM invoices WHERE id = %s", (invoice_id,)
    ).fetchone()
    if invoice is None or invoice["status"] != "queued":
        return
    attempts = invoice["attempts"]
    if attempts >= store.MAX_ATTEMPTS:  # the last attempt was cut short by a crash
        conn.execute("UPDATE invoices SET status = 'dead' WHERE id = %s", (invoice_id,))
        return
    while True:
        attempts += 1
        conn.execute("UPDATE invoices SET attempts = %s WHERE id = %s", (attempts, invoice_id))
        outcome, error = call_upstream(invoice)
        if outcome == "ok":
            conn.execute("UPDATE invoices SET status = 'delivered' WHERE id = %s", (invoice_id,))
            return
        if outcome == "permanent" or attempts >= store.MAX_ATTEMPTS:
            conn.execute(
                "UPDATE invoices SET status = 'dead', last_error = %s WHERE id = %s",
                (error, invoice_id),
            )
            log.info("invoice %s is dead after %s attempts: %s", invoice_id, attempts, error)
            return
        conn.execute("UPDATE invoices SET last_error = %s WHERE id = %s", (error, invoice_id))
        time.sleep(BACKOFF[attempts - 1])


def recover(q: Queue) -> int:
    """Enqueue every invoice still queued (its job may have died with a worker)."""
    with store.connect() as conn:
        ids = [r["id"] for r in conn.execute("SELECT id FROM invoices WHERE status = 'queued'")]
    for invoice_id in ids:
        enqueue(q, invoice_id)
    return len(ids)
