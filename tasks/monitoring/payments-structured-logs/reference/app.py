"""Card payments with structured, redacted logs (reference): FastAPI under uvicorn, psycopg,
the standard library's logging with a JSON formatter on the root logger, and one pure ASGI
middleware that owns the request id, the access line and the last-resort 500.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import re
import sys
import time
import traceback
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 16 * 1024
MAX_AMOUNT = 1_000_000
CURRENCIES = ("EUR", "USD", "GBP")
OUTAGE_CARD = "4000000000000119"
CARD = re.compile(r"[0-9]{13,19}")
CVC = re.compile(r"[0-9]{3,4}")
EMAIL = re.compile(r"[!-?A-~]+@[!-?A-~]+")
PAYMENT_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
ROUTES = (
    ("/health", re.compile(r"/health")),
    ("/v1/payments", re.compile(r"/v1/payments")),
    ("/v1/payments/{payment_id}", re.compile(r"/v1/payments/[^/]+")),
)
CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
}
SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    id UUID PRIMARY KEY,
    amount_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    card_last4 TEXT NOT NULL,
    email TEXT NOT NULL,
    description TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
)
"""
COLUMNS = "id::text AS id, amount_cents, currency, card_last4, email, description"

REQUEST_ID: ContextVar[str | None] = ContextVar("request_id", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: ts, level, event, the request id when there is one, and the
    record's `fields`; a record with exc_info gets its traceback as a `stack` string."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }  # fmt: skip
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        line.update(getattr(record, "fields", {}))
        if record.exc_info and "stack" not in line:
            line["stack"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=True, default=str)


def configure_logging() -> None:
    """Every logger, the server's and the libraries', writes JSON lines to stdout."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "psycopg"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    logging.captureWarnings(True)


log = logging.getLogger("payments")


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    log.log(level, name, extra={"fields": fields})


def mask_email(email: str) -> str:
    """The first character, ***, then @ and the domain."""
    local, _, domain = email.partition("@")
    return f"{local[0]}***@{domain}"


class ApiError(Exception):
    """An error answered with the shared error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ProcessorUnavailable(Exception):  # noqa: N818 - the name the contract gives
    """The payment processor is down (its outage test card)."""


def error_response(status: int, message: str) -> JSONResponse:
    body = {"error": {"code": CODES[status], "message": message, "request_id": REQUEST_ID.get()}}
    return JSONResponse(status_code=status, content=body)


def route_of(path: str, status: int) -> str | None:
    """The template of the route the path and method matched; None for an unknown path or 405."""
    if status == 405:
        return None
    for template, pattern in ROUTES:
        if pattern.fullmatch(path):
            return template
    return None


class RequestLogging:
    """The request id, the access line and the last-resort 500 of every request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = REQUEST_ID.set(str(uuid.uuid4()))
        start = time.perf_counter()
        answer: dict[str, int] = {}

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                MutableHeaders(scope=message)["X-Request-ID"] = REQUEST_ID.get() or ""
            await send(message)

        try:
            await self.app(scope, receive, tagged)
        except Exception as exc:
            event("unhandled_exception", logging.ERROR, exc_type=type(exc).__name__,
                  stack=traceback.format_exc())  # fmt: skip
            if "status" not in answer:
                await error_response(500, "internal server error")(scope, receive, tagged)
        finally:
            status = answer.get("status", 500)
            event(
                "request", logging.ERROR if status >= 500 else logging.INFO,
                method=scope["method"], route=route_of(scope["path"], status), status=status,
                duration_ms=round((time.perf_counter() - start) * 1000, 3),
            )  # fmt: skip
            REQUEST_ID.reset(token)


async def connect() -> psycopg.AsyncConnection[dict[str, Any]]:
    """A connection of its own per request: when the database is down it fails in seconds, and
    once it is back the next request simply connects."""
    return await psycopg.AsyncConnection.connect(
        os.environ["DATABASE_URL"], autocommit=True, row_factory=dict_row, connect_timeout=3
    )


async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
    async with await connect() as conn:
        await conn.execute(SCHEMA)
    event("started")
    yield
    event("stopping")


configure_logging()
api = FastAPI(lifespan=lifespan, redirect_slashes=False, openapi_url=None, docs_url=None,
              redoc_url=None)  # fmt: skip
api.add_middleware(RequestLogging)


@api.exception_handler(ApiError)
async def api_error(_: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.message)


@api.exception_handler(StarletteHTTPException)
async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 405:
        return error_response(405, "method not allowed for this path")
    return error_response(404, "no such resource")


def require_key(request: Request) -> None:
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    secret = os.environ.get("APP_SECRET", "")
    if not secret or scheme.lower() != "bearer" or not hmac.compare_digest(key.encode(),
                                                                           secret.encode()):  # fmt: skip
        raise ApiError(401, "a valid API key is required")


async def json_object(request: Request) -> dict[str, Any]:
    """The body: 16 KiB at most (413), application/json (415), a JSON object (422)."""
    body = await request.body()
    if len(body) > MAX_BODY:
        raise ApiError(413, "the body is larger than 16 KiB")
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "send application/json")
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        raise ApiError(422, "the body is not valid JSON") from None
    if not isinstance(data, dict):
        raise ApiError(422, "the body must be a JSON object")
    return data


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        value = int(char) * (2 if i % 2 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def is_text(value: Any, most: int) -> bool:
    """A string of at most `most` characters, without U+0000 or a lone surrogate."""
    if not isinstance(value, str) or len(value) > most or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def valid_payment(data: dict[str, Any]) -> dict[str, Any]:
    """The payment's fields, or a 422 that names the field and never repeats its value."""
    amount = data.get("amount_cents")
    if type(amount) is not int or not 1 <= amount <= MAX_AMOUNT:
        raise ApiError(422, "amount_cents must be an integer from 1 to 1000000")
    if data.get("currency") not in CURRENCIES:
        raise ApiError(422, "currency must be EUR, USD or GBP")
    card = data.get("card_number")
    if not isinstance(card, str) or not CARD.fullmatch(card) or not luhn_valid(card):
        raise ApiError(422, "card_number is not a valid card number")
    cvc = data.get("cvc")
    if not isinstance(cvc, str) or not CVC.fullmatch(cvc):
        raise ApiError(422, "cvc must be 3 or 4 digits")
    email = data.get("email")
    if not isinstance(email, str) or len(email) > 254 or not EMAIL.fullmatch(email):
        raise ApiError(422, "email is not a valid address")
    description = data.get("description", "")
    if not is_text(description, 200):
        raise ApiError(422, "description must be a string of at most 200 characters")
    return {"amount_cents": amount, "currency": data["currency"], "card": card, "cvc": cvc,
            "email": email, "description": description}  # fmt: skip


def charge(card: str, cvc: str, amount_cents: int) -> None:
    """The processor stub: approves every card but the outage test card."""
    if card == OUTAGE_CARD:
        raise ProcessorUnavailable("processor unavailable")


@api.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@api.post("/v1/payments", status_code=201)
async def create_payment(request: Request) -> dict[str, Any]:
    require_key(request)
    payment = valid_payment(await json_object(request))
    charge(payment["card"], payment["cvc"], payment["amount_cents"])
    async with await connect() as conn:
        cur = await conn.execute(
            f"INSERT INTO payments (id, amount_cents, currency, card_last4, email, description) "
            f"VALUES (%s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
            (uuid.uuid4(), payment["amount_cents"], payment["currency"], payment["card"][-4:],
             payment["email"], payment["description"]),
        )  # fmt: skip
        row = await cur.fetchone()
    assert row is not None
    event("payment_created", payment_id=row["id"], amount_cents=row["amount_cents"],
          currency=row["currency"], card_last4=row["card_last4"],
          email=mask_email(row["email"]), description=row["description"])  # fmt: skip
    return dict(row)


@api.get("/v1/payments/{payment_id}")
async def get_payment(request: Request, payment_id: str) -> dict[str, Any]:
    require_key(request)
    if not PAYMENT_ID.fullmatch(payment_id):
        raise ApiError(404, "no such payment")
    async with await connect() as conn:
        cur = await conn.execute(f"SELECT {COLUMNS} FROM payments WHERE id = %s", (payment_id,))
        row = await cur.fetchone()
    if row is None:
        raise ApiError(404, "no such payment")
    return dict(row)


app = api


if __name__ == "__main__":
    import uvicorn

    # log_config=None: uvicorn installs no handler of its own, so its lines reach the root
    # logger's JSON formatter; its plain access log is off (the access line is the app's)
    uvicorn.run(api, host="127.0.0.1", port=int(os.environ["PORT"]), log_config=None,
                access_log=False, server_header=False, log_level="info")  # fmt: skip
