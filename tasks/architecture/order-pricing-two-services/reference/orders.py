"""The public orders service (FastAPI + httpx + psycopg): prices each order with the pricing
service over HTTP, stores it pending and queues its fulfilment message in Redis."""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from redis import Redis
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from common import QUEUE, SKU, ApiError, error_body, invalid, is_int

MAX_BODY = 64 * 1024
ID = re.compile(r"[0-9]{1,19}")  # psycopg sends one over 2**63-1 as numeric: no row
QUOTE_TIMEOUT = 1.5  # each phase of the call; the quote is one short answer, so under 2 s in all
COLUMNS = "id, sku, quantity, unit_price_cents, total_cents, status"
SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    id bigserial PRIMARY KEY,
    sku text NOT NULL,
    quantity integer NOT NULL,
    unit_price_cents bigint NOT NULL,
    total_cents bigint NOT NULL,
    status text NOT NULL DEFAULT 'pending',
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS orders_sku ON orders (sku, id);
"""

pool = ConnectionPool(os.environ["DATABASE_URL"], kwargs={"row_factory": dict_row}, open=True)
redis = Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)
pricing = httpx.Client(
    base_url=os.environ["PRICING_URL"], timeout=QUOTE_TIMEOUT,
    limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
)  # fmt: skip


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    with pool.connection() as conn:  # this process alone creates the orders table
        conn.execute(SCHEMA)
    yield


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


@app.exception_handler(ApiError)
async def api_error(_: Request, ex: ApiError) -> JSONResponse:
    return error_body(ex.status, ex.code, ex.message)


@app.exception_handler(StarletteHTTPException)
async def http_error(_: Request, ex: StarletteHTTPException) -> JSONResponse:
    # the router's own answers: an unknown path (404) or a method the path lacks (405)
    code = "not_found" if ex.status_code == 404 else "method_not_allowed"
    return error_body(ex.status_code, code, str(ex.detail))


async def read_json(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, "payload_too_large", "the body is over 64 KiB")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise ApiError(413, "payload_too_large", "the body is over 64 KiB")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "unsupported_media_type", "send application/json")
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as ex:  # UnicodeDecodeError is a ValueError
        raise invalid("the body is not valid JSON") from ex


def validate(body: Any) -> tuple[str, int]:
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    sku, quantity = body.get("sku"), body.get("quantity")
    if not isinstance(sku, str) or not SKU.fullmatch(sku):
        raise invalid("sku: 1 to 64 letters, digits, - or _")
    if not is_int(quantity, 1, 1000):
        raise invalid("quantity: an integer from 1 to 1000")
    return sku, quantity


def quote(sku: str, quantity: int) -> dict[str, Any]:
    """The pricing service's quote; 422 for an unknown sku, 503 when it cannot answer."""
    try:
        answer = pricing.get("/quote", params={"sku": sku, "quantity": quantity})
        if answer.status_code == 404:
            raise ApiError(422, "unknown_sku", "no product has that sku")
        answer.raise_for_status()  # any other 4xx or 5xx
        priced = answer.json()
        return {"unit": int(priced["unit_price_cents"]), "total": int(priced["total_cents"])}
    except (httpx.HTTPError, ValueError, KeyError, TypeError) as ex:
        raise ApiError(503, "pricing_unavailable", "the pricing service could not price it") from ex


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/orders", status_code=201)
async def create_order(request: Request) -> dict[str, Any]:
    sku, quantity = validate(await read_json(request))
    return await run_in_threadpool(store_order, sku, quantity)


def store_order(sku: str, quantity: int) -> dict[str, Any]:
    priced = quote(sku, quantity)
    with pool.connection() as conn:
        order = conn.execute(
            f"INSERT INTO orders (sku, quantity, unit_price_cents, total_cents) "
            f"VALUES (%s, %s, %s, %s) RETURNING {COLUMNS}",
            (sku, quantity, priced["unit"], priced["total"]),
        ).fetchone()
    redis.lpush(QUEUE, json.dumps({"order_id": order["id"]}))
    return order


@app.get("/v1/orders")
def list_orders(sku: str | None = None) -> dict[str, Any]:
    if sku is None or not SKU.fullmatch(sku):
        raise invalid("sku: 1 to 64 letters, digits, - or _ is required")
    with pool.connection() as conn:
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM orders WHERE sku = %s ORDER BY id LIMIT 100", (sku,)
        ).fetchall()
    return {"items": rows}


@app.get("/v1/orders/{order_id}")
def get_order(order_id: str) -> dict[str, Any]:
    if not ID.fullmatch(order_id):
        raise ApiError(404, "not_found", "no such order")
    with pool.connection() as conn:
        order = conn.execute(
            f"SELECT {COLUMNS} FROM orders WHERE id = %s", (int(order_id),)
        ).fetchone()
    if order is None:
        raise ApiError(404, "not_found", "no such order")
    return order
