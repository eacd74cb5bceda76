"""Versioned notes API, Starlette style.

Plain Starlette (no FastAPI, no pydantic): hand-written validation, raw SQL through an asyncpg
pool, a pure-ASGI guard middleware for auth / client id / rate limit, and a Redis Lua script
for the per-client window. Both API versions are built from one table of "shapes".
"""

import os
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

import asyncpg
from redis.asyncio import Redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import store
from errors import error_response
from guard import Guard, LimiterHolder
from ratelimit import RateLimiter
from validation import (
    TEXT_LENGTH,
    TITLE_LENGTH,
    InvalidInput,
    integer_param,
    json_object,
    optional_tags,
    required_string,
)

_NOTE_ID = re.compile(r"[+-]?[0-9]+")
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 415: "unsupported_media_type"}


@dataclass(frozen=True)
class Shape:
    """How one API version names the text field and renders notes and lists."""

    text_field: str
    takes_tags: bool
    render: Callable[[asyncpg.Record], dict[str, Any]]
    render_page: Callable[[list[dict[str, Any]], int, int, int], Any]


def _v1_note(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "body": row["body"],
        "created_at": row["created_at"].isoformat(),
    }


def _v2_note(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "title": row["title"],
        "content": row["body"],
        "tags": list(row["tags"]),
        "created_at": row["created_at"].isoformat(),
        "version": 2,
    }


def _v1_page(notes: list[dict[str, Any]], total: int, limit: int, offset: int) -> Any:
    return notes


def _v2_page(notes: list[dict[str, Any]], total: int, limit: int, offset: int) -> Any:
    return {"data": notes, "meta": {"total": total, "limit": limit, "offset": offset}}


SHAPES = {
    "v1": Shape("body", takes_tags=False, render=_v1_note, render_page=_v1_page),
    "v2": Shape("content", takes_tags=True, render=_v2_note, render_page=_v2_page),
}


async def create_note(shape: Shape, request: Request) -> Response:
    """POST /vN/notes: validate the body in this version's shape and insert the note."""
    payload = json_object(await _json_body(request))
    title = required_string(payload, "title", TITLE_LENGTH)
    text = required_string(payload, shape.text_field, TEXT_LENGTH)
    tags = optional_tags(payload) if shape.takes_tags else []
    row = await store.insert_note(request.app.state.pool, title, text, tags)
    return JSONResponse(shape.render(row), status_code=201)


async def get_note(shape: Shape, request: Request) -> Response:
    """GET /vN/notes/{id}."""
    note_id = _parse_note_id(request.path_params["note_id"])
    row = None if note_id is None else await store.fetch_note(request.app.state.pool, note_id)
    if row is None:
        return error_response(404, "not_found", "no note with this id")
    return JSONResponse(shape.render(row))


async def list_notes(shape: Shape, request: Request) -> Response:
    """GET /vN/notes: one page of notes, oldest first, optionally filtered by title."""
    params = request.query_params
    limit = integer_param(params, "limit", default=20, low=1, high=100)
    offset = integer_param(params, "offset", default=0, low=0, high=None)
    page = await store.list_notes(request.app.state.pool, params.get("q"), limit, offset)
    notes = [shape.render(row) for row in page.rows]
    return JSONResponse(shape.render_page(notes, page.total, limit, offset))


async def health(request: Request) -> Response:
    """GET /health: liveness, outside the guard."""
    return JSONResponse({"status": "ok"})


async def _json_body(request: Request) -> bytes:
    content_type = request.headers.get("content-type")
    if content_type is not None and not _is_json_media_type(content_type):
        raise HTTPException(415, "the request body must be application/json")
    return await request.body()


def _is_json_media_type(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or media_type.endswith("+json")


def _parse_note_id(raw: str) -> int | None:
    """A path id that is not an integer in the id column's range names no note."""
    if not _NOTE_ID.fullmatch(raw):
        return None
    value = int(raw)
    return value if -store.BIGINT_MAX <= value <= store.BIGINT_MAX else None


def _version_routes(version: str, shape: Shape) -> list[Route]:
    base = f"/{version}/notes"
    return [
        Route(base, partial(create_note, shape), methods=["POST"]),
        Route(base, partial(list_notes, shape), methods=["GET"]),
        Route(base + "/{note_id}", partial(get_note, shape), methods=["GET"]),
    ]


async def _invalid_input(request: Request, exc: Exception) -> Response:
    return error_response(422, "validation_error", str(exc))


async def _http_error(request: Request, exc: HTTPException) -> Response:
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    response = error_response(exc.status_code, code, exc.detail)
    response.headers.update(exc.headers or {})
    return response


async def _server_error(request: Request, exc: Exception) -> Response:
    return error_response(500, "internal_error", "unexpected server error")


def create_app() -> Starlette:
    """Build the application; connections are opened by the lifespan of each worker."""
    limiter = LimiterHolder()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        redis = Redis.from_url(os.environ["REDIS_URL"])
        app.state.pool = await asyncpg.create_pool(
            os.environ["DATABASE_URL"], min_size=2, max_size=10
        )
        limiter.set(RateLimiter(redis))
        try:
            yield
        finally:
            limiter.set(None)
            await app.state.pool.close()
            await redis.aclose()

    routes = [Route("/health", health, methods=["GET"])]
    for version, shape in SHAPES.items():
        routes += _version_routes(version, shape)
    return Starlette(
        routes=routes,
        middleware=[Middleware(Guard, secret=os.environ["APP_SECRET"], limiter=limiter)],
        exception_handlers={
            InvalidInput: _invalid_input,
            HTTPException: _http_error,
            Exception: _server_error,
        },
        lifespan=lifespan,
    )


app = create_app()
