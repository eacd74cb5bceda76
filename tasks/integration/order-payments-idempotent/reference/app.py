"""Order payments API (FastAPI + psycopg): orders paid through the provider, never twice."""

from __future__ import annotations

import hmac
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException

import provider

APP_SECRET = os.environ["APP_SECRET"]
DATABASE_URL = os.environ["DATABASE_URL"]
MAX_BODY = 1024 * 1024
MAX_ID = 2**63 - 1
CURRENCY = re.compile(r"[A-Z]{3}")
ID = re.compile(r"[0-9]+")
COLUMNS = "id, amount, currency, status, charge_id, payment_key"
SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id bigserial PRIMARY KEY,
    amount bigint NOT NULL CHECK (amount > 0),
    currency text NOT NULL,
    status text NOT NULL DEFAULT 'unpaid' CHECK (status IN ('unpaid', 'paid')),
    charge_id text UNIQUE,
    payment_key text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""

pool = ConnectionPool(
    DATABASE_URL, min_size=2, max_size=20, open=False,
    kwargs={"autocommit": True, "row_factory": dict_row},
)  # fmt: skip


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    pool.open(wait=True)
    with pool.connection() as conn:
        conn.execute(SCHEMA)
    yield
    pool.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


def error_body(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@app.exception_handler(ApiError)
async def api_error(_: Request, ex: ApiError) -> JSONResponse:
    return error_body(ex.status, ex.code, ex.message)


@app.exception_handler(RequestValidationError)
async def validation_error(_: Request, __: RequestValidationError) -> JSONResponse:
    return error_body(422, "validation_error", "the request is not valid")


@app.exception_handler(StarletteHTTPException)
async def http_error(_: Request, ex: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(ex.status_code, "error")
    return error_body(ex.status_code, code, str(ex.detail))


def authorize(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), APP_SECRET.encode()):
        raise ApiError(401, "unauthorized", "a valid bearer secret is required")


def parse_id(raw: str) -> int:
    if not ID.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
        raise ApiError(404, "not_found", "no such order")
    return int(raw)


def invalid(message: str) -> ApiError:
    return ApiError(422, "validation_error", message)


def validate(body: Any) -> tuple[int, str]:
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    amount, currency = body.get("amount"), body.get("currency")
    if type(amount) is not int or not 1 <= amount <= 100_000_000:
        raise invalid("amount: an integer from 1 to 100000000")
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
        raise invalid("currency: three uppercase letters")
    return amount, currency


async def read_json(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, "payload_too_large", "the body is over 1 MiB")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise ApiError(413, "payload_too_large", "the body is over 1 MiB")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "unsupported_media_type", "send application/json")
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as ex:  # UnicodeDecodeError is a ValueError
        raise invalid("the body is not valid JSON") from ex


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/orders", status_code=201)
async def create_order(request: Request) -> dict[str, Any]:
    authorize(request)
    amount, currency = validate(await read_json(request))
    return insert_order(amount, currency)


def insert_order(amount: int, currency: str) -> dict[str, Any]:
    with pool.connection() as conn:
        return conn.execute(
            f"INSERT INTO orders (amount, currency, payment_key) VALUES (%s, %s, %s) "
            f"RETURNING {COLUMNS}",
            (amount, currency, str(uuid.uuid4())),
        ).fetchone()


@app.get("/v1/orders/{order_id}")
def get_order(request: Request, order_id: str) -> dict[str, Any]:
    authorize(request)
    with pool.connection() as conn:
        order = conn.execute(
            f"SELECT {COLUMNS} FROM orders WHERE id = %s", (parse_id(order_id),)
        ).fetchone()
    if order is None:
        raise ApiError(404, "not_found", "no such order")
    return order


@app.post("/v1/orders/{order_id}/pay")
def pay_order(request: Request, order_id: str) -> dict[str, Any]:
    authorize(request)
    wanted = parse_id(order_id)
    with pool.connection() as conn, conn.transaction():
        # the row lock makes pay requests for one order wait for each other
        order = conn.execute(
            f"SELECT {COLUMNS} FROM orders WHERE id = %s FOR UPDATE", (wanted,)
        ).fetchone()
        if order is None:
            raise ApiError(404, "not_found", "no such order")
        if order["status"] == "paid":
            raise ApiError(409, "already_paid", "the order is paid already")
        outcome = provider.charge(order)
        if outcome.charge_id is None:
            raise ApiError(502, "payment_failed", outcome.reason)
        return conn.execute(
            f"UPDATE orders SET status = 'paid', charge_id = %s WHERE id = %s RETURNING {COLUMNS}",
            (outcome.charge_id, wanted),
        ).fetchone()
