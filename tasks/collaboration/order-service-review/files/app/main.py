"""The HTTP API of the order service."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel, Field

from app import catalog, orders
from app.auth import current_customer, require_admin
from app.db import create_schema, get_conn, pool


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    pool.open(wait=True)
    create_schema()
    yield
    pool.close()


app = FastAPI(title="Order service", lifespan=lifespan)


class ProductIn(BaseModel):
    sku: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    price_cents: int = Field(gt=0, le=10_000_000)
    stock: int = Field(0, ge=0, le=1_000_000)


class Restock(BaseModel):
    quantity: int = Field(gt=0, le=1_000_000)


class LineIn(BaseModel):
    product_id: int = Field(gt=0)
    quantity: int = Field(gt=0, le=1000)


class OrderIn(BaseModel):
    lines: list[LineIn] = Field(min_length=1, max_length=50)


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.get("/products")
def list_products(
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0),
    conn: psycopg.Connection = Depends(get_conn),
) -> list[dict]:
    return catalog.list_products(conn, limit, offset)


@app.post("/products", status_code=201, dependencies=[Depends(require_admin)])
def create_product(body: ProductIn, conn: psycopg.Connection = Depends(get_conn)) -> dict:
    try:
        return catalog.create_product(conn, body.sku, body.name, body.price_cents, body.stock)
    except catalog.DuplicateSku:
        raise HTTPException(409, f"a product with SKU {body.sku!r} already exists") from None


@app.post("/products/{product_id}/restock", dependencies=[Depends(require_admin)])
def restock(
    product_id: int, body: Restock, conn: psycopg.Connection = Depends(get_conn)
) -> dict:
    product = catalog.restock(conn, product_id, body.quantity)
    if product is None:
        raise HTTPException(404, "no such product")
    return product


@app.post("/orders", status_code=201)
def place_order(
    body: OrderIn,
    customer_id: int = Depends(current_customer),
    conn: psycopg.Connection = Depends(get_conn),
) -> dict:
    lines = [orders.LineRequest(line.product_id, line.quantity) for line in body.lines]
    try:
        return orders.place_order(conn, customer_id, lines)
    except orders.OutOfStock as exc:
        raise HTTPException(409, str(exc)) from None


@app.get("/orders")
def list_orders(
    limit: int = Query(20, ge=1, le=100),
    offset: int = Query(0, ge=0),
    customer_id: int = Depends(current_customer),
    conn: psycopg.Connection = Depends(get_conn),
) -> list[dict]:
    return orders.list_orders(conn, customer_id, limit, offset)


@app.get("/orders/{order_id}")
def get_order(
    order_id: int,
    customer_id: int = Depends(current_customer),
    conn: psycopg.Connection = Depends(get_conn),
) -> dict:
    order = orders.get_order(conn, customer_id, order_id)
    if order is None:
        raise HTTPException(404, "no such order")
    return order
