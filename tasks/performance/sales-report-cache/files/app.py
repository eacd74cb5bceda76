"""Store sales reports API: the HTTP layer (routes, validation, errors, authentication)."""

from __future__ import annotations

import hmac
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

import reports
from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

MAX_INT = 2**31 - 1  # store and product ids are PostgreSQL integers
FIRST_YEAR, LAST_YEAR = 2000, 2100
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


class SaleCreate(BaseModel):
    """Body of POST /v1/stores/{id}/sales."""

    model_config = ConfigDict(extra="ignore")

    # strict: a boolean, 1.0 or a numeric string is not an integer
    product_id: StrictInt = Field(ge=1)
    quantity: StrictInt = Field(ge=1, le=1000)
    unit_price_cents: StrictInt = Field(ge=0, le=10_000_000)
    sold_at: AwareDatetime

    @field_validator("sold_at", mode="before")
    @classmethod
    def text_only(cls, value: Any) -> Any:
        """A timestamp is written as text: a number is not one."""
        if not isinstance(value, str):
            raise ValueError("must be an ISO 8601 timestamp with a UTC offset")
        return value

    @field_validator("sold_at")
    @classmethod
    def year_in_range(cls, value: datetime) -> datetime:
        if not FIRST_YEAR <= value.astimezone(UTC).year <= LAST_YEAR:
            raise ValueError(f"must fall in the years {FIRST_YEAR} to {LAST_YEAR} (UTC)")
        return value


def parse_id(raw: str) -> int:
    """A store id from the path; anything that is not one names no store."""
    if not raw.isascii() or not raw.isdigit():
        raise ApiError(404, "not_found", "store not found")
    store_id = int(raw)
    if store_id < 1 or store_id > MAX_INT:
        raise ApiError(404, "not_found", "store not found")
    return store_id


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """The database already holds the stores and their sales: only the pool is opened."""
    reports.open_pool()
    try:
        yield
    finally:
        reports.close_pool()


app = FastAPI(title="Store sales reports API", lifespan=lifespan)


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


def parse_year(raw: str) -> int:
    """The report's year: digits only (2025.0 is not a year), from 2000 to 2100."""
    if not raw.isascii() or not raw.isdigit() or not FIRST_YEAR <= int(raw) <= LAST_YEAR:
        message = f"year: an integer from {FIRST_YEAR} to {LAST_YEAR}"
        raise ApiError(422, "validation_error", message)
    return int(raw)


@app.get("/v1/stores/{store_id}/report")
def get_report(store_id: str, year: Annotated[str, Query()]) -> dict[str, Any]:
    """A store's sales report of one year."""
    found = reports.report(parse_id(store_id), parse_year(year))
    if found is None:
        raise ApiError(404, "not_found", "store not found")
    return found


@app.post("/v1/stores/{store_id}/sales", status_code=201)
def add_sale(store_id: str, sale: SaleCreate) -> dict[str, Any]:
    """Record a sale of a store."""
    store = parse_id(store_id)
    if sale.product_id > MAX_INT:
        raise ApiError(422, "validation_error", "product_id: no such product")
    try:
        created = reports.record_sale(
            store, sale.product_id, sale.quantity, sale.unit_price_cents, sale.sold_at
        )
    except reports.UnknownProduct:
        raise ApiError(422, "validation_error", "product_id: no such product") from None
    if created is None:
        raise ApiError(404, "not_found", "store not found")
    return created
