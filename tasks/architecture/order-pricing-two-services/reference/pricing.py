"""The internal pricing service (FastAPI + psycopg): `python3 pricing.py pricing-service PORT`.

Owns the products table; quotes prices to the orders service; listens on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from common import SKU, ApiError, error_body, invalid, is_int

SCHEMA = """
CREATE TABLE IF NOT EXISTS products (
    sku text PRIMARY KEY,
    unit_price_cents bigint NOT NULL,
    stock bigint NOT NULL
);
INSERT INTO products (sku, unit_price_cents, stock)
VALUES ('WIDGET-1', 250, 1000000), ('GADGET-2', 1299, 1000000)
ON CONFLICT (sku) DO NOTHING;
"""
QUANTITY = re.compile(r"[0-9]{1,4}")
DISCOUNT_FROM = 10

pool = ConnectionPool(os.environ["DATABASE_URL"], kwargs={"row_factory": dict_row}, open=True)


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    with pool.connection() as conn:  # this process alone creates the products table
        conn.execute(SCHEMA)
    yield


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


@app.exception_handler(ApiError)
async def api_error(_: Request, ex: ApiError) -> JSONResponse:
    return error_body(ex.status, ex.code, ex.message)


def total_cents(unit: int, quantity: int) -> int:
    if quantity >= DISCOUNT_FROM:
        return unit * quantity * 9 // 10
    return unit * quantity


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/quote")
def quote(sku: str = "", quantity: str = "") -> dict[str, Any]:
    if not QUANTITY.fullmatch(quantity) or not 1 <= int(quantity) <= 1000:
        raise invalid("quantity: a whole number from 1 to 1000")
    with pool.connection() as conn:
        product = conn.execute(
            "SELECT sku, unit_price_cents FROM products WHERE sku = %s", (sku,)
        ).fetchone()
    if product is None:
        raise ApiError(404, "unknown_sku", "no such product")
    count = int(quantity)
    return {
        "sku": product["sku"], "quantity": count, "unit_price_cents": product["unit_price_cents"],
        "total_cents": total_cents(product["unit_price_cents"], count),
    }  # fmt: skip


@app.put("/prices/{sku:path}")
async def put_price(sku: str, request: Request) -> dict[str, Any]:
    try:
        body = json.loads((await request.body()).decode("utf-8"))
    except (ValueError, RecursionError) as ex:
        raise invalid("the body is not valid JSON") from ex
    if not SKU.fullmatch(sku) or not isinstance(body, dict):
        raise invalid("a sku of 1 to 64 letters, digits, - or _ and a JSON object")
    unit, stock = body.get("unit_price_cents"), body.get("stock")
    if not is_int(unit, 1, 1_000_000) or not is_int(stock, 0, 1_000_000_000):
        raise invalid("unit_price_cents: 1 to 1000000; stock: 0 to 1000000000")
    with pool.connection() as conn:
        return conn.execute(
            "INSERT INTO products (sku, unit_price_cents, stock) VALUES (%s, %s, %s) "
            "ON CONFLICT (sku) DO UPDATE SET unit_price_cents = EXCLUDED.unit_price_cents, "
            "stock = EXCLUDED.stock RETURNING sku, unit_price_cents, stock",
            (sku, unit, stock),
        ).fetchone()


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
                server_header=False)  # fmt: skip
