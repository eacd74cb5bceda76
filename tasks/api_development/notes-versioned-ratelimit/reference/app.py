"""Notes API with two versions (v1, v2) and per-client rate limiting in Redis."""

import hmac
import os
import time
from contextlib import asynccontextmanager
from typing import Annotated

import redis.asyncio as aioredis
from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from pydantic import AfterValidator, BaseModel, Field, StrictStr
from starlette.exceptions import HTTPException as StarletteHTTPException

DATABASE_URL = os.environ["DATABASE_URL"]
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
APP_SECRET = os.environ.get("APP_SECRET", "")

RATE_LIMIT = 20
WINDOW_SECONDS = 60
MAX_ID = 2**63 - 1
LIMITED_PREFIXES = ("/v1/", "/v2/")

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id BIGSERIAL PRIMARY KEY,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    tags TEXT[] NOT NULL DEFAULT '{}',
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""
INSERT_SQL = (
    "INSERT INTO notes (title, body, tags) VALUES (%s, %s, %s) "
    "RETURNING id, title, body, tags, created_at"
)
SELECT_ONE_SQL = "SELECT id, title, body, tags, created_at FROM notes WHERE id = %s"
SELECT_PAGE_SQL = """
SELECT id, title, body, tags, created_at FROM notes
WHERE %(q)s::text IS NULL OR strpos(lower(title), lower(%(q)s::text)) > 0
ORDER BY id LIMIT %(limit)s OFFSET %(offset)s
"""
COUNT_SQL = """
SELECT count(*) AS n FROM notes
WHERE %(q)s::text IS NULL OR strpos(lower(title), lower(%(q)s::text)) > 0
"""

pool = ConnectionPool(
    DATABASE_URL, min_size=2, max_size=10, open=False, kwargs={"row_factory": dict_row}
)
rds = aioredis.from_url(REDIS_URL)


@asynccontextmanager
async def lifespan(_app: FastAPI):
    """Open the pool and create the schema on start-up; release resources on shutdown."""
    pool.open(wait=True)
    with pool.connection() as conn:
        conn.execute(SCHEMA)
    yield
    pool.close()
    await rds.aclose()


app = FastAPI(title="Notes API", lifespan=lifespan)


def error(status: int, code: str, message: str, headers: dict | None = None) -> JSONResponse:
    """Build the uniform error body."""
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(status_code=status, content=body, headers=headers)


@app.exception_handler(RequestValidationError)
async def validation_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """Render request validation failures as 422 validation_error."""
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err.get("loc", ()))
        parts.append(f"{loc}: {err.get('msg', 'invalid')}")
    return error(422, "validation_error", "; ".join(parts) or "invalid request")


@app.exception_handler(StarletteHTTPException)
async def http_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Render framework HTTP errors (unknown route, wrong method) in the uniform shape."""
    if exc.status_code == 400:
        # a body the framework cannot even decode (not UTF-8) is invalid input: 422
        return error(422, "validation_error", str(exc.detail))
    codes = {404: "not_found", 405: "method_not_allowed"}
    return error(exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail))


def authorized(request: Request) -> bool:
    """Check the Bearer token against APP_SECRET in constant time."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not APP_SECRET:
        return False
    return hmac.compare_digest(token.strip().encode(), APP_SECRET.encode())


