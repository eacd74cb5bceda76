"""Orders API: plain Starlette (no FastAPI, no pydantic), hand-written checks, raw parameterized
SQL through an asyncpg pool. Amounts are integer cents; their text is made with integers."""

import hmac
import json
import os
import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_CENTS = 10**18 - 1
MAX_BIGINT = 2**63 - 1
DIGITS = re.compile(r"[0-9]+")
SELECT = "SELECT id, customer_name, amount_cents FROM orders"


class ApiError(Exception):
    """An error answered as `{"error": {"code", "message"}}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def invalid(message: str) -> ApiError:
    return ApiError(422, "validation_error", message)


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


class BearerAuth:
    """401 for any request but /health without `Authorization: Bearer <secret>`."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.expected = f"Bearer {secret}".encode()
        self.secret = secret

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/health" or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        response = error_response(401, "unauthorized", "missing or wrong bearer token")
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        given = [value for key, value in scope["headers"] if key == b"authorization"]
        if not self.secret or len(given) != 1:
            return False
        return hmac.compare_digest(given[0], self.expected)


def amount_text(cents: int) -> str:
    """1250 -> "12.50", 5 -> "0.05": integer arithmetic, exact for every bigint."""
    whole, rest = divmod(cents, 100)
    return f"{whole}.{rest:02d}"


def as_order(row: Mapping[str, Any]) -> dict[str, Any]:
    cents = row["amount_cents"]
    return {"id": row["id"], "customer_name": row["customer_name"], "amount_cents": cents,
            "amount": amount_text(cents)}  # fmt: skip


def storable(value: str) -> bool:
    """Whether PostgreSQL text can hold it: no NUL, no lone surrogate."""
    if "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise invalid("the body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    return data


def customer_name(data: dict[str, Any]) -> str:
    value = data.get("customer_name")
    if not isinstance(value, str) or not 1 <= len(value) <= 200:
        raise invalid("customer_name must be a string of 1 to 200 characters")
    if not value.strip() or not storable(value):
        raise invalid("customer_name must not be blank and must be storable text")
    return value


def amount_cents(data: dict[str, Any]) -> int:
    value = data.get("amount_cents")
    # json gives int only for a JSON integer: 12.0 and 1e3 are floats, true is a bool
    if type(value) is not int or not 0 <= value <= MAX_CENTS:
        raise invalid(f"amount_cents must be a JSON integer from 0 to {MAX_CENTS}")
    return value


def query_int(params: Mapping[str, str], key: str, default: int, low: int, high: int) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    if not DIGITS.fullmatch(raw):
        raise invalid(f"{key} must be an integer from {low}")
    value = int(raw) if len(raw) <= 30 else high + 1
    if value < low or (value > high and key == "limit"):
        raise invalid(f"{key} must be from {low} to {high}")
    return min(value, high)


def pool(request: Request) -> asyncpg.Pool:
    return request.state.pool


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def create_order(request: Request) -> JSONResponse:
    data = parse_body(await request.body())
    name, cents = customer_name(data), amount_cents(data)
    row = await pool(request).fetchrow(
        "INSERT INTO orders (customer_name, amount_cents) VALUES ($1, $2)"
        " RETURNING id, customer_name, amount_cents",
        name, cents,
    )  # fmt: skip
    return JSONResponse(as_order(row), status_code=201)


async def list_orders(request: Request) -> JSONResponse:
    params = request.query_params
    limit = query_int(params, "limit", 50, 1, 100)
    offset = query_int(params, "offset", 0, 0, MAX_BIGINT)
    name = params.get("customer_name")
    if name is not None and not storable(name):
        return JSONResponse({"items": [], "total": 0})  # no stored name holds it
    async with pool(request).acquire() as conn:
        if name is None:
            total = await conn.fetchval("SELECT count(*) FROM orders")
            rows = await conn.fetch(f"{SELECT} ORDER BY id LIMIT $1 OFFSET $2", limit, offset)
        else:
            total = await conn.fetchval(
                "SELECT count(*) FROM orders WHERE customer_name = $1", name
            )
            rows = await conn.fetch(
                f"{SELECT} WHERE customer_name = $1 ORDER BY id LIMIT $2 OFFSET $3",
                name, limit, offset,
            )  # fmt: skip
    return JSONResponse({"items": [as_order(r) for r in rows], "total": total})


async def get_order(request: Request) -> JSONResponse:
    raw = request.path_params["id"]
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_BIGINT:
        raise ApiError(404, "not_found", "no such order")
    row = await pool(request).fetchrow(f"{SELECT} WHERE id = $1", int(raw))
    if row is None:
        raise ApiError(404, "not_found", "no such order")
    return JSONResponse(as_order(row))


async def api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status, exc.code, exc.message)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    response = error_response(exc.status_code, codes.get(exc.status_code, "bad_request"),
                              str(exc.detail))  # fmt: skip
    response.headers.update(exc.headers or {})
    return response


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(500, "internal_error", "unexpected server error")


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[dict[str, asyncpg.Pool]]:
    async with asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=10) as p:
        yield {"pool": p}


app = Starlette(
    routes=[
        Route("/health", health, methods=["GET"]),
        Route("/v1/orders", create_order, methods=["POST"]),
        Route("/v1/orders", list_orders, methods=["GET"]),
        Route("/v1/orders/{id}", get_order, methods=["GET"]),
    ],
    middleware=[Middleware(BearerAuth, secret=os.environ.get("APP_SECRET", ""))],
    exception_handlers={ApiError: api_error, HTTPException: http_error, Exception: server_error},
    lifespan=lifespan,
)
app.router.redirect_slashes = False
