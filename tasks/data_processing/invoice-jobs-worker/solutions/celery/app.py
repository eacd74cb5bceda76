"""Invoice delivery API (Flask, run by gunicorn): stores invoices, sends their Celery tasks."""

from __future__ import annotations

import hmac
import json
import os
import re
import uuid
from typing import Any

from flask import Flask, Response, request
from psycopg import errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

from tasks import DATABASE_URL, FIELDS, deliver

SECRET = os.environ["APP_SECRET"].encode()
LIMIT = 1 << 20
NUMBER_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
CURRENCY_RE = re.compile(r"[A-Z]{3}")

app = Flask(__name__)
pool = ConnectionPool(DATABASE_URL, min_size=1, max_size=8,
                      kwargs={"autocommit": True, "row_factory": dict_row})  # fmt: skip


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def answer(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


@app.errorhandler(Refused)
def refused(ex: Refused) -> Response:
    return answer({"error": {"code": ex.code, "message": ex.message}}, ex.status)


@app.errorhandler(HTTPException)
def http_exception(ex: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    code = codes.get(ex.code or 500, "bad_request")
    return answer({"error": {"code": code, "message": ex.description or code}}, ex.code or 500)


@app.before_request
def require_secret() -> None:
    if not request.path.startswith("/v1/"):
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), SECRET):
        raise Refused(401, "unauthorized", "missing or wrong bearer secret")


def invoice_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 0 < int(raw) < 2**63:
        raise Refused(404, "not_found", "no such invoice")
    return int(raw)


def bad(message: str) -> Refused:
    return Refused(422, "validation_error", message)


def drain(length: int) -> None:
    """Read a refused body (up to 16 MiB) so that the client gets the 413, not a reset."""
    stream, left = request.environ["wsgi.input"], min(length, 16 << 20)
    while left > 0:
        chunk = stream.read(min(left, 1 << 16))
        if not chunk:
            break
        left -= len(chunk)


def read_invoice() -> dict[str, Any]:
    if (request.content_length or 0) > LIMIT:
        drain(request.content_length or 0)
        raise Refused(413, "payload_too_large", "the body is over 1 MiB")
    raw = request.get_data(cache=False)
    if len(raw) > LIMIT:
        raise Refused(413, "payload_too_large", "the body is over 1 MiB")
    if request.mimetype != "application/json":
        raise Refused(415, "unsupported_media_type", "the body must be application/json")
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as ex:  # UnicodeDecodeError is a ValueError
        raise bad("the body is not JSON") from ex
    if not isinstance(body, dict):
        raise bad("the body must be an object")
    checks = {
        "number": lambda v: isinstance(v, str) and NUMBER_RE.fullmatch(v),
        "customer": lambda v: isinstance(v, str) and 0 < len(v) <= 200 and "\x00" not in v,
        "amount_cents": lambda v: isinstance(v, int) and not isinstance(v, bool)
        and 1 <= v <= 100_000_000,
        "currency": lambda v: isinstance(v, str) and CURRENCY_RE.fullmatch(v),
    }
    for name, ok in checks.items():
        if not ok(body.get(name)):
            raise bad(f"{name} is missing or invalid")
    return {name: body[name] for name in checks}


@app.get("/health")
def health() -> Response:
    return answer({"status": "ok"})


@app.post("/v1/invoices")
def create() -> Response:
    fields = read_invoice()
    try:
        with pool.connection() as conn:
            row = conn.execute(
                "INSERT INTO invoices (number, customer, amount_cents, currency, idempotency_key)"
                f" VALUES (%(number)s, %(customer)s, %(amount_cents)s, %(currency)s, %(key)s)"
                f" RETURNING {FIELDS}",
                {**fields, "key": uuid.uuid4().hex},
            ).fetchone()
    except errors.UniqueViolation as ex:
        raise Refused(409, "number_taken", "that number is taken") from ex
    deliver.delay(row["id"])
    return answer(row, 201)


@app.get("/v1/invoices")
def by_customer() -> Response:
    customer = request.args.get("customer")
    if customer is None or not 0 < len(customer) <= 200:
        raise bad("customer is required (1 to 200 characters)")
    with pool.connection() as conn:
        rows = conn.execute(f"SELECT {FIELDS} FROM invoices WHERE customer = %s ORDER BY id",
                            (customer,)).fetchall()  # fmt: skip
    return answer({"items": rows})


@app.get("/v1/invoices/<raw_id>")
def one(raw_id: str) -> Response:
    with pool.connection() as conn:
        row = conn.execute(f"SELECT {FIELDS} FROM invoices WHERE id = %s",
                           (invoice_id(raw_id),)).fetchone()  # fmt: skip
    if row is None:
        raise Refused(404, "not_found", "no such invoice")
    return answer(row)


@app.get("/v1/dead-letters")
def dead_letters() -> Response:
    with pool.connection() as conn:
        rows = conn.execute(f"SELECT {FIELDS} FROM invoices WHERE status = 'dead' "
                            "ORDER BY id DESC LIMIT 100").fetchall()  # fmt: skip
    return answer({"items": rows})


@app.post("/v1/dead-letters/<raw_id>/redrive")
def redrive(raw_id: str) -> Response:
    wanted = invoice_id(raw_id)
    with pool.connection() as conn, conn.transaction():
        row = conn.execute(f"SELECT {FIELDS} FROM invoices WHERE id = %s FOR UPDATE",
                           (wanted,)).fetchone()  # fmt: skip
        if row is None:
            raise Refused(404, "not_found", "no such invoice")
        if row["status"] != "dead":
            raise Refused(409, "not_dead", "only a dead invoice can be re-driven")
        row = conn.execute(f"UPDATE invoices SET status = 'queued', attempts = 0 WHERE id = %s "
                           f"RETURNING {FIELDS}", (wanted,)).fetchone()  # fmt: skip
    deliver.delay(wanted)
    return answer(row, 202)
