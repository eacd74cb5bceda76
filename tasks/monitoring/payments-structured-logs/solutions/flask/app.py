"""Card payments with structured, redacted logs (second solution): Flask under gunicorn, psycopg
(sync, a connection per request), structlog with the request id bound in contextvars, and the
route template taken from the URL rule Werkzeug matched."""

from __future__ import annotations

import hmac
import json
import os
import re
import time
import traceback
import uuid
from typing import Any

import psycopg
import structlog
from flask import Flask, Response, g, request
from logs import configure
from psycopg.rows import dict_row
from werkzeug.exceptions import HTTPException

MAX_BODY = 16 * 1024
CURRENCIES = {"EUR", "USD", "GBP"}
OUTAGE_CARD = "4000000000000119"
DIGITS = frozenset("0123456789")
UUID_TEXT = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    500: "internal_error",
}
FIELDS = "id::text AS id, amount_cents, currency, card_last4, email, description"

configure()
log = structlog.get_logger()


class Refused(Exception):  # noqa: N818 - an answer, not a failure
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class ProcessorUnavailable(Exception):  # noqa: N818 - the name the contract gives
    pass


def database() -> psycopg.Connection[dict[str, Any]]:
    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=True, row_factory=dict_row,
                           connect_timeout=3)  # fmt: skip


def create_schema() -> None:
    with database() as conn:
        conn.execute(
            "CREATE TABLE IF NOT EXISTS payment (id uuid PRIMARY KEY, amount_cents int NOT NULL, "
            "currency text NOT NULL, card_last4 char(4) NOT NULL, email text NOT NULL, "
            "description text NOT NULL DEFAULT '', created timestamptz NOT NULL DEFAULT now())"
        )


app = Flask(__name__)
create_schema()
log.info("ready")


def error(status: int, message: str) -> Response:
    body = {"error": {"code": CODES[status], "message": message, "request_id": g.request_id}}
    return Response(json.dumps(body), status=status, mimetype="application/json")


@app.before_request
def begin() -> None:
    g.request_id = str(uuid.uuid4())
    g.started = time.perf_counter()
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=g.request_id)


@app.after_request
def finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.request_id
    rule = request.url_rule
    route = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule) if rule is not None else None
    fields = {"method": request.method, "route": route, "status": response.status_code,
              "duration_ms": round((time.perf_counter() - g.started) * 1000, 2)}  # fmt: skip
    if response.status_code >= 500:
        log.error("request", **fields)
    else:
        log.info("request", **fields)
    return response


@app.teardown_request
def forget(_: BaseException | None) -> None:
    structlog.contextvars.clear_contextvars()


@app.errorhandler(Refused)
def refused(exc: Refused) -> Response:
    return error(exc.status, exc.message)


@app.errorhandler(HTTPException)
def http_exception(exc: HTTPException) -> Response:
    if exc.code == 405:
        return error(405, "this path does not take that method")
    if exc.code == 413:
        return error(413, "the body is over 16 KiB")
    return error(404, "not found")


@app.errorhandler(Exception)
def unexpected(exc: Exception) -> Response:
    log.error("unhandled_exception", exc_type=type(exc).__name__,
              stack="".join(traceback.format_exception(exc)))  # fmt: skip
    return error(500, "internal server error")


def authorize() -> None:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    secret = os.environ.get("APP_SECRET", "").encode()
    if scheme.casefold() != "bearer" or not secret or not hmac.compare_digest(key.encode(), secret):
        raise Refused(401, "missing or wrong API key")


def read_object() -> dict[str, Any]:
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise Refused(413, "the body is over 16 KiB")
    if request.mimetype != "application/json":
        raise Refused(415, "the body must be application/json")
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise Refused(422, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise Refused(422, "the body must be a JSON object")
    return data


def luhn(number: str) -> bool:
    digits = [int(d) for d in reversed(number)]
    odd = sum(digits[0::2])
    even = sum(sum(divmod(2 * d, 10)) for d in digits[1::2])
    return (odd + even) % 10 == 0


def check(ok: bool, field: str) -> None:
    if not ok:
        raise Refused(422, f"{field} is invalid")


def good_email(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 254 or value.count("@") != 1:
        return False
    local, domain = value.split("@")
    return bool(local) and bool(domain) and all("!" <= c <= "~" for c in value)


def good_description(value: Any) -> bool:
    if not isinstance(value, str) or len(value) > 200 or "\0" in value:
        return False
    return not any("\ud800" <= c <= "\udfff" for c in value)


def payment_of(data: dict[str, Any]) -> dict[str, Any]:
    amount = data.get("amount_cents")
    check(isinstance(amount, int) and not isinstance(amount, bool)
          and 0 < amount <= 1_000_000, "amount_cents")  # fmt: skip
    check(isinstance(data.get("currency"), str) and data["currency"] in CURRENCIES, "currency")
    card = data.get("card_number")
    check(isinstance(card, str) and 13 <= len(card) <= 19 and set(card) <= DIGITS and luhn(card),
          "card_number")  # fmt: skip
    cvc = data.get("cvc")
    check(isinstance(cvc, str) and len(cvc) in (3, 4) and set(cvc) <= DIGITS, "cvc")
    check(good_email(data.get("email")), "email")
    description = data.get("description", "")
    check(good_description(description), "description")
    return {"amount_cents": amount, "currency": data["currency"], "card_number": card,
            "email": data["email"], "description": description}  # fmt: skip


def charge(card_number: str) -> None:
    if card_number == OUTAGE_CARD:
        raise ProcessorUnavailable("the processor is unavailable")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/payments")
def create_payment() -> tuple[dict[str, Any], int]:
    authorize()
    payment = payment_of(read_object())
    charge(payment["card_number"])
    with database() as conn:
        row = conn.execute(
            f"INSERT INTO payment (id, amount_cents, currency, card_last4, email, description) "
            f"VALUES (gen_random_uuid(), %s, %s, %s, %s, %s) RETURNING {FIELDS}",
            (payment["amount_cents"], payment["currency"], payment["card_number"][-4:],
             payment["email"], payment["description"]),
        ).fetchone()  # fmt: skip
    assert row is not None
    local, _, domain = row["email"].partition("@")
    log.info("payment_created", payment_id=row["id"], amount_cents=row["amount_cents"],
             currency=row["currency"], card_last4=row["card_last4"],
             email=f"{local[:1]}***@{domain}", description=row["description"])  # fmt: skip
    return dict(row), 201


@app.get("/v1/payments/<payment_id>")
def get_payment(payment_id: str) -> dict[str, Any]:
    authorize()
    if not UUID_TEXT.fullmatch(payment_id):
        raise Refused(404, "no such payment")
    with database() as conn:
        row = conn.execute(f"SELECT {FIELDS} FROM payment WHERE id = %s", (payment_id,)).fetchone()
    if row is None:
        raise Refused(404, "no such payment")
    return dict(row)
