"""gunicorn: threads for the slow renders, and a grace period shorter than the exit bound."""

import os

import psycopg

bind = f"127.0.0.1:{os.environ['PORT']}"
worker_class = "gthread"
workers = 2
threads = 8
# on SIGTERM the master closes its sockets and the workers finish what they hold for up to
# graceful_timeout seconds (a job renders in at most 1 s); the bound is 10 s from the signal
graceful_timeout = 5
loglevel = "warning"

SCHEMA = """
CREATE TABLE IF NOT EXISTS print_jobs (
    id bigserial PRIMARY KEY,
    document text NOT NULL,
    pages integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS print_job_pages (
    job_id bigint NOT NULL REFERENCES print_jobs (id) ON DELETE CASCADE,
    number integer NOT NULL CHECK (number > 0),
    content text NOT NULL,
    PRIMARY KEY (job_id, number)
);
"""


def on_starting(_server: object) -> None:
    """Create the schema once, in the master, before any worker serves."""
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        conn.execute("SELECT pg_advisory_xact_lock(4242001)")
        conn.execute(SCHEMA)
