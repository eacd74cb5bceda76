"""Sensor readings API: the HTTP layer (routes, validation, errors, authentication)."""

from __future__ import annotations

import hmac
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

import store

MAX_ID = 2**63 - 1
MAX_BATCH = 500
MAX_VALUE = 1_000_000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)  # exclusive
# RFC 3339 with a UTC offset, at most microseconds
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
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


def plain_text(value: str) -> str:
    """PostgreSQL text holds neither NUL characters nor lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode") from None
    return value


def timestamp(value: str) -> datetime:
    """An RFC 3339 date-time with a UTC offset, from 2000 up to (not including) 2100."""
    if not TIMESTAMP.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time with a UTC offset")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time with a UTC offset") from None
    if not EARLIEST <= at < LATEST:
        raise ValueError("must be from 2000-01-01T00:00:00Z up to 2100-01-01T00:00:00Z")
    return at


def checked_timestamp(value: str) -> str:
    timestamp(value)
    return value


class ReadingIn(BaseModel):
    """One reading of a batch."""

    model_config = ConfigDict(extra="ignore")

    # strict: 5.0, "5" and true are not sensor ids
    sensor_id: StrictInt
    recorded_at: StrictStr
    value: float = Field(ge=-MAX_VALUE, le=MAX_VALUE, strict=True)

    _timestamp = field_validator("recorded_at")(checked_timestamp)


class BatchIn(BaseModel):
    """Body of POST /v1/readings/batch."""

    model_config = ConfigDict(extra="ignore")

    gateway: StrictStr = Field(min_length=1, max_length=64)
    readings: list[ReadingIn] = Field(min_length=1, max_length=MAX_BATCH)

    _text = field_validator("gateway")(plain_text)


def parse_id(raw: str) -> int:
    """A sensor id from the path; anything that is not one names no sensor."""
    if not raw.isascii() or not raw.isdigit():
        raise ApiError(404, "not_found", "sensor not found")
    sensor_id = int(raw)
    if sensor_id < 1 or sensor_id > MAX_ID:
        raise ApiError(404, "not_found", "sensor not found")
    return sensor_id


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    """The database already holds the sensors and their readings: only the pool is opened."""
    store.open_pool()
    try:
        yield
    finally:
        store.close_pool()


app = FastAPI(title="Sensor readings API", lifespan=lifespan)


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


@app.get("/v1/sensors/{sensor_id}")
def get_sensor(sensor_id: str) -> dict[str, Any]:
    sensor = store.get_sensor(parse_id(sensor_id))
    if sensor is None:
        raise ApiError(404, "not_found", "sensor not found")
    return sensor


@app.get("/v1/sensors/{sensor_id}/readings")
def list_readings(
    sensor_id: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """One page of a sensor's readings, latest first."""
    page = store.list_readings(parse_id(sensor_id), limit, min(offset, MAX_ID))
    if page is None:
        raise ApiError(404, "not_found", "sensor not found")
    total, items = page
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@app.post("/v1/readings/batch")
def store_batch(batch: BatchIn) -> dict[str, Any]:
    """Store a batch of readings, all or nothing; the ids come back in the batch's order."""
    readings = [
        store.Reading(r.sensor_id, datetime.fromisoformat(r.recorded_at), r.value)
        for r in batch.readings
    ]
    try:
        ids = store.store_batch(batch.gateway, readings)
    except store.UnknownSensor as exc:
        raise ApiError(
            422, "validation_error", f"readings.{exc.index}: sensor {exc.sensor_id} takes no readings"
        ) from None
    return {"ids": ids}
