"""The customers API: routes, bearer authentication and the connection pool's lifetime."""

import hmac
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response

from customers_api import store
from customers_api.db import pool
from customers_api.errors import ApiError, error_response, install_error_handlers
from customers_api.schemas import CustomerIn, NewAddressIn

MAX_ID = 2**63 - 1


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Serve only once the pool has connections; the schema is alembic's (start.sh)."""
    pool.open(wait=True)
    yield
    pool.close()


app = FastAPI(title="Customers API", lifespan=lifespan)
install_error_handlers(app)


@app.middleware("http")
async def require_bearer_token(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Every route but /health needs `Authorization: Bearer <APP_SECRET>`, checked first."""
    if request.url.path != "/health":
        secret = os.environ.get("APP_SECRET", "")
        given = request.headers.get("authorization", "")
        if not secret or not hmac.compare_digest(given.encode(), f"Bearer {secret}".encode()):
            return error_response(401, "unauthorized", "missing or wrong bearer token")
    return await call_next(request)


def parse_id(raw: str) -> int:
    """A path id; anything that cannot name a row is 404, like an id that names none."""
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID:
        raise ApiError(404, "not_found", "no such customer")
    return int(raw)


@app.get("/health")
def health() -> dict[str, str]:
    """Ready to serve."""
    return {"status": "ok"}


@app.post("/v1/customers", status_code=201)
def create_customer(body: CustomerIn) -> dict[str, Any]:
    """Create a customer; its address, when given, is its primary one."""
    try:
        with pool.connection() as conn:
            return store.insert_customer(conn, body)
    except store.EmailTaken as exc:
        raise ApiError(409, "conflict", "another customer has this email") from exc


@app.get("/v1/customers")
def list_customers(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Customers by id ascending, one page at a time."""
    with pool.connection() as conn:
        # an offset past any row finds none; bigger ones would not fit PostgreSQL's bigint
        items, total = store.customer_page(conn, limit, min(offset, MAX_ID))
    return {"items": items, "total": total}


@app.get("/v1/customers/{customer_id}")
def get_customer(customer_id: str) -> dict[str, Any]:
    """One customer, with its primary address."""
    with pool.connection() as conn:
        customer = store.find_customer(conn, parse_id(customer_id))
    if customer is None:
        raise ApiError(404, "not_found", "no such customer")
    return customer


@app.get("/v1/customers/{customer_id}/addresses")
def list_addresses(customer_id: str) -> dict[str, Any]:
    """Every address of one customer, by id."""
    try:
        with pool.connection() as conn:
            return {"items": store.customer_addresses(conn, parse_id(customer_id))}
    except store.NoSuchCustomer as exc:
        raise ApiError(404, "not_found", "no such customer") from exc


@app.post("/v1/customers/{customer_id}/addresses", status_code=201)
def add_address(customer_id: str, body: NewAddressIn) -> dict[str, Any]:
    """Add an address to a customer, primary when asked or when it is the first."""
    try:
        with pool.connection() as conn:
            return store.add_address(conn, parse_id(customer_id), body)
    except store.NoSuchCustomer as exc:
        raise ApiError(404, "not_found", "no such customer") from exc
