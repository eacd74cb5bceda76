"""Room bookings API on Flask, with SQLAlchemy's pooled engine (store.py)."""

from __future__ import annotations

import hmac
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

import store

MAX_ROOM_ID = 2**31 - 1
MAX_BOOKING_ID = 2**63 - 1
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
LONGEST_WINDOW = timedelta(days=31)
CODES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 409: "conflict",
         413: "payload_too_large", 422: "validation_error"}  # fmt: skip

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 1 << 20
# no automatic OPTIONS answers: a method a path does not have is a 405, as for any other
app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


def error(status: int, message: str) -> Response:
    return answer({"error": {"code": CODES.get(status, "error"), "message": message}}, status)


@app.errorhandler(Refused)
def refused(exc: Refused) -> Response:
    response = error(exc.status, exc.message)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


@app.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    return error(422 if status == 400 else status, exc.description or exc.name)


@app.before_request
def require_token_for_writes() -> None:
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.path.startswith("/v1/"):
        secret = os.environ.get("APP_SECRET", "")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not (
            secret
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), secret.encode())
        ):
            raise Refused(401, "missing or invalid bearer token")


def path_id(raw: str, largest: int, what: str) -> int:
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19) or not 1 <= int(raw) <= largest:
        raise Refused(404, f"{what} not found")
    return int(raw)


def timestamp(value: Any, name: str) -> datetime:
    if not isinstance(value, str) or "\x00" in value:
        raise Refused(422, f"{name}: must be an RFC 3339 timestamp with a UTC offset")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise Refused(422, f"{name}: must be an RFC 3339 timestamp with a UTC offset") from None
    if moment.tzinfo is None:
        raise Refused(422, f"{name}: must carry a UTC offset")
    if not EARLIEST <= moment < LATEST:
        raise Refused(422, f"{name}: must be from 2000 up to 2100")
    return moment


def text_field(body: dict[str, Any], name: str, longest: int) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not 1 <= len(value) <= longest:
        raise Refused(422, f"{name}: a string of 1 to {longest} characters is required")
    if "\x00" in value:
        raise Refused(422, f"{name}: must not contain NUL characters")
    return value


def json_object() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data().decode("utf-8"))
    except (ValueError, RecursionError):
        raise Refused(422, "the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise Refused(422, "the body must be a JSON object")
    return body


@app.get("/health")
def health() -> Response:
    return answer({"status": "ok"})


@app.get("/v1/rooms/<room_id>")
def get_room(room_id: str) -> Response:
    found = store.room(path_id(room_id, MAX_ROOM_ID, "room"))
    if found is None:
        raise Refused(404, "room not found")
    return answer(found)


@app.get("/v1/rooms/<room_id>/bookings")
def list_bookings(room_id: str) -> Response:
    for name in ("from", "to"):
        if name not in request.args:
            raise Refused(422, f"{name}: required")
    start = timestamp(request.args["from"], "from")
    end = timestamp(request.args["to"], "to")
    if end <= start:
        raise Refused(422, "to must be after from")
    if end - start > LONGEST_WINDOW:
        raise Refused(422, "the window may span at most 31 days")
    items = store.bookings_between(path_id(room_id, MAX_ROOM_ID, "room"), start, end)
    if items is None:
        raise Refused(404, "room not found")
    return answer({"items": items})


@app.post("/v1/rooms/<room_id>/bookings")
def create_booking(room_id: str) -> Response:
    body = json_object()
    fields = {
        "title": text_field(body, "title", 200),
        "booked_by": text_field(body, "booked_by", 100),
        "starts_at": timestamp(body.get("starts_at"), "starts_at"),
        "ends_at": timestamp(body.get("ends_at"), "ends_at"),
    }
    if fields["ends_at"] <= fields["starts_at"]:
        raise Refused(422, "ends_at must be after starts_at")
    outcome = store.book(path_id(room_id, MAX_ROOM_ID, "room"), fields)
    if outcome == "no room":
        raise Refused(404, "room not found")
    if outcome == "overlap":
        raise Refused(409, "the room is already booked for part of that time")
    return answer(outcome, 201)


@app.get("/v1/bookings/<booking_id>")
def get_booking(booking_id: str) -> Response:
    found = store.booking(path_id(booking_id, MAX_BOOKING_ID, "booking"))
    if found is None:
        raise Refused(404, "booking not found")
    return answer(found)


@app.delete("/v1/bookings/<booking_id>")
def cancel_booking(booking_id: str) -> Response:
    if not store.cancel(path_id(booking_id, MAX_BOOKING_ID, "booking")):
        raise Refused(404, "booking not found")
    return Response(status=204)
