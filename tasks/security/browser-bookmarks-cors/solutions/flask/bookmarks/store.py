"""PostgreSQL storage of bookmarks: the schema and the four queries."""

from __future__ import annotations

import os
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

SCHEMA = """
CREATE TABLE IF NOT EXISTS bookmark (
    id bigserial PRIMARY KEY,
    url text NOT NULL CHECK (char_length(url) BETWEEN 1 AND 2048),
    title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    created_at timestamptz NOT NULL DEFAULT clock_timestamp()
)
"""


class Store:
    """A small connection pool and the queries of the API."""

    def __init__(self, url: str) -> None:
        self.pool = ConnectionPool(url, min_size=1, max_size=8, kwargs={"row_factory": dict_row})

    def add(self, url: str, title: str) -> dict[str, Any]:
        with self.pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO bookmark (url, title) VALUES (%s, %s) "
                "RETURNING id, url, title, created_at",
                (url, title),
            ).fetchone()
        assert row is not None
        return row

    def newest(self, limit: int) -> list[dict[str, Any]]:
        with self.pool.connection() as conn:
            return conn.execute(
                "SELECT id, url, title, created_at FROM bookmark ORDER BY id DESC LIMIT %s",
                (limit,),
            ).fetchall()

    def get(self, ident: int) -> dict[str, Any] | None:
        with self.pool.connection() as conn:
            return conn.execute(
                "SELECT id, url, title, created_at FROM bookmark WHERE id = %s", (ident,)
            ).fetchone()

    def remove(self, ident: int) -> bool:
        with self.pool.connection() as conn:
            return conn.execute("DELETE FROM bookmark WHERE id = %s", (ident,)).rowcount > 0


if __name__ == "__main__":
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as connection:
        connection.execute(SCHEMA)
