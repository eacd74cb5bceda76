"""The invoices table: schema, rows as the API answers them, and start-up recovery."""

from __future__ import annotations

import os
from typing import Any

import psycopg
from psycopg.rows import dict_row

DATABASE_URL = os.environ["DATABASE_URL"]
MAX_ATTEMPTS = 4
COLUMNS = "id, number, customer, amount_cents, currency, status, attempts, idempotency_key, last_error"

SCHEMA = """
CREATE TABLE IF NOT EXISTS invoices (
    id bigserial PRIMARY KEY,
    number text NOT NULL UNIQUE,
    customer text NOT NULL,
    amount_cents bigint NOT NULL,
    currency text NOT NULL,
    status text NOT NULL DEFAULT 'queued',
    attempts integer NOT NULL DEFAULT 0,
    idempotency_key text NOT NULL UNIQUE,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS invoices_customer ON invoices (customer, id);
CREATE INDEX IF NOT EXISTS invoices_dead ON invoices (id) WHERE status = 'dead';
"""
SCHEMA_LOCK = 72_000_001  # advisory lock: the app and the workers create the schema in turn


def connect() -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(DATABASE_URL, autocommit=True, row_factory=dict_row)


def create_schema() -> None:
    with connect() as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            conn.execute(SCHEMA)
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))
