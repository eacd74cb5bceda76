"""Raw SQL access to the notes table through an asyncpg pool."""

from dataclasses import dataclass

import asyncpg

BIGINT_MAX = 2**63 - 1

_COLUMNS = "id, title, body, tags, created_at"
_MATCHES = "($1::text IS NULL OR strpos(lower(title), lower($1::text)) > 0)"


@dataclass(frozen=True)
class Page:
    """One page of rows and the number of rows matching the filter."""

    rows: list[asyncpg.Record]
    total: int


async def insert_note(pool: asyncpg.Pool, title: str, body: str, tags: list[str]) -> asyncpg.Record:
    """Insert a note and return the stored row."""
    sql = f"INSERT INTO notes (title, body, tags) VALUES ($1, $2, $3) RETURNING {_COLUMNS}"
    return await pool.fetchrow(sql, title, body, tags)


async def fetch_note(pool: asyncpg.Pool, note_id: int) -> asyncpg.Record | None:
    """The note with this id, or None."""
    return await pool.fetchrow(f"SELECT {_COLUMNS} FROM notes WHERE id = $1", note_id)


async def list_notes(pool: asyncpg.Pool, q: str | None, limit: int, offset: int) -> Page:
    """Notes whose title contains q (any case), ordered by id, with the total match count."""
    if q is not None and "\x00" in q:
        return Page(rows=[], total=0)  # PostgreSQL text cannot hold NUL, so no title contains it
    rows_sql = f"SELECT {_COLUMNS} FROM notes WHERE {_MATCHES} ORDER BY id LIMIT $2 OFFSET $3"
    async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read"):
        total = await connection.fetchval(f"SELECT count(*) FROM notes WHERE {_MATCHES}", q)
        rows = await connection.fetch(rows_sql, q, limit, min(offset, BIGINT_MAX))
    return Page(rows=rows, total=total)
