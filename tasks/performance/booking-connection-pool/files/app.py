"""Room bookings API: the HTTP layer (routes, validation, errors, authentication)."""

from __future__ import annotations

import hmac
import os
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictStr, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

import bookings

MAX_ROOM_ID = 2**31 - 1
MAX_BOOKING_ID = 2**63 - 1
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
LONGEST_WINDOW = timedelta(days=31)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATUS_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
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


def instant(value: str) -> datetime:
    """An RFC 3339 timestamp with a UTC offset, from 2000 up to (not including) 2100."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("must be an RFC 3339 timestamp with a UTC offset") from None
    if moment.tzinfo is None:
        raise ValueError("must carry a UTC offset (Z or +hh:mm)")
    if moment < EARLIEST or moment >= LATEST:
        raise ValueError("must be from 2000-01-01T00:00:00Z up to 2100-01-01T00:00:00Z")
    return moment


def no_nul(value: str) -> str:
    """PostgreSQL text cannot hold NUL characters."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


class BookingCreate(BaseModel):
    """Body of POST /v1/rooms/{room_id}/bookings."""

    model_config = ConfigDict(extra="ignore")

    title: StrictStr = Field(min_length=1, max_length=200)
    booked_by: StrictStr = Field(min_length=1, max_length=100)
    starts_at: StrictStr
    ends_at: StrictStr

    _text = field_validator("title", "booked_by")(no_nul)


def parse_id(raw: str, largest: int, what: str) -> int:
    """An id from the path; anything that is not one names nothing."""
    # ASCII digits only ("²" is a digit to str.isdigit), and few enough for int() to read
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19:
        raise ApiError(404, "not_found", f"{what} not found")
    value = int(raw)
    if value < 1 or value > largest:
        raise ApiError(404, "not_found", f"{what} not found")
    return value


def parse_instant(value: str, name: str) -> datetime:
    try:
        return instant(value)
    except ValueError as ex:
        raise ApiError(422, "validation_error", f"{name}: {ex}") from None


app = FastAPI(title="Room bookings API")


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
        parts.append(f"{loc}: {err.get('msg', 'invalid value')}")
    return error_response(422, "validation_error", "; ".join(parts))


@app.exception_handler(StarletteHTTPException)
async def http_error_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Unknown routes, wrong methods and undecodable bodies get the shared body too."""
    if exc.status_code == 400:
        return error_response(422, "validation_error", str(exc.detail))
    code = STATUS_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/v1/rooms/{room_id}")
def get_room(room_id: str) -> dict[str, Any]:
    room = bookings.get_room(parse_id(room_id, MAX_ROOM_ID, "room"))
    if room is None:
        raise ApiError(404, "not_found", "room not found")
    return room


@app.get("/v1/rooms/{room_id}/bookings")
def list_bookings(
    room_id: str,
    start: Annotated[str, Query(alias="from")],
    end: Annotated[str, Query(alias="to")],
) -> dict[str, Any]:
    """The room's bookings that overlap [from, to), by start time."""
    window_start = parse_instant(no_nul_query(start), "from")
    window_end = parse_instant(no_nul_query(end), "to")
    if window_end <= window_start:
        raise ApiError(422, "validation_error", "to must be after from")
    if window_end - window_start > LONGEST_WINDOW:
        raise ApiError(422, "validation_error", "the window may span at most 31 days")
    items = bookings.list_bookings(
        parse_id(room_id, MAX_ROOM_ID, "room"), window_start, window_end
    )
    if items is None:
        raise ApiError(404, "not_found", "room not found")
    return {"items": items}


def no_nul_query(value: str) -> str:
    if "\x00" in value:
        raise ApiError(422, "validation_error", "a query value must not contain NUL characters")
    return value


@app.post("/v1/rooms/{room_id}/bookings", status_code=201)
def create_booking(room_id: str, body: BookingCreate) -> dict[str, Any]:
    starts_at = parse_instant(body.starts_at, "starts_at")
    ends_at = parse_instant(body.ends_at, "ends_at")
    if ends_at <= starts_at:
        raise ApiError(422, "validation_error", "ends_at must be after starts_at")
    outcome = bookings.create_booking(
        parse_id(room_id, MAX_ROOM_ID, "room"), body.title, body.booked_by, starts_at, ends_at
    )
    if outcome == "no room":
        raise ApiError(404, "not_found", "room not found")
    if outcome == "overlap":
        raise ApiError(409, "conflict", "the room is already booked for part of that time")
    return outcome


@app.get("/v1/bookings/{booking_id}")
def get_booking(booking_id: str) -> dict[str, Any]:
    booking = bookings.get_booking(parse_id(booking_id, MAX_BOOKING_ID, "booking"))
    if booking is None:
        raise ApiError(404, "not_found", "booking not found")
    return booking


@app.delete("/v1/bookings/{booking_id}", status_code=204)
def cancel_booking(booking_id: str) -> Response:
    if not bookings.cancel_booking(parse_id(booking_id, MAX_BOOKING_ID, "booking")):
        raise ApiError(404, "not_found", "booking not found")
    return Response(status_code=204)
