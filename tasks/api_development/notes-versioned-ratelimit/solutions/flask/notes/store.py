"""Notes in PostgreSQL: one table serves both API versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql

from .db import pool

COLUMNS = sql.SQL("id, title, body, tags, created_at")


@dataclass(frozen=True)
class Note:
    id: int
    title: str
    body: str
    tags: list[str]
    created_at: datetime

    def v1(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "body": self.body, "created_at": self.created_at.isoformat()}

    def v2(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "content": self.body,
            "tags": self.tags,
            "created_at": self.created_at.isoformat(),
            "version": 2,
        }


def _title_filter(q: str | None) -> tuple[sql.Composable, dict[str, Any]]:
    if not q:
        return sql.SQL(""), {}
    return sql.SQL("WHERE strpos(lower(title), lower(%(q)s)) > 0"), {"q": q}


def create(title: str, body: str, tags: list[str]) -> Note:
    query = sql.SQL("INSERT INTO notes (title, body, tags) VALUES (%s, %s, %s) RETURNING {}").format(COLUMNS)
    with pool().connection() as conn:
        row = conn.execute(query, (title, body, tags)).fetchone()
    if row is None:  # INSERT ... RETURNING always yields the new row
        raise RuntimeError("insert returned no row")
    return Note(**row)


def get(note_id: int) -> Note | None:
    with pool().connection() as conn:
        row = conn.execute(sql.SQL("SELECT {} FROM notes WHERE id = %s").format(COLUMNS), (note_id,)).fetchone()
    return Note(**row) if row else None


def page(q: str | None, limit: int, offset: int) -> list[Note]:
    """Notes whose title contains `q` (ignoring case), by id ascending."""
    where, params = _title_filter(q)
    query = sql.SQL("SELECT {} FROM notes {} ORDER BY id LIMIT %(limit)s OFFSET %(offset)s").format(COLUMNS, where)
    with pool().connection() as conn:
        rows = conn.execute(query, {**params, "limit": limit, "offset": offset}).fetchall()
    return [Note(**row) for row in rows]


def count(q: str | None) -> int:
    where, params = _title_filter(q)
    with pool().connection() as conn:
        row = conn.execute(sql.SQL("SELECT count(*) AS total FROM notes {}").format(where), params).fetchone()
    return row["total"] if row else 0
