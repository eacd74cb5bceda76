"""Invoice delivery API (FastAPI + psycopg): stores invoices and enqueues their RQ jobs."""

from __future__ import annotations

import hmac
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from psycopg import errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException

import jobs
import store

APP_SECRET = os.environ["APP_SECRET"]
MAX_BODY = 1024 * 1024
MAX_ID = 2**63 - 1
NUMBER = re.compile(r"[A-Za-z0-9_-]{1,64}")
CURRENCY = re.compile(r"[A-Z]{3}")
ID = re.compile(r"[0-9]+")

pool = ConnectionPool(
    store.DATABASE_URL, min_size=2, max_size=10, open=False,
    kwargs={"autocommit": True, "row_factory": dict_row},
)  # fmt: skip
queue = jobs.queue()


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        self.status, self.code, self.message = status, code, message


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    store.create_schema()
    pool.open(wait=True)
    jobs.recover(queue)  # jobs that died with a worker: their invoices are still queued
    yield
    pool.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


def error_body(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@app.exception_handler(ApiError)
async def api_error(_: Request, ex: ApiError) -> JSONResponse:
    return error_body(ex.status, ex.code, ex.message)


@app.exception_handler(RequestValidationError)
async def validation_error(_: Request, __: RequestValidationError) -> JSONResponse:
    return error_body(422, "validation_error", "the request is not valid")


@app.exception_handler(StarletteHTTPException)
async def http_error(_: Request, ex: StarletteHTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(ex.status_code, "error")
    return error_body(ex.status_code, code, str(ex.detail))


def authorize(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), APP_SECRET.encode()):
        raise ApiError(401, "unauthorized", "a valid bearer secret is required")


def parse_id(raw: str) -> int:
    if not ID.fullmatch(raw) or not 0 < int(raw) <= MAX_ID:
        raise ApiError(404, "not_found", "no such invoice")
    return int(raw)


def invalid(message: str) -> ApiError:
    return ApiError(422, "validation_error", message)


def validate(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    number, customer = body.get("number"), body.get("customer")
    amount, currency = body.get("amount_cents"), body.get("currency")
    if not isinstance(number, str) or not NUMBER.fullmatch(number):
        raise invalid("number: 1 to 64 letters, digits, - or _")
    if not isinstance(customer, str) or not 1 <= len(customer) <= 200 or "\0" in customer:
        raise invalid("customer: a string of 1 to 200 characters")
    if type(amount) is not int or not 1 <= amount <= 100_000_000:
        raise invalid("amount_cents: an integer from 1 to 100000000")
    if not isinstance(currency, str) or not CURRENCY.fullmatch(currency):
        raise invalid("currency: three uppercase letters")
    return {"number": number, "customer": customer, "amount_cents": amount, "currency": currency}


async def read_json(request: Request) -> Any:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise ApiError(413, "payload_too_large", "the body is over 1 MiB")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY:
            raise ApiError(413, "payload_too_large", "the body is over 1 MiB")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise ApiError(415, "unsupported_media_type", "send application/json")
    try:
        return json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as ex:  # UnicodeDecodeError is a ValueError
        raise invalid("the body is not valid JSON") from ex


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/invoices", status_code=201)
async def create_invoice(request: Request) -> dict[str, Any]:
    authorize(request)
    fields = validate(await read_json(request))
    return insert_and_enqueue(fields)


def insert_and_enqueue(fields: dict[str, Any]) -> dict[str, Any]:
    try:
        with pool.connection() as conn:
            invoice = conn.execute(
                "INSERT INTO invoices (number, customer, amount_cents, currency, idempotency_key) "
                f"VALUES (%s, %s, %s, %s, %s) RETURNING {store.COLUMNS}",
                (fields["number"], fields["customer"], fields["amount_cents"],
                 fields["currency"], str(uuid.uuid4())),
            ).fetchone()  # fmt: skip
    except errors.UniqueViolation as ex:
        raise ApiError(409, "number_taken", "an invoice with that number exists") from ex
    jobs.enqueue(queue, invoice["id"])
    return invoice


@app.get("/v1/invoices")
def list_invoices(request: Request, customer: str | None = None) -> dict[str, Any]:
    authorize(request)
    if customer is None or not 1 <= len(customer) <= 200:
        raise invalid("customer: a string of 1 to 200 characters is required")
    with pool.connection() as conn:
        rows = conn.execute(
            f"SELECT {store.COLUMNS} FROM invoices WHERE customer = %s ORDER BY id", (customer,)
        ).fetchall()
    return {"items": rows}


@app.get("/v1/invoices/{invoice_id}")
def get_invoice(request: Request, invoice_id: str) -> dict[str, Any]:
    authorize(request)
    with pool.connection() as conn:
        invoice = conn.execute(
            f"SELECT {store.COLUMNS} FROM invoices WHERE id = %s", (parse_id(invoice_id),)
        ).fetchone()
    if invoice is None:
        raise ApiError(404, "not_found", "no such invoice")
    return invoice


@app.get("/v1/dead-letters")
def dead_letters(request: Request) -> dict[str, Any]:
    authorize(request)
    with pool.connection() as conn:
        rows = conn.execute(
            f"SELECT {store.COLUMNS} FROM invoices WHERE status = 'dead' ORDER BY id DESC LIMIT 100"
        ).fetchall()
    return {"items": rows}


@app.post("/v1/dead-letters/{invoice_id}/redrive", status_code=202)
def redrive(request: Request, invoice_id: str) -> dict[str, Any]:
    authorize(request)
    wanted = parse_id(invoice_id)
    with pool.connection() as conn:
        invoice = conn.execute(
            "UPDATE invoices SET status = 'queued', attempts = 0 "
            f"WHERE id = %s AND status = 'dead' RETURNING {store.COLUMNS}",
            (wanted,),
        ).fetchone()
        if invoice is None:
            found = conn.execute("SELECT 1 FROM invoices WHERE id = %s", (wanted,)).fetchone()
            if found is None:
                raise ApiError(404, "not_found", "no such invoice")
            raise ApiError(409, "not_dead", "only a dead invoice can be re-driven")
    jobs.enqueue(queue, invoice["id"])
    return invoice
