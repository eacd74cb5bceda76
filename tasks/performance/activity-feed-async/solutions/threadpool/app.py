"""Activity feed API: the HTTP layer (routes, validation, errors, authentication).

The routes that touch the database or the push gateway are plain `def` functions: FastAPI runs
each in its threadpool, so a request blocked on PostgreSQL or on the gateway's wait holds up
only its own thread, never the event loop that serves the other requests.
"""

from __future__ import annotations

import hmac
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

import feed
import push

MAX_ID = 2**63 - 1
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATUS_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    422: "validation_error",
}
Kind = Literal["comment", "like", "follow", "mention", "share"]

# a thread back from PostgreSQL waits for the GIL until the thread holding it is switched out:
# 0.5 ms instead of CPython's 5 ms keeps that wait short with a few requests in flight
sys.setswitchinterval(0.0005)


class ApiError(Exception):
    """An error answered with the shared JSON error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The shared JSON error body."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def reject_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class EventCreate(BaseModel):
    """Body of POST /v1/users/{id}/events."""

    model_config = ConfigDict(extra="ignore")

    kind: Kind
    actor: StrictStr = Field(min_length=1, max_length=100)
    message: StrictStr = Field(min_length=1, max_length=500)

    _no_nul = field_validator("actor", "message")(reject_nul)


class MarkRead(BaseModel):
    """Body of POST /v1/users/{id}/events/read."""

    model_config = ConfigDict(extra="ignore")

    # strict: a boolean, a float or a numeric string is not an event id
    up_to: StrictInt = Field(ge=1, le=MAX_ID)


def parse_id(raw: str, what: str) -> int:
    """An id from the path; anything that is not one names nothing."""
    if not raw.isascii() or not raw.isdigit():
        raise ApiError(404, "not_found", f"{what} not found")
    value = int(raw)
    if value < 1 or value > MAX_ID:
        raise ApiError(404, "not_found", f"{what} not found")
    return value


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """The database already holds the feed: only the pool is opened."""
    feed.open_pool()
    try:
        yield
    finally:
        feed.close_pool()


app = FastAPI(title="Activity feed API", lifespan=lifespan)


@app.middleware("http")
async def require_bearer_for_writes(request: Request, call_next: Any) -> Response:
    """Refuse writes under /v1 without the shared bearer secret."""
    if request.method in WRITE_METHODS and request.url.path.startswith("/v1/"):
        secret = os.environ.get("APP_SECRET", "")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        valid = (
            bool(secret)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), secret.encode())
        )
        if not valid:
            response = error_response(401, "unauthorized", "missing or invalid bearer token")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
    response: Response = await call_next(request)
    return response


@app.exception_handler(ApiError)
async def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message)


@app.exception_handler(RequestValidationError)
async def validation_error_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 validation_error instead of FastAPI's own body."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        msg = err.get("msg", "invalid value")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return error_response(422, "validation_error", "; ".join(parts) or "invalid request")


@app.exception_handler(StarletteHTTPException)
async def http_error_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Unknown routes, wrong methods and undecodable bodies get the shared body too."""
    if exc.status_code == 400:
        # a body the framework cannot even decode is an invalid body
        return error_response(422, "validation_error", str(exc.detail))
    code = STATUS_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/users/{user_id}/events")
def list_events(
    user_id: str,
    kind: Annotated[Kind | None, Query()] = None,
    actor: Annotated[str | None, Query()] = None,
    before: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict[str, Any]:
    """One page of a user's events, newest first."""
    if actor is not None and "\x00" in actor:
        raise ApiError(422, "validation_error", "actor must not contain NUL characters")
    rows = feed.list_events(parse_id(user_id, "user"), kind, actor, before, limit)
    if rows is None:
        raise ApiError(404, "not_found", "user not found")
    items = rows[:limit]
    next_before = items[-1]["id"] if len(rows) > limit else None
    return {"items": items, "next_before": next_before}


@app.get("/v1/users/{user_id}/unread")
def unread(user_id: str) -> dict[str, Any]:
    uid = parse_id(user_id, "user")
    count = feed.unread_count(uid)
    if count is None:
        raise ApiError(404, "not_found", "user not found")
    return {"user_id": uid, "unread": count}


@app.get("/v1/events/{event_id}")
def get_event(event_id: str) -> dict[str, Any]:
    found = feed.get_event(parse_id(event_id, "event"))
    if found is None:
        raise ApiError(404, "not_found", "event not found")
    return found


@app.post("/v1/users/{user_id}/events", status_code=201)
def add_event(user_id: str, body: EventCreate) -> dict[str, Any]:
    """Store the event, deliver it through the push gateway, then answer."""
    stored = feed.add_event(parse_id(user_id, "user"), body.kind, body.actor, body.message)
    if stored is None:
        raise ApiError(404, "not_found", "user not found")
    push.send_event(stored["user_id"], stored["id"])
    delivered = feed.mark_delivered(stored["id"])
    return delivered if delivered is not None else feed.event(stored)


@app.post("/v1/users/{user_id}/events/read")
def mark_read(user_id: str, body: MarkRead) -> dict[str, Any]:
    """Mark events read up to an id, set the badge through the push gateway, then answer."""
    uid = parse_id(user_id, "user")
    result = feed.mark_read(uid, body.up_to)
    if result is None:
        raise ApiError(404, "not_found", "user not found")
    marked, remaining = result
    push.send_badge(uid, remaining)
    return {"user_id": uid, "marked": marked, "unread": remaining}
