"""Orders API: plain Starlette (no FastAPI), raw parameterized SQL through an asyncpg pool.

Style: hand-written request checks (checks.py), SQL in one module (store.py), a pure ASGI
middleware for the bearer token, and every error raised as ApiError and rendered by one handler.
"""

import hmac
import os
from collections.abc import AsyncIterator
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

import checks
import store
from errors import ApiError, error_response, invalid, not_found


class BearerAuth:
    """Answer 401 to any request but /health that lacks `Authorization: Bearer <secret>`."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.expected = f"Bearer {secret}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/health" or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        response = error_response(401, "unauthorized", "missing or wrong bearer token")
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        given = [value for key, value in scope["headers"] if key == b"authorization"]
        return len(given) == 1 and hmac.compare_digest(given[0], self.expected)


def _pool(request: Request) -> asyncpg.Pool:
    return request.state.pool


def _id(request: Request, what: str) -> int:
    value = checks.path_id(request.path_params["id"])
    if value is None:
        raise not_found(what)
    return value


def _found(row: Any, what: str) -> JSONResponse:
    if row is None:
        raise not_found(what)
    return JSONResponse(row)


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def create_customer(request: Request) -> JSONResponse:
    data = checks.parse_object(await request.body())
    email, name = checks.email(data), checks.name(data)
    return JSONResponse(await store.create_customer(_pool(request), email, name), 201)


async def list_customers(request: Request) -> JSONResponse:
    limit, offset = checks.paging(request.query_params)
    return JSONResponse(await store.list_customers(_pool(request), limit, offset))


async def get_customer(request: Request) -> JSONResponse:
    customer_id = _id(request, "customer")
    return _found(await store.get_customer(_pool(request), customer_id), "customer")


async def delete_customer(request: Request) -> Response:
    if not await store.delete_customer(_pool(request), _id(request, "customer")):
        raise not_found("customer")
    return Response(status_code=204)


async def customer_orders(request: Request) -> JSONResponse:
    customer_id = _id(request, "customer")
    return _found(await store.customer_orders(_pool(request), customer_id), "customer")


async def create_product(request: Request) -> JSONResponse:
    data = checks.parse_object(await request.body())
    name, price = checks.name(data), checks.price(data)
    stock = checks.integer(data, "stock", 0, 1_000_000)
    return JSONResponse(await store.create_product(_pool(request), name, price, stock), 201)


async def list_products(request: Request) -> JSONResponse:
    term = request.query_params.get("name", "")
    if len(term) > 200 or not checks.storable(term):
        raise invalid("name must be at most 200 characters of text")
    limit, offset = checks.paging(request.query_params)
    return JSONResponse(await store.search_products(_pool(request), term, limit, offset))


async def get_product(request: Request) -> JSONResponse:
    product_id = _id(request, "product")
    return _found(await store.get_product(_pool(request), product_id), "product")


async def place_order(request: Request) -> JSONResponse:
    customer_id, lines = checks.order(checks.parse_object(await request.body()))
    if customer_id is None:
        raise invalid("the order names an unknown customer")
    known = [(pid, qty) for pid, qty in lines if pid is not None]
    if len(known) != len(lines):
        raise invalid("an order line names an unknown product")
    return JSONResponse(await store.place_order(_pool(request), customer_id, known), 201)


async def get_order(request: Request) -> JSONResponse:
    order_id = _id(request, "order")
    return _found(await store.get_order(_pool(request), order_id), "order")


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
    async with asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=10) as pool:
        yield {"pool": pool}


ROUTES = [
    Route("/health", health, methods=["GET"]),
    Route("/customers", create_customer, methods=["POST"]),
    Route("/customers", list_customers, methods=["GET"]),
    Route("/customers/{id}", get_customer, methods=["GET"]),
    Route("/customers/{id}", delete_customer, methods=["DELETE"]),
    Route("/customers/{id}/orders", customer_orders, methods=["GET"]),
    Route("/products", create_product, methods=["POST"]),
    Route("/products", list_products, methods=["GET"]),
    Route("/products/{id}", get_product, methods=["GET"]),
    Route("/orders", place_order, methods=["POST"]),
    Route("/orders/{id}", get_order, methods=["GET"]),
]

app = Starlette(
    routes=ROUTES,
    middleware=[Middleware(BearerAuth, secret=os.environ.get("APP_SECRET", ""))],
    exception_handlers={ApiError: api_error, HTTPException: http_error, Exception: server_error},
    lifespan=lifespan,
)
app.router.redirect_slashes = False  # "/customers/" names no row: 404, not a redirect
