"""Inventory items on PostgreSQL with a Redis read cache, and its liveness and readiness.

/health answers from the process alone. /ready checks PostgreSQL and Redis on every call,
concurrently and each bounded (0.8 s, 0.5 s), so it never serves a stale verdict and answers within
2 s even when a dependency hangs. Every database call is bounded too and a failure becomes a
503 `unavailable`; asyncpg's pool replaces a closed connection at the next acquire, so the
service recovers by itself once PostgreSQL returns. Items never change once created, so the
cache (item:<id>, 300 s) can serve them while PostgreSQL is down.
"""

import asyncio
import contextlib
import hmac
import json
import os
from contextlib import asynccontextmanager

import asyncpg
import redis.asyncio as aioredis
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, ValidationError, field_validator
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from starlette.exceptions import HTTPException as StarletteHTTPException

DATABASE_URL = os.environ["DATABASE_URL"]
REDIS_URL = os.environ["REDIS_URL"]
APP_SECRET = os.environ["APP_SECRET"]

MAX_ID = 2**63 - 1
CACHE_TTL = 300  # seconds an item stays cached
CHECK_SECONDS = 0.8  # bound of one readiness check
DB_SECONDS = 1.5  # bound of one request's database work

rds = aioredis.from_url(
    REDIS_URL,
    decode_responses=True,
    socket_timeout=0.5,
    socket_connect_timeout=0.5,
    retry=Retry(NoBackoff(), 0),
)
state: dict[str, asyncpg.Pool] = {}

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    sku text NOT NULL UNIQUE,
    name text NOT NULL,
    quantity integer NOT NULL CHECK (quantity >= 0)
)
"""


@asynccontextmanager
async def lifespan(_app):
    pool = await asyncpg.create_pool(DATABASE_URL, min_size=1, max_size=10, timeout=1.0)
    async with pool.acquire() as conn:
        await conn.execute(SCHEMA)
    state["pool"] = pool
    yield
    await pool.close()
    await rds.aclose()


app = FastAPI(lifespan=lifespan)


class Unavailable(Exception):
    """PostgreSQL could not be reached in time."""


DB_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@app.exception_handler(StarletteHTTPException)
async def http_handler(_request, exc):
    if exc.status_code == 404:
        return error(404, "not_found", "no such resource")
    return error(exc.status_code, "error", str(exc.detail))


@app.exception_handler(Unavailable)
async def unavailable_handler(_request, _exc):
    return error(503, "unavailable", "the database cannot be reached; try again later")


async def fetch(query: str, *args) -> list[asyncpg.Record]:
    """Run one query on a pooled connection, within DB_SECONDS, or raise Unavailable."""
    try:
        async with asyncio.timeout(DB_SECONDS):
            async with state["pool"].acquire() as conn:
                return await conn.fetch(query, *args)
    except asyncpg.UniqueViolationError:
        raise
    except DB_ERRORS as exc:
        raise Unavailable from exc


def authorized(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    return hmac.compare_digest(header.encode(), f"Bearer {APP_SECRET}".encode())


def text_ok(value: str) -> str:
    if "\x00" in value:
        raise ValueError("NUL character")
    value.encode("utf-8")  # a lone surrogate cannot be stored
    return value


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    quantity: StrictInt = Field(ge=0, le=1_000_000)

    _check_text = field_validator("sku", "name")(text_ok)


def item_body(row: asyncpg.Record) -> dict:
    return {"id": row["id"], "sku": row["sku"], "name": row["name"], "quantity": row["quantity"]}


async def cache_get(item_id: int) -> str | None:
    try:
        return await rds.get(f"item:{item_id}")
    except (RedisError, OSError):
        return None  # Redis is down: read from PostgreSQL


async def cache_set(item: dict) -> None:
    with contextlib.suppress(RedisError, OSError):  # Redis down: the item is not cached
        await rds.set(f"item:{item['id']}", json.dumps(item), ex=CACHE_TTL)


async def check_postgres() -> bool:
    try:
        async with asyncio.timeout(CHECK_SECONDS):
            async with state["pool"].acquire() as conn:
                await conn.fetchval("SELECT 1")
        return True
    except DB_ERRORS:
        return False


async def check_redis() -> bool:
    try:
        return bool(await rds.ping())  # bounded by the client's 0.5 s socket timeouts
    except (RedisError, OSError):
        return False


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/ready")
async def ready():
    postgres, redis_up = await asyncio.gather(check_postgres(), check_redis())
    checks = {"postgres": "up" if postgres else "down", "redis": "up" if redis_up else "down"}
    if postgres and redis_up:
        return {"status": "ready", "checks": checks}
    return JSONResponse({"status": "not_ready", "checks": checks}, status_code=503)


@app.post("/v1/items")
async def create_item(request: Request):
    if not authorized(request):
        return error(401, "unauthorized", "missing or wrong bearer token")
    try:
        item = ItemIn.model_validate_json(await request.body())
    except (ValidationError, ValueError):
        return error(422, "validation_error", "invalid item")
    try:
        rows = await fetch(
            "INSERT INTO items (sku, name, quantity) VALUES ($1, $2, $3)"
            " RETURNING id, sku, name, quantity",
            item.sku, item.name, item.quantity,
        )  # fmt: skip
    except asyncpg.UniqueViolationError:
        return error(409, "conflict", "an item with this sku exists")
    body = item_body(rows[0])
    await cache_set(body)
    return JSONResponse(body, status_code=201)


@app.get("/v1/items")
async def find_items(sku: str | None = None):
    if sku is None or not 1 <= len(sku) <= 64:
        return error(422, "validation_error", "sku must be 1 to 64 characters")
    try:
        text_ok(sku)
    except ValueError:
        return error(422, "validation_error", "sku holds NUL or is not valid text")
    rows = await fetch("SELECT id, sku, name, quantity FROM items WHERE sku = $1", sku)
    return {"items": [item_body(row) for row in rows]}


@app.get("/v1/items/{item_id}")
async def get_item(item_id: str):
    if not (item_id.isascii() and item_id.isdigit()) or not 1 <= int(item_id) <= MAX_ID:
        return error(404, "not_found", "no such item")
    cached = await cache_get(int(item_id))
    if cached is not None:
        return Response(cached, media_type="application/json")
    rows = await fetch("SELECT id, sku, name, quantity FROM items WHERE id = $1", int(item_id))
    if not rows:
        return error(404, "not_found", "no such item")
    body = item_body(rows[0])
    await cache_set(body)
    return body
