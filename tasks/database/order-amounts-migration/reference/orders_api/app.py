"""The orders API: routes, bearer authentication and the connection pool's lifetime."""

import hmac
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response

from orders_api import store
from orders_api.db import pool
from orders_api.errors import ApiError, error_response, install_error_handlers
from orders_api.schemas import OrderIn

MAX_ID = 2**63 - 1


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """Serve only once the pool has connections; the schema is alembic's (start.sh)."""
    pool.open(wait=True)
    yield
    pool.close()


app = FastAPI(title="Orders API", lifespan=lifespan)
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
        raise ApiError(404, "not_found", "no such order")
    return int(raw)


@app.get("/health")
def health() -> dict[str, str]:
    """Ready to serve."""
    return {"status": "ok"}


@app.post("/v1/orders", status_code=201)
def create_order(body: OrderIn) -> dict[str, Any]:
    """Create an order of a whole number of cents."""
    with pool.connection() as conn:
        return store.insert_order(conn, body)


@app.get("/v1/orders")
def list_orders(
    customer_name: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Orders by id ascending, one page at a time, optionally of one customer name."""
    if customer_name is not None and "\x00" in customer_name:
        return {"items": [], "total": 0}  # no stored name holds a NUL character
    with pool.connection() as conn:
        # an offset past any row finds none; bigger ones would not fit PostgreSQL's bigint
        items, total = store.order_page(conn, customer_name, limit, min(offset, MAX_ID))
    return {"items": items, "total": total}


@app.get("/v1/orders/{order_id}")
def get_order(order_id: str) -> dict[str, Any]:
    """One order."""
    with pool.connection() as conn:
        order = store.find_order(conn, parse_id(order_id))
    if order is None:
        raise ApiError(404, "not_found", "no such order")
    return order
