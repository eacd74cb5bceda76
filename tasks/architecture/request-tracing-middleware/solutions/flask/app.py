"""Support tickets with request tracing (second solution): Flask under gunicorn threads, a
psycopg connection pool, and a WSGI middleware around the app for the request id, the
Server-Timing header and the access line; Flask's error handlers give the error body."""

from __future__ import annotations

import json
import os
import re
import secrets
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import psycopg
from flask import Flask, has_request_context, jsonify, request
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

VALID_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
LIMIT_BYTES = 65536
DRAIN_BYTES = 16 * 1024 * 1024
SLOWEST = 1000
LEVELS = {"low", "normal", "high"}
BIGGEST_ID = 9223372036854775807
ERROR_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
}
DATABASE_URL = os.environ.get("DATABASE_URL", "")

_write_lock = threading.Lock()
_pool_lock = threading.Lock()
_pool: ConnectionPool | None = None


def emit(request_id: str, event: str, **fields: Any) -> None:
    """Write one JSON line to stdout and flush it."""
    text = json.dumps({"event": event, "request_id": request_id, **fields})
    with _write_lock:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def current_id() -> str:
    """The id RequestTracing picked for the request being served."""
    if not has_request_context():
        return ""
    return str(request.environ.get("tracing.request_id", ""))


def db() -> ConnectionPool:
    """This process's pool, opened at first use (after gunicorn forked the worker)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            options = {"row_factory": dict_row, "autocommit": True}
            _pool = ConnectionPool(DATABASE_URL, min_size=1, max_size=8, kwargs=options)
        return _pool


def create_schema() -> None:
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS tickets (id BIGSERIAL PRIMARY KEY, "
            "title TEXT NOT NULL, priority TEXT NOT NULL DEFAULT 'normal')"
        )


class RequestTracing:
    """WSGI middleware: picks the request id, stamps both headers, writes the access line."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    @staticmethod
    def pick_id(environ: dict[str, Any]) -> str:
        # gunicorn joins a header sent twice with ",", which no valid id holds
        sent = environ.get("HTTP_X_REQUEST_ID")
        if sent is not None and VALID_ID.fullmatch(sent):
            return str(sent)
        return str(uuid.uuid4())

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        began = time.monotonic()
        request_id = self.pick_id(environ)
        environ["tracing.request_id"] = request_id
        outcome = {"status": 500}

        def stamped(status: str, headers: list[tuple[str, str]], *rest: Any) -> Any:
            outcome["status"] = int(status.split(" ", 1)[0])
            spent = (time.monotonic() - began) * 1000
            headers = [(k, v) for k, v in headers
                       if k.lower() not in ("x-request-id", "server-timing")]  # fmt: skip
            headers += [("X-Request-ID", request_id), ("Server-Timing", f"app;dur={spent:.2f}")]
            return start_response(status, headers, *rest)

        def body() -> Iterator[bytes]:
            result = self.app(environ, stamped)
            try:
                yield from result
            finally:
                if hasattr(result, "close"):
                    result.close()
                emit(request_id, "request", method=environ.get("REQUEST_METHOD", ""),
                     path=environ.get("PATH_INFO", ""), status=outcome["status"],
                     duration_ms=round((time.monotonic() - began) * 1000, 2))  # fmt: skip

        return body()


