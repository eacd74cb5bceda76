"""Celery tasks on the Redis broker: one task run is one delivery attempt; a retryable failure
schedules the next run with self.retry(countdown=backoff). The attempt count lives in
PostgreSQL, written before each call, so a run after a crash continues it."""

from __future__ import annotations

import logging
import os
import time
from contextlib import contextmanager
from typing import Any

import psycopg
import requests
from celery import Celery
from celery.signals import worker_ready
from psycopg.rows import dict_row

DATABASE_URL = os.environ["DATABASE_URL"]
MAX_ATTEMPTS = 4
BACKOFF = {1: 0.5, 2: 1.0, 3: 2.0}
CALL_TIMEOUT = 5.0
LOCK_WAIT = 2.0
FIELDS = "id, number, customer, amount_cents, currency, status, attempts, idempotency_key, last_error"
log = logging.getLogger("tasks")

celery = Celery("invoices", broker=os.environ["REDIS_URL"])
celery.conf.update(
    task_ignore_result=True,
    broker_connection_retry_on_startup=True,
    worker_prefetch_multiplier=1,
    worker_hijack_root_logger=False,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
    id bigserial PRIMARY KEY,
    number varchar(64) NOT NULL UNIQUE,
    customer varchar(200) NOT NULL,
    amount_cents integer NOT NULL,
    currency char(3) NOT NULL,
    status varchar(16) NOT NULL DEFAULT 'queued'
        CHECK (status IN ('queued', 'delivered', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    idempotency_key varchar(200) NOT NULL UNIQUE,
    last_error text
);
CREATE INDEX IF NOT EXISTS invoices_by_customer ON invoices (customer, id);
"""


@worker_ready.connect
def mark_ready(**_: Any) -> None:
    """Tell start.sh the worker consumes: it starts the HTTP server only then."""
    path = os.environ.get("WORKER_READY_FILE")
    if path:
        with open(path, "w"):
            pass


def connect() -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(DATABASE_URL, autocommit=True, row_factory=dict_row)


def prepare() -> None:
    """At start-up, before the worker and the API: the schema, then a task for every invoice
    still queued (its task may have died with a killed worker)."""
    with connect() as conn:
        conn.execute(SCHEMA)
        queued = [r["id"] for r in conn.execute("SELECT id FROM invoices WHERE status = 'queued'")]
    for invoice_id in queued:
        deliver.delay(invoice_id)


@contextmanager
def invoice_lock(invoice_id: int):
    """A session advisory lock on the invoice (None when another run holds it): it dies with a
    killed worker's connection."""
    with connect() as conn:
        deadline = time.monotonic() + LOCK_WAIT
        while not conn.execute("SELECT pg_try_advisory_lock(7301, %s) AS ok",
                               (invoice_id,)).fetchone()["ok"]:  # fmt: skip
            if time.monotonic() > deadline:
                yield False
                return
            time.sleep(0.05)
        yield True


def post_delivery(invoice: dict[str, Any]) -> tuple[str, str]:
    body = {"invoice_id": invoice["id"], "number": invoice["number"],
            "customer": invoice["customer"], "amount_cents": invoice["amount_cents"],
            "currency": invoice["currency"]}  # fmt: skip
    try:
        answer = requests.post(
            os.environ["UPSTREAM_URL"].rstrip("/") + "/deliveries", json=body,
            headers={"Idempotency-Key": invoice["idempotency_key"]},
            timeout=CALL_TIMEOUT, allow_redirects=False,
        )  # fmt: skip
    except requests.Timeout:
        return "retry", "timeout"
    except requests.RequestException as ex:
        return "retry", f"connection failed ({type(ex).__name__})"
    code = answer.status_code
    if 200 <= code < 300:
        return "delivered", ""
    if code in (408, 429) or code >= 500:
        return "retry", f"HTTP {code}"
    return "dead", f"HTTP {code}"


@celery.task(bind=True, max_retries=None, acks_late=False)
def deliver(self, invoice_id: int) -> None:
    backoff = None
    with invoice_lock(invoice_id) as held:
        if not held:
            return
        with connect() as conn:
            invoice = conn.execute(f"SELECT {FIELDS} FROM invoices WHERE id = %s",
                                   (invoice_id,)).fetchone()  # fmt: skip
            if invoice is None or invoice["status"] != "queued":
                return
            attempt = invoice["attempts"] + 1
            if attempt > MAX_ATTEMPTS:  # the last attempt died with a worker
                conn.execute("UPDATE invoices SET status = 'dead' WHERE id = %s", (invoice_id,))
                return
            conn.execute("UPDATE invoices SET attempts = %s WHERE id = %s", (attempt, invoice_id))
            outcome, error = post_delivery(invoice)
            if outcome == "retry" and attempt >= MAX_ATTEMPTS:
                outcome = "dead"
            if outcome == "retry":
                conn.execute("UPDATE invoices SET last_error = %s WHERE id = %s",
                             (error, invoice_id))  # fmt: skip
                backoff = BACKOFF[attempt]
            elif outcome == "dead":
                conn.execute("UPDATE invoices SET status = 'dead', last_error = %s WHERE id = %s",
                             (error, invoice_id))  # fmt: skip
                log.warning("invoice %s is dead: %s", invoice_id, error)
            else:
                conn.execute("UPDATE invoices SET status = 'delivered' WHERE id = %s",
                             (invoice_id,))  # fmt: skip
    if backoff is not None:  # outside the lock: the next run takes it again
        raise self.retry(countdown=backoff)
