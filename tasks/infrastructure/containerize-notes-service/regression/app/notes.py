"""The /notes routes: create, list (optionally by tag), read and delete notes."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from psycopg_pool import ConnectionPool
from pydantic import BaseModel, Field

from app.auth import require_secret

router = APIRouter(prefix="/notes")


class NoteIn(BaseModel):
    """A note as a client writes it."""

    title: str = Field(min_length=1, max_length=200)
    body: str = Field(default="", max_length=10_000)
    tags: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(
        default_factory=list, max_length=20
    )


class Note(NoteIn):
    """A stored note."""

    id: int
    created_at: datetime


def _pool(request: Request) -> ConnectionPool:
    pool: ConnectionPool = request.app.state.pool
    return pool


@router.post("", status_code=201, dependencies=[Depends(require_secret)])
def create_note(note: NoteIn, pool: ConnectionPool = Depends(_pool)) -> Note:
    """Store a note; tags are kept once each, in the order first given."""
    tags = list(dict.fromkeys(note.tags))
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO notes (title, body, tags) VALUES (%s, %s, %s)"
            " RETURNING id, title, body, tags, created_at",
            (note.title, note.body, tags),
        ).fetchone()
    return Note(**row)


@router.get("")
def list_notes(
    tag: str | None = None,
    limit: int = Query(default=50, ge=1, le=200),
    pool: ConnectionPool = Depends(_pool),
) -> list[Note]:
    """The newest notes first; with `tag`, only the notes that carry it."""
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT id, title, body, tags, created_at FROM notes"
            " ORDER BY created_at DESC, id DESC LIMIT %(limit)s",
            {"tag": tag, "limit": limit},
        ).fetchall()
    return [Note(**row) for row in rows]


@router.get("/{note_id}")
def get_note(note_id: int, pool: ConnectionPool = Depends(_pool)) -> Note:
    """One note, or 404."""
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT id, title, body, tags, created_at FROM notes WHERE id = %s", (note_id,)
        ).fetchone()
    if row is None:
        raise HTTPException(status_code=404, detail="no such note")
    return Note(**row)


@router.delete("/{note_id}", status_code=204, dependencies=[Depends(require_secret)])
def delete_note(note_id: int, pool: ConnectionPool = Depends(_pool)) -> Response:
    """Delete a note: 204, or 404 when there is none."""
    with pool.connection() as conn:
        deleted = conn.execute("DELETE FROM notes WHERE id = %s", (note_id,)).rowcount
    if not deleted:
        raise HTTPException(status_code=404, detail="no such note")
    return Response(status_code=204)