class Refused(Exception):
    """A request answered with an error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_body(status: int, message: str) -> Any:
    """The shared error body."""
    payload = {"code": ERROR_CODES[status], "message": message, "request_id": current_id()}
    # a 413's body may be longer than what was drained: the connection is not reused
    return jsonify({"error": payload}), status, {"Connection": "close"} if status == 413 else {}


app = Flask(__name__)
app.json.ensure_ascii = False  # type: ignore[attr-defined]
app.json.sort_keys = False  # type: ignore[attr-defined]


@app.errorhandler(Refused)
def refused(exc: Refused) -> Any:
    return error_body(exc.status, exc.message)


@app.errorhandler(Exception)
def anything_else(exc: Exception) -> Any:
    if isinstance(exc, HTTPException):
        status = exc.code if exc.code in ERROR_CODES else 422 if (exc.code or 500) < 500 else 500
        return error_body(status, (exc.description or exc.name).split(".")[0])
    emit(current_id(), "unhandled_exception", error=f"{type(exc).__name__}: {exc}",
         stack="".join(traceback.format_exception(exc)))  # fmt: skip
    return error_body(500, "internal server error")


def query_int(name: str, low: int, high: int, default: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None and default is not None:
        return default
    if raw is None or not re.fullmatch(r"[0-9]+", raw) or not low <= int(raw) <= high:
        raise Refused(422, f"{name}: a whole number from {low} to {high}")
    return int(raw)


def read_body() -> bytes:
    """The body, or 413 once it is over 64 KiB; what is left of a refused body is read and
    dropped first (up to DRAIN_BYTES), so that the connection stays usable."""
    stream = request.stream
    data = stream.read(LIMIT_BYTES + 1)
    if len(data) <= LIMIT_BYTES:
        return data
    dropped = 0
    while dropped < DRAIN_BYTES:
        chunk = stream.read(65536)
        if not chunk:
            break
        dropped += len(chunk)
    raise Refused(413, "body over 64 KiB")


def read_object() -> dict[str, Any]:
    data = read_body()
    if request.mimetype != "application/json":
        raise Refused(415, "Content-Type must be application/json")
    try:
        value = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):
        raise Refused(422, "malformed JSON") from None
    if type(value) is not dict:
        raise Refused(422, "a JSON object is expected")
    return value


def acceptable_title(title: Any) -> bool:
    if type(title) is not str or len(title) < 1 or len(title) > 200 or "\0" in title:
        return False
    return not any(0xD800 <= ord(ch) <= 0xDFFF for ch in title)


@app.get("/health")
def health() -> Any:
    return {"status": "ok"}


@app.post("/v1/tickets")
def create_ticket() -> Any:
    body = read_object()
    title, priority = body.get("title"), body.get("priority", "normal")
    if not acceptable_title(title):
        raise Refused(422, "title: 1 to 200 characters")
    if not isinstance(priority, str) or priority not in LEVELS:
        raise Refused(422, "priority: low, normal or high")
    with db().connection() as conn:
        ticket = conn.execute(
            "INSERT INTO tickets (title, priority) VALUES (%s, %s) RETURNING id, title, priority",
            (title, priority),
        ).fetchone()
    emit(current_id(), "ticket_created", ticket_id=ticket["id"], title=title)
    return ticket, 201


@app.get("/v1/tickets")
def list_tickets() -> Any:
    limit = query_int("limit", 1, 100, default=20)
    with db().connection() as conn:
        rows = conn.execute(
            "SELECT id, title, priority FROM tickets ORDER BY id DESC LIMIT %s", (limit,)
        ).fetchall()
    return {"items": rows}


@app.get("/v1/tickets/<raw>")
def get_ticket(raw: str) -> Any:
    if not re.fullmatch(r"[0-9]+", raw) or not 1 <= int(raw) <= BIGGEST_ID:
        raise Refused(404, "ticket not found")
    with db().connection() as conn:
        ticket = conn.execute(
            "SELECT id, title, priority FROM tickets WHERE id = %s", (int(raw),)
        ).fetchone()
    if ticket is None:
        raise Refused(404, "ticket not found")
    return ticket


@app.get("/v1/reports/slow")
def slow_report() -> Any:
    delay = query_int("delay_ms", 0, SLOWEST)
    with db().connection() as conn:
        row = conn.execute(
            "SELECT count(*) AS n FROM tickets, pg_sleep(%s::float / 1000)", (delay,)
        ).fetchone()
    return {"delay_ms": delay, "tickets": row["n"]}


@app.get("/v1/diagnostics/fail")
def diagnostics_fail() -> Any:
    words = request.headers.get("Authorization", "").split(" ", 1)
    expected = os.environ.get("APP_SECRET", "").encode()
    if len(words) != 2 or words[0].lower() != "bearer" or not expected:
        raise Refused(404, "not found")
    if not secrets.compare_digest(words[1].encode("latin-1"), expected):
        raise Refused(404, "not found")
    raise RuntimeError("diagnostics: deliberate failure")


create_schema()
app.wsgi_app = RequestTracing(app.wsgi_app)  # type: ignore[method-assign]
