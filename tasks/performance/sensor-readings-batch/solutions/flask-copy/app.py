"""Sensor readings API on Flask: validation by hand, batches through COPY into a temporary
table and one statement that stores them and keeps each sensor's figures."""

from __future__ import annotations

import hmac
import json
import math
import os
import re
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

import db

MAX_ID = 2**63 - 1
MAX_BATCH = 500
MAX_VALUE = 1_000_000
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")
CODES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
         413: "payload_too_large", 422: "validation_error"}  # fmt: skip

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024


class Invalid(Exception):
    """A request answered 422 validation_error."""


def error(status: int, message: str) -> tuple[Response, int]:
    code = CODES.get(status, "http_error")
    return jsonify({"error": {"code": code, "message": message}}), status


@app.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[Response, int]:
    return error(exc.code or 500, exc.description or exc.name)


@app.errorhandler(Invalid)
def invalid(exc: Invalid) -> tuple[Response, int]:
    return error(422, str(exc))


@app.before_request
def require_bearer_for_writes() -> tuple[Response, int] | None:
    if request.method in ("POST", "PUT", "PATCH", "DELETE") and request.path.startswith("/v1/"):
        secret = os.environ.get("APP_SECRET", "")
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if not (secret and scheme.lower() == "bearer"
                and hmac.compare_digest(token.strip().encode(), secret.encode())):  # fmt: skip
            response, status = error(401, "missing or invalid bearer token")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response, status
    return None


def path_id(raw: str) -> int | None:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        return None
    return int(raw)


def query_int(name: str, default: int, low: int, high: int | None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(f"{name} must be an integer") from None
    if value < low or (high is not None and value > high):
        raise Invalid(f"{name} is out of range")
    return value


@app.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


@app.get("/v1/sensors/<raw_id>")
def get_sensor(raw_id: str) -> Any:
    sensor_id = path_id(raw_id)
    sensor = None if sensor_id is None else db.get_sensor(sensor_id)
    return jsonify(sensor) if sensor else error(404, "sensor not found")


@app.get("/v1/sensors/<raw_id>/readings")
def list_readings(raw_id: str) -> Any:
    limit = query_int("limit", 100, 1, 1000)
    offset = query_int("offset", 0, 0, None)
    sensor_id = path_id(raw_id)
    page = None if sensor_id is None else db.list_readings(sensor_id, limit, min(offset, MAX_ID))
    if page is None:
        return error(404, "sensor not found")
    total, items = page
    return jsonify({"items": items, "total": total, "limit": limit, "offset": offset})


def text(value: Any, where: str, longest: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= longest:
        raise Invalid(f"{where} must be a string of 1 to {longest} characters")
    if "\x00" in value:
        raise Invalid(f"{where} must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise Invalid(f"{where} must be valid Unicode") from None
    return value


def instant(value: Any, where: str) -> datetime:
    if not isinstance(value, str) or not TIMESTAMP.fullmatch(value):
        raise Invalid(f"{where} must be an RFC 3339 date-time with a UTC offset")
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise Invalid(f"{where} is not a valid date-time") from None
    if not EARLIEST <= at < LATEST:
        raise Invalid(f"{where} must be from 2000 up to 2100")
    return at


def number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Invalid(f"{where} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise Invalid(f"{where} must be finite")
    if not -MAX_VALUE <= value <= MAX_VALUE:
        raise Invalid(f"{where} must be from -{MAX_VALUE} to {MAX_VALUE}")
    return float(value)


def parse_batch() -> tuple[str, list[tuple[int, datetime, float]]]:
    try:
        body = json.loads(request.get_data().decode("utf-8"))
    except (ValueError, RecursionError):  # deep nesting too
        raise Invalid("the body is not valid UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise Invalid("the body must be an object")
    gateway = text(body.get("gateway"), "gateway", 64)
    readings = body.get("readings")
    if not isinstance(readings, list) or not 1 <= len(readings) <= MAX_BATCH:
        raise Invalid(f"readings must be a list of 1 to {MAX_BATCH} readings")
    parsed = []
    for i, item in enumerate(readings):
        if not isinstance(item, dict):
            raise Invalid(f"readings.{i} must be an object")
        sensor_id = item.get("sensor_id")
        if isinstance(sensor_id, bool) or not isinstance(sensor_id, int):
            raise Invalid(f"readings.{i}.sensor_id must be an integer")
        at = instant(item.get("recorded_at"), f"readings.{i}.recorded_at")
        parsed.append((sensor_id, at, number(item.get("value"), f"readings.{i}.value")))
    return gateway, parsed


@app.post("/v1/readings/batch")
def store_batch() -> Any:
    gateway, readings = parse_batch()
    refused = db.store_batch(gateway, readings)
    if isinstance(refused, int):
        raise Invalid(f"readings.{refused}: the sensor takes no readings")
    return jsonify({"ids": refused})
