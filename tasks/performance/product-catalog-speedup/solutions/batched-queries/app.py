"""Product catalogue API: the HTTP layer (routes, validation, errors, authentication)."""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

import catalog

MAX_ID = 2**63 - 1
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATUS_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    422: "validation_error",
}


class ApiError(Exception):
    """An error answered with the shared JSON error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    """The shared JSON error body."""
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def reject_nul(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters."""
    if value is not None and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class ReviewCreate(BaseModel):
    """Body of POST /v1/products/{id}/reviews."""

    model_config = ConfigDict(extra="ignore")

    # strict: a boolean or a numeric string is not a rating
    rating: StrictInt = Field(ge=1, le=5)
    author: StrictStr = Field(min_length=1, max_length=100)
    body: StrictStr = Field(min_length=1, max_length=2000)

    _no_nul = field_validator("author", "body")(reject_nul)


def parse_id(raw: str) -> int:
    """A product id from the path; anything that is not one names no product."""
    if not raw.isascii() or not raw.isdigit():
        raise ApiError(404, "not_found", "product not found")
    product_id = int(raw)
    if product_id < 1 or product_id > MAX_ID:
        raise ApiError(404, "not_found", "product not found")
    return product_id


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """The database already holds the catalogue: only the pool is opened."""
    catalog.open_pool()
    try:
        yield
    finally:
        catalog.close_pool()


app = FastAPI(title="Product catalogue API", lifespan=lifespan)


@app.middleware("http")
async def require_bearer_for_writes(request: Request, call_next: Any) -> Response:
    """Refuse writes under /v1 without the shared bearer secret."""
    if request.method in WRITE_METHODS and request.url.path.startswith("/v1/"):
        secret = os.environ.get("APP_SECRET", "")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        valid = (
            bool(secret)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), secret.encode())
        )
        if not valid:
            response = error_response(401, "unauthorized", "missing or invalid bearer token")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
    response: Response = await call_next(request)
    return response


@app.exception_handler(ApiError)
async def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message)


@app.exception_handler(RequestValidationError)
async def validation_error_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 validation_error instead of FastAPI's own body."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        msg = err.get("msg", "invalid value")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return error_response(422, "validation_error", "; ".join(parts) or "invalid request")


@app.exception_handler(StarletteHTTPException)
async def http_error_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Unknown routes, wrong methods and undecodable bodies get the shared body too."""
    if exc.status_code == 400:
        # a body the framework cannot even decode is an invalid body
        return error_response(422, "validation_error", str(exc.detail))
    code = STATUS_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/products")
def list_products(
    category: Annotated[int | None, Query()] = None,
    sku: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """One page of the products, filtered by category and SKU, by id."""
    if sku is not None and "\x00" in sku:
        raise ApiError(422, "validation_error", "sku must not contain NUL characters")
    # an offset past every row skips them all; PostgreSQL's OFFSET is a bigint
    total, items = catalog.list_products(category, sku, limit, min(offset, MAX_ID))
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@app.get("/v1/products/{product_id}")
def get_product(product_id: str) -> dict[str, Any]:
    product = catalog.get_product(parse_id(product_id))
    if product is None:
        raise ApiError(404, "not_found", "product not found")
    return product


@app.get("/v1/products/{product_id}/reviews")
def list_reviews(
    product_id: str,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """One page of a product's reviews, newest first."""
    page = catalog.list_reviews(parse_id(product_id), limit, min(offset, MAX_ID))
    if page is None:
        raise ApiError(404, "not_found", "product not found")
    total, items = page
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@app.post("/v1/products/{product_id}/reviews", status_code=201)
def add_review(product_id: str, review: ReviewCreate) -> dict[str, Any]:
    created = catalog.add_review(parse_id(product_id), review.rating, review.author, review.body)
    if created is None:
        raise ApiError(404, "not_found", "product not found")
    return created