async def hit(client_id: str) -> tuple[int, int]:
    """Count one request for the client; return (count in window, seconds until reset)."""
    now = time.time()
    window = int(now // WINDOW_SECONDS)
    key = f"ratelimit:{client_id}:{window}"
    pipe = rds.pipeline(transaction=True)
    pipe.incr(key)
    pipe.expire(key, WINDOW_SECONDS + 5)
    count, _ = await pipe.execute()
    reset_in = WINDOW_SECONDS - int(now % WINDOW_SECONDS)
    return int(count), max(1, min(WINDOW_SECONDS, reset_in))


@app.middleware("http")
async def guard(request: Request, call_next):
    """Authenticate, identify the client and apply the rate limit to /v1 and /v2."""
    path = request.url.path
    if not path.startswith(LIMITED_PREFIXES) and path not in ("/v1", "/v2"):
        return await call_next(request)
    if not authorized(request):
        return error(401, "unauthorized", "missing or invalid bearer token")
    client_id = request.headers.get("x-client-id", "").strip()
    if not client_id:
        return error(400, "missing_client_id", "the X-Client-Id header is required")
    count, reset_in = await hit(client_id)
    headers = {
        "X-RateLimit-Limit": str(RATE_LIMIT),
        "X-RateLimit-Remaining": str(max(0, RATE_LIMIT - count)),
    }
    if count > RATE_LIMIT:
        headers["Retry-After"] = str(reset_in)
        message = f"limit of {RATE_LIMIT} requests per {WINDOW_SECONDS} s exceeded"
        return error(429, "rate_limited", message, headers)
    response = await call_next(request)
    response.headers.update(headers)
    return response


# ---------- models ----------

def no_nul(value: str) -> str:
    """Refuse text PostgreSQL cannot store."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


NoNul = AfterValidator(no_nul)
Title = Annotated[StrictStr, Field(min_length=1, max_length=200), NoNul]
Text = Annotated[StrictStr, Field(max_length=10000), NoNul]
Tag = Annotated[StrictStr, Field(min_length=1, max_length=50), NoNul]


class NoteInV1(BaseModel):
    """v1 create payload."""

    title: Title
    body: Text


class NoteInV2(BaseModel):
    """v2 create payload."""

    title: Title
    content: Text
    tags: Annotated[list[Tag], Field(max_length=20)] = []


def v1_out(row: dict) -> dict:
    """Render a stored note in the v1 shape."""
    return {
        "id": row["id"],
        "title": row["title"],
        "body": row["body"],
        "created_at": row["created_at"].isoformat(),
    }


def v2_out(row: dict) -> dict:
    """Render a stored note in the v2 shape."""
    return {
        "id": row["id"],
        "title": row["title"],
        "content": row["body"],
        "tags": list(row["tags"] or []),
        "created_at": row["created_at"].isoformat(),
        "version": 2,
    }


# ---------- data access ----------


def insert_note(title: str, body: str, tags: list[str]) -> dict:
    """Insert a note and return the stored row."""
    with pool.connection() as conn:
        return conn.execute(INSERT_SQL, (title, body, tags)).fetchone()


def fetch_note(raw_id: str) -> dict | None:
    """Return one note, or None when it does not exist (or the id cannot name one)."""
    if not (raw_id.isascii() and raw_id.isdigit()) or not 1 <= int(raw_id) <= MAX_ID:
        return None
    with pool.connection() as conn:
        return conn.execute(SELECT_ONE_SQL, (int(raw_id),)).fetchone()


def list_notes(q: str | None, limit: int, offset: int, with_total: bool):
    """Return a page of notes (oldest first) whose title contains q, and optionally the total."""
    # any offset past the largest id skips every row; PostgreSQL's OFFSET is a bigint
    params = {"q": q or None, "limit": limit, "offset": min(offset, MAX_ID)}
    with pool.connection() as conn:
        rows = conn.execute(SELECT_PAGE_SQL, params).fetchall()
        total = conn.execute(COUNT_SQL, params).fetchone()["n"] if with_total else None
    return rows, total


def not_found(note_id: str) -> JSONResponse:
    """404 body for a missing note."""
    return error(404, "not_found", f"note {note_id} not found")


# ---------- routes ----------

Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0)]
Q = Annotated[str | None, Query(), AfterValidator(lambda q: q if q is None else no_nul(q))]


@app.get("/health")
def health() -> dict:
    """Liveness check, not authenticated and not rate limited."""
    return {"status": "ok"}


@app.post("/v1/notes", status_code=201)
def create_note_v1(payload: NoteInV1) -> dict:
    """Create a note (v1 shape)."""
    return v1_out(insert_note(payload.title, payload.body, []))


@app.get("/v1/notes")
def list_notes_v1(limit: Limit = 20, offset: Offset = 0, q: Q = None) -> list[dict]:
    """List notes as a bare JSON array (v1)."""
    rows, _ = list_notes(q, limit, offset, with_total=False)
    return [v1_out(r) for r in rows]


@app.get("/v1/notes/{note_id}", response_model=None)
def get_note_v1(note_id: str) -> dict | JSONResponse:
    """Fetch one note (v1 shape)."""
    row = fetch_note(note_id)
    return v1_out(row) if row else not_found(note_id)


@app.post("/v2/notes", status_code=201)
def create_note_v2(payload: NoteInV2) -> dict:
    """Create a note (v2 shape)."""
    return v2_out(insert_note(payload.title, payload.content, payload.tags))


@app.get("/v2/notes")
def list_notes_v2(limit: Limit = 20, offset: Offset = 0, q: Q = None) -> dict:
    """List notes in the v2 envelope with paging metadata."""
    rows, total = list_notes(q, limit, offset, with_total=True)
    meta = {"total": total, "limit": limit, "offset": offset}
    return {"data": [v2_out(r) for r in rows], "meta": meta}


@app.get("/v2/notes/{note_id}", response_model=None)
def get_note_v2(note_id: str) -> dict | JSONResponse:
    """Fetch one note (v2 shape)."""
    row = fetch_note(note_id)
    return v2_out(row) if row else not_found(note_id)
