"""Versioned notes API, FastAPI + SQLAlchemy ORM style.

FastAPI routers with pydantic models, SQLAlchemy 2.x ORM over psycopg 3 in synchronous
endpoints, tags as ordered child rows, the schema owned by an alembic migration, and a
clock-aligned fixed-window rate limit counted in Redis with MULTI/EXEC from an HTTP middleware.
Served by gunicorn with uvicorn workers.
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query
from redis.asyncio import Redis
from sqlalchemy.orm import Session

from notes_app import repository
from notes_app.db import Note, get_session
from notes_app.errors import install_error_handlers
from notes_app.guard import guard
from notes_app.schemas import (
    NoteV1In,
    NoteV1Out,
    NoteV2In,
    NoteV2Out,
    NoteV2Page,
    PageMeta,
)

SessionDep = Annotated[Session, Depends(get_session)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]
TitleFilter = Annotated[str | None, Query()]

v1 = APIRouter(prefix="/v1/notes", tags=["v1"])
v2 = APIRouter(prefix="/v2/notes", tags=["v2"])


def _existing(note: Note | None) -> Note:
    if note is None:
        raise HTTPException(status_code=404, detail="no note with this id")
    return note


@v1.post("", status_code=201, response_model=NoteV1Out)
def create_v1(payload: NoteV1In, session: SessionDep) -> Note:
    """Create a note from the v1 shape (no tags)."""
    return repository.create_note(session, payload.title, payload.body, tags=[])


@v1.get("", response_model=list[NoteV1Out])
def list_v1(
    session: SessionDep, limit: Limit = 20, offset: Offset = 0, q: TitleFilter = None
) -> list[Note]:
    """A bare array of notes, oldest first."""
    return repository.list_notes(session, q, limit, offset).notes


@v1.get("/{note_id}", response_model=NoteV1Out)
def get_v1(note_id: int, session: SessionDep) -> Note:
    """One note in the v1 shape."""
    return _existing(repository.find_note(session, note_id))


@v2.post("", status_code=201, response_model=NoteV2Out)
def create_v2(payload: NoteV2In, session: SessionDep) -> Note:
    """Create a note from the v2 shape."""
    return repository.create_note(session, payload.title, payload.content, payload.tags)


@v2.get("", response_model=NoteV2Page)
def list_v2(
    session: SessionDep, limit: Limit = 20, offset: Offset = 0, q: TitleFilter = None
) -> NoteV2Page:
    """One page of notes in an envelope with the total match count."""
    page = repository.list_notes(session, q, limit, offset)
    data = [NoteV2Out.model_validate(note) for note in page.notes]
    return NoteV2Page(data=data, meta=PageMeta(total=page.total, limit=limit, offset=offset))


@v2.get("/{note_id}", response_model=NoteV2Out)
def get_v2(note_id: int, session: SessionDep) -> Note:
    """One note in the v2 shape."""
    return _existing(repository.find_note(session, note_id))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """One Redis client per worker process."""
    app.state.redis = Redis.from_url(os.environ["REDIS_URL"])
    try:
        yield
    finally:
        await app.state.redis.aclose()


def create_app() -> FastAPI:
    """Assemble routers, error handlers and the guard middleware."""
    app = FastAPI(title="Versioned notes API", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(v1)
    app.include_router(v2)
    install_error_handlers(app)
    app.middleware("http")(guard)

    @app.get("/health")
    def health() -> dict[str, str]:
        """Liveness: no auth, no client id, no rate limit."""
        return {"status": "ok"}

    return app


app = create_app()
