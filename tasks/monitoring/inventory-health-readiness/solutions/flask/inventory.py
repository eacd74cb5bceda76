"""Inventory items (Flask, psycopg, redis-py) with /health and /ready.

A small pool of psycopg connections of its own: a connection that fails empties the pool, so
connections broken by a PostgreSQL restart are never handed out again, and a new one is opened
on demand. Readiness runs both checks in threads and waits at most 1.5 s for them.
"""

import hmac
import json
import os
import select
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager

import psycopg
import redis
from flask import Flask, Response, jsonify, request
from psycopg import errors
from redis.backoff import NoBackoff
from redis.retry import Retry
from werkzeug.exceptions import HTTPException

DATABASE_URL = os.environ["DATABASE_URL"]
APP_SECRET = os.environ["APP_SECRET"]
MAX_ID = 9223372036854775807
TTL = 300
READY_WAIT = 1.5

cache = redis.Redis.from_url(
    os.environ["REDIS_URL"],
    decode_responses=True,
    socket_timeout=0.5,
    socket_connect_timeout=0.5,
    retry=Retry(NoBackoff(), 0),
)
checks_pool = ThreadPoolExecutor(max_workers=8)

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024


class Unavailable(Exception):
    """PostgreSQL cannot be reached."""


class Invalid(Exception):
    """The request does not validate."""


class Pool:
    """Up to `size` connections; a failure empties the idle ones (they share the outage)."""

    def __init__(self, size: int = 16) -> None:
        self.idle: list[psycopg.Connection] = []
        self.lock = threading.Lock()
        self.slots = threading.BoundedSemaphore(size)

    def flush(self) -> None:
        with self.lock:
            stale, self.idle = self.idle, []
        for conn in stale:
            conn.close()

    @contextmanager
    def connection(self):
        if not self.slots.acquire(timeout=1.0):
            raise Unavailable
        conn = None
        try:
            with self.lock:
                conn = self.idle.pop() if self.idle else None
            if conn is not None and not usable(conn):
                conn.close()
                conn = None
            if conn is None:
                conn = psycopg.connect(
                    DATABASE_URL, autocommit=True, connect_timeout=2,
                    options="-c statement_timeout=1500",
                )  # fmt: skip
            yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if conn is not None:
                conn.close()
            self.flush()
            raise Unavailable from exc
        finally:
            if conn is not None and not conn.closed:
                with self.lock:
                    self.idle.append(conn)
            self.slots.release()


pool = Pool()


def usable(conn: psycopg.Connection) -> bool:
    """An idle connection the server has not closed: it has nothing to read (a server that
    shuts down sends its notice and closes the socket, which makes it readable)."""
    if conn.closed:
        return False
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    return not readable


def create_schema() -> None:
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS items (id bigserial PRIMARY KEY, sku text NOT NULL"
            " UNIQUE, name text NOT NULL, quantity integer NOT NULL)"
        )


def fail(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


@app.errorhandler(Unavailable)
def unavailable(_exc):
    return fail(503, "unavailable", "the database cannot be reached; try again later")


@app.errorhandler(Invalid)
def invalid(exc):
    return fail(422, "validation_error", str(exc) or "invalid request")


@app.errorhandler(HTTPException)
def http_error(exc):
    if exc.code == 404:
        return fail(404, "not_found", "no such resource")
    return fail(exc.code or 500, "error", exc.name)


def text(value, limit: int, field: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= limit or "\x00" in value:
        raise Invalid(f"{field} must be a string of 1 to {limit} characters without NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{field} is not valid text") from None
    return value


def parse_item(raw: bytes) -> tuple[str, str, int]:
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Invalid("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise Invalid("the body must be a JSON object")
    quantity = body.get("quantity")
    if type(quantity) is not int or not 0 <= quantity <= 1_000_000:
        raise Invalid("quantity must be an integer from 0 to 1000000")
    return text(body.get("sku"), 64, "sku"), text(body.get("name"), 200, "name"), quantity


def as_item(row) -> dict:
    return {"id": row[0], "sku": row[1], "name": row[2], "quantity": row[3]}


def cache_put(item: dict) -> None:
    try:
        cache.set(f"item:{item['id']}", json.dumps(item), ex=TTL)
    except (redis.RedisError, OSError):
        return  # Redis down: not cached


@app.get("/health")
def health():
    return {"status": "ok"}


def postgres_up() -> bool:
    try:
        with pool.connection() as conn:
            conn.execute("SELECT 1")
        return True
    except Unavailable:
        return False


def redis_up() -> bool:
    try:
        return bool(cache.ping())
    except (redis.RedisError, OSError):
        return False


@app.get("/ready")
def ready():
    futures = {"postgres": checks_pool.submit(postgres_up), "redis": checks_pool.submit(redis_up)}
    checks = {}
    for name, future in futures.items():
        try:
            checks[name] = "up" if future.result(timeout=READY_WAIT) else "down"
        except FutureTimeout:
            checks[name] = "down"
    if set(checks.values()) == {"up"}:
        return {"status": "ready", "checks": checks}
    return {"status": "not_ready", "checks": checks}, 503


@app.post("/v1/items")
def create_item():
    header = request.headers.get("Authorization", "")
    if not hmac.compare_digest(header.encode(), f"Bearer {APP_SECRET}".encode()):
        return fail(401, "unauthorized", "missing or wrong bearer token")
    sku, name, quantity = parse_item(request.get_data())
    try:
        with pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO items (sku, name, quantity) VALUES (%s, %s, %s)"
                " RETURNING id, sku, name, quantity",
                (sku, name, quantity),
            ).fetchone()
    except errors.UniqueViolation:
        return fail(409, "conflict", "an item already has this sku")
    item = as_item(row)
    cache_put(item)
    return item, 201


@app.get("/v1/items")
def find_items():
    sku = text(request.args.get("sku"), 64, "sku")
    with pool.connection() as conn:
        rows = conn.execute(
            "SELECT id, sku, name, quantity FROM items WHERE sku = %s", (sku,)
        ).fetchall()
    return {"items": [as_item(row) for row in rows]}


@app.get("/v1/items/<item_id>")
def get_item(item_id: str):
    if not (item_id.isascii() and item_id.isdigit()) or not 1 <= int(item_id) <= MAX_ID:
        return fail(404, "not_found", "no such item")
    try:
        cached = cache.get(f"item:{int(item_id)}")
    except (redis.RedisError, OSError):
        cached = None
    if cached is not None:
        return Response(cached, mimetype="application/json")
    with pool.connection() as conn:
        row = conn.execute(
            "SELECT id, sku, name, quantity FROM items WHERE id = %s", (int(item_id),)
        ).fetchone()
    if row is None:
        return fail(404, "not_found", "no such item")
    item = as_item(row)
    cache_put(item)
    return item
