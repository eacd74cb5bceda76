"""Order payments on Flask + gunicorn: orders paid once through the provider."""

from __future__ import annotations

import hmac
import json
import os
import secrets
from typing import Any

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

import charges
import store

SECRET = os.environ["APP_SECRET"].encode()
LIMIT = 1024 * 1024
BIGGEST_ID = 9223372036854775807
COLUMNS = "id, amount, currency, status, charge_id, payment_key"

app = Flask(__name__)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def reply(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@app.errorhandler(Refused)
def on_refused(ex: Refused) -> Response:
    return reply({"error": {"code": ex.code, "message": ex.message}}, ex.status)


@app.errorhandler(HTTPException)
def on_http(ex: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    status = ex.code or 500
    return reply({"error": {"code": code.get(status, "error"), "message": ex.name}}, status)


@app.before_request
def check_secret() -> None:
    if not request.path.startswith("/v1/"):
        return
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), SECRET):
        raise Refused(401, "unauthorized", "missing or wrong bearer secret")


def order_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= BIGGEST_ID:
        raise Refused(404, "not_found", "order not found")
    return int(raw)


def too_large() -> Refused:
    # read what the client still sends (up to 16 MiB) so that it hears the answer
    for _ in range(256):
        if not request.stream.read(65536):
            break
    return Refused(413, "payload_too_large", "bodies are limited to 1 MiB")


def read_body() -> Any:
    length = request.content_length
    if length is not None and length > LIMIT:
        raise too_large()
    raw = request.stream.read(LIMIT + 1)
    if len(raw) > LIMIT:
        raise too_large()
    if request.mimetype != "application/json":
        raise Refused(415, "unsupported_media_type", "Content-Type must be application/json")
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as ex:
        raise Refused(422, "validation_error", "malformed JSON") from ex


def new_order_fields(body: Any) -> tuple[int, str]:
    if not isinstance(body, dict):
        raise Refused(422, "validation_error", "expected a JSON object")
    amount, currency = body.get("amount"), body.get("currency")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= 10**8:
        raise Refused(422, "validation_error", "amount must be an integer in 1..100000000")
    if not (isinstance(currency, str) and len(currency) == 3 and currency.isascii()
            and currency.isalpha() and currency.isupper()):  # fmt: skip
        raise Refused(422, "validation_error", "currency must be 3 uppercase letters")
    return amount, currency


@app.get("/health")
def health() -> Response:
    return reply({"status": "ok"})


@app.post("/v1/orders")
def create() -> Response:
    amount, currency = new_order_fields(read_body())
    with store.pool.connection() as conn:
        row = conn.execute(
            f"INSERT INTO orders (amount, currency, payment_key) VALUES (%s, %s, %s) "
            f"RETURNING {COLUMNS}",
            (amount, currency, secrets.token_urlsafe(24)),
        ).fetchone()
    return reply(row, 201)


@app.get("/v1/orders/<raw_id>")
def show(raw_id: str) -> Response:
    wanted = order_id(raw_id)
    with store.pool.connection() as conn:
        row = conn.execute(f"SELECT {COLUMNS} FROM orders WHERE id = %s", (wanted,)).fetchone()
    if row is None:
        raise Refused(404, "not_found", "order not found")
    return reply(row)


@app.post("/v1/orders/<raw_id>/pay")
def pay(raw_id: str) -> Response:
    wanted = order_id(raw_id)
    with store.pool.connection() as conn:
        # a transaction-scoped advisory lock per order: its pay requests take turns
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (wanted,))
        row = conn.execute(f"SELECT {COLUMNS} FROM orders WHERE id = %s", (wanted,)).fetchone()
        if row is None:
            raise Refused(404, "not_found", "order not found")
        if row["status"] == "paid":
            raise Refused(409, "already_paid", "this order has been paid")
        try:
            charge_id = charges.charge(wanted, row["amount"], row["currency"], row["payment_key"])
        except charges.ChargeFailed as ex:
            raise Refused(502, "payment_failed", str(ex)) from ex
        row = conn.execute(
            f"UPDATE orders SET status = 'paid', charge_id = %s WHERE id = %s "
            f"RETURNING {COLUMNS}",
            (charge_id, wanted),
        ).fetchone()
    return reply(row)
