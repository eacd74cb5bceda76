"""Print jobs: the tables, storing a rendered job and reading jobs back."""

from __future__ import annotations

from typing import Any

from psycopg import Connection
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

Row = dict[str, Any]

SCHEMA = """
CREATE TABLE IF NOT EXISTS print_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    document text NOT NULL,
    pages integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS print_job_pages (
    job_id bigint NOT NULL REFERENCES print_jobs (id),
    number integer NOT NULL,
    content text NOT NULL,
    PRIMARY KEY (job_id, number)
);
"""
JOB_COLUMNS = "id, document, pages, created_at"
# two instances creating the schema at once would collide: one lock orders them
SCHEMA_LOCK = 7_346_512


class Store:
    """The jobs in PostgreSQL, over a connection pool."""

    def __init__(self, database_url: str) -> None:
        self.pool: ConnectionPool[Connection[Row]] = ConnectionPool(
            database_url, min_size=2, max_size=16, open=False, kwargs={"row_factory": dict_row}
        )

    def open(self) -> None:
        self.pool.open(wait=True, timeout=30)
        with self.pool.connection() as conn:
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute(SCHEMA)

    def close(self) -> None:
        self.pool.close()

    def add_job(self, document: str, pages: list[str]) -> Row:
        """The job and every page of it, in one transaction: all of it or nothing is stored."""
        with self.pool.connection() as conn, conn.transaction():
            job = conn.execute(
                f"INSERT INTO print_jobs (document, pages) VALUES (%s, %s) RETURNING {JOB_COLUMNS}",
                (document, len(pages)),
            ).fetchone()
            assert job is not None
            with conn.cursor() as cur:
                cur.executemany(
                    "INSERT INTO print_job_pages (job_id, number, content) VALUES (%s, %s, %s)",
                    [(job["id"], number, text) for number, text in enumerate(pages, 1)],
                )
        return job

    def get_job(self, job_id: int) -> Row | None:
        with self.pool.connection() as conn:
            return conn.execute(
                f"SELECT {JOB_COLUMNS} FROM print_jobs WHERE id = %s", (job_id,)
            ).fetchone()

    def list_jobs(self, limit: int, offset: int) -> tuple[int, list[Row]]:
        """The number of jobs and one page of them, newest first."""
        with self.pool.connection() as conn:
            total = conn.execute("SELECT count(*) AS n FROM print_jobs").fetchone()
            rows = conn.execute(
                f"SELECT {JOB_COLUMNS} FROM print_jobs ORDER BY id DESC LIMIT %s OFFSET %s",
                (limit, offset),
            ).fetchall()
        return (int(total["n"]) if total else 0), rows
