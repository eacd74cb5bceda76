"""PostgreSQL rows and files on disk for the documents service."""

from __future__ import annotations

import hashlib
import os
import secrets
import uuid
from pathlib import Path
from typing import Any

from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

FOLDER = Path(__file__).resolve().parent / "uploads"
FIELDS = "id, filename, content_type, size, sha256, created_at"
DDL = """
CREATE TABLE IF NOT EXISTS documents (
    id uuid PRIMARY KEY,
    filename text NOT NULL,
    content_type text NOT NULL,
    size integer NOT NULL,
    sha256 text NOT NULL,
    stored_name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""


class Store:
    def __init__(self, url: str) -> None:
        FOLDER.mkdir(exist_ok=True)
        self.pool = ConnectionPool(url, min_size=1, max_size=4, kwargs={"autocommit": True})
        with self.pool.connection() as conn:
            conn.execute("SELECT pg_advisory_lock(5501)")
            try:
                conn.execute(DDL)
            finally:
                conn.execute("SELECT pg_advisory_unlock(5501)")

    def _one(self, sql: str, params: tuple[Any, ...]) -> dict[str, Any] | None:
        with self.pool.connection() as conn:
            return conn.cursor(row_factory=dict_row).execute(sql, params).fetchone()

    def add(self, filename: str, content_type: str, content: bytes) -> dict[str, Any]:
        stored_name = secrets.token_urlsafe(24)
        path = FOLDER / stored_name
        with open(path, "xb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        try:
            added = self._one(
                f"INSERT INTO documents (id, filename, content_type, size, sha256, stored_name) "
                f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {FIELDS}",
                (uuid.uuid4(), filename, content_type, len(content),
                 hashlib.sha256(content).hexdigest(), stored_name),
            )  # fmt: skip
        except Exception:
            path.unlink(missing_ok=True)
            raise
        assert added is not None
        return added

    def get(self, doc_id: uuid.UUID) -> dict[str, Any] | None:
        return self._one(f"SELECT {FIELDS}, stored_name FROM documents WHERE id = %s", (doc_id,))

    def rename(self, doc_id: uuid.UUID, filename: str) -> dict[str, Any] | None:
        return self._one(
            f"UPDATE documents SET filename = %s WHERE id = %s RETURNING {FIELDS}",
            (filename, doc_id),
        )

    def remove(self, doc_id: uuid.UUID) -> bool:
        gone = self._one("DELETE FROM documents WHERE id = %s RETURNING stored_name", (doc_id,))
        if gone is None:
            return False
        (FOLDER / gone["stored_name"]).unlink(missing_ok=True)
        return True

    def path(self, stored_name: str) -> Path:
        return FOLDER / stored_name
