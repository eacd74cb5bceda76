"""Inventory items API: plain Starlette with hand-written validation and raw SQL via asyncpg.

Style: no FastAPI and no ORM. Resources are Starlette ``HTTPEndpoint`` classes, a pure
ASGI middleware guards the writes, every error (including the framework's own 404/405) is
rendered as ``{"error": {"code", "message"}}``; ``migrate.py`` creates the schema from start.sh.
"""

import hmac
import logging
from contextlib import asynccontextmanager

import asyncpg
from starlette.applications import Starlette
from starlette.convertors import Convertor, register_url_convertor
from starlette.endpoints import HTTPEndpoint
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

import store
from settings import app_secret, database_dsn
from validation import ValidationError, item_changes, list_query, parse_json_object

MAX_BODY_BYTES = 64 * 1024
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATUS_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    422: "validation_error",
}
log = logging.getLogger("inventory")


class ItemIdConvertor(Convertor[int]):
    """A non-negative decimal id; longer than 19 digits it cannot name a row, so no route."""

    regex = "[0-9]{1,19}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)


register_url_convertor("item_id", ItemIdConvertor())


class ApiError(Exception):
    """An error answered to the client with the documented error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    code = STATUS_CODES.get(status, "http_error")
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(body, status_code=status, headers=headers)


def item_not_found() -> ApiError:
    return ApiError(404, "no item with that id")


def token_is_valid(header: bytes) -> bool:
    scheme, _, token = header.partition(b" ")
    secret = app_secret()
    if scheme.lower() != b"bearer" or not secret:
        return False
    return hmac.compare_digest(token, secret)


class RequireTokenForWrites:
    """Refuse every non-read request under /v1 that lacks the bearer token, before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self._is_unauthorized_write(scope):
            response = error_response(401, "a valid bearer token is required")
            response.headers["WWW-Authenticate"] = "Bearer"
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _is_unauthorized_write(scope: Scope) -> bool:
        path = scope["path"]
        if scope["method"] in READ_METHODS or not (path == "/v1" or path.startswith("/v1/")):
            return False
        return not token_is_valid(dict(scope["headers"]).get(b"authorization", b""))


async def read_json_object(request: Request) -> dict:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"the body must not exceed {MAX_BODY_BYTES} bytes")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            raise ApiError(413, f"the body must not exceed {MAX_BODY_BYTES} bytes")
    return parse_json_object(bytes(raw))


def pool_of(request: Request) -> asyncpg.Pool:
    return request.app.state.pool


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


class ItemCollection(HTTPEndpoint):
    """``/v1/items``: list (public) and create (token required)."""

    async def get(self, request: Request) -> JSONResponse:
        query = list_query(request.query_params)
        rows, total = await store.page(pool_of(request), query)
        items = [store.to_json(row) for row in rows]
        return JSONResponse(
            {"items": items, "total": total, "limit": query.limit, "offset": query.offset}
        )

    async def post(self, request: Request) -> JSONResponse:
        fields = item_changes(await read_json_object(request), creating=True)
        try:
            row = await store.create(pool_of(request), fields)
        except store.NameTaken as exc:
            raise ApiError(409, "an item with that name already exists") from exc
        location = f"/v1/items/{row['id']}"
        return JSONResponse(store.to_json(row), status_code=201, headers={"Location": location})


class ItemResource(HTTPEndpoint):
    """``/v1/items/{id}``: read (public), partial update and delete (token required)."""

    async def get(self, request: Request) -> JSONResponse:
        row = await store.fetch(pool_of(request), request.path_params["item_id"])
        if row is None:
            raise item_not_found()
        return JSONResponse(store.to_json(row))

    async def patch(self, request: Request) -> JSONResponse:
        changes = item_changes(await read_json_object(request), creating=False)
        try:
            row = await store.update(pool_of(request), request.path_params["item_id"], changes)
        except store.NameTaken as exc:
            raise ApiError(409, "another item already has that name") from exc
        if row is None:
            raise item_not_found()
        return JSONResponse(store.to_json(row))

    async def delete(self, request: Request) -> Response:
        if not await store.delete(pool_of(request), request.path_params["item_id"]):
            raise item_not_found()
        return Response(status_code=204)


async def on_api_error(request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.message)


async def on_validation_error(request: Request, exc: ValidationError) -> JSONResponse:
    return error_response(422, str(exc))


async def on_http_exception(request: Request, exc: HTTPException) -> Response:
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return error_response(exc.status_code, exc.detail, exc.headers)


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse(
        {"error": {"code": "internal_error", "message": "unexpected server error"}},
        status_code=500,
    )


@asynccontextmanager
async def lifespan(app: Starlette):
    app.state.pool = await asyncpg.create_pool(database_dsn(), min_size=2, max_size=10)
    try:
        yield
    finally:
        await app.state.pool.close()


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/v1/items", ItemCollection),
    Route("/v1/items/{item_id:item_id}", ItemResource),
]
app = Starlette(
    routes=routes,
    lifespan=lifespan,
    exception_handlers={
        ApiError: on_api_error,
        ValidationError: on_validation_error,
        HTTPException: on_http_exception,
        Exception: on_unexpected,
    },
    middleware=[Middleware(RequireTokenForWrites)],
)
