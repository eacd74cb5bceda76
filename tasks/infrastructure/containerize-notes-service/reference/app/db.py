"""The connection pool and the schema, both built from DATABASE_URL."""

import os

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

# IF NOT EXISTS: start-up runs this on every start, against a new or an existing database.
SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    title      text NOT NULL,
    body       text NOT NULL DEFAULT '',
    tags       text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS notes_tags ON notes USING gin (tags);
"""


def open_pool() -> ConnectionPool:
    """A pool on DATABASE_URL whose connections return rows as dicts."""
    pool = ConnectionPool(
        os.environ["DATABASE_URL"],
        min_size=1,
        max_size=8,
        kwargs={"row_factory": dict_row},
        timeout=10,
        open=False,
    )
    pool.open(wait=True, timeout=30)
    return pool


def create_schema(pool: ConnectionPool) -> None:
    """Create the tables the service needs, unless they exist."""
    with pool.connection() as conn:
        conn.execute(SCHEMA)
