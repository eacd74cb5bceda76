"""Product imports with Flask: bodies read through a buffered text stream, records upserted
500 at a time as one multi-row INSERT each."""

from __future__ import annotations

import csv
import hmac
import io
import json
import os
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import psycopg
from flask import Flask, Response, jsonify, request
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

from rules import Fault, product

JSON_LIMIT = 1 << 20
csv.field_size_limit(1 << 24)  # a long cell is judged by its field rule, not refused by csv
PER_TRANSACTION = 500
LISTED = 1000
FORMATS = {"text/csv": "csv", "application/x-ndjson": "ndjson", "application/json": "json"}

DDL = """
CREATE TABLE IF NOT EXISTS products (
    sku text PRIMARY KEY,
    name text NOT NULL,
    price numeric(8, 2) NOT NULL,
    quantity integer NOT NULL,
    available_from date
);
CREATE TABLE IF NOT EXISTS import_reports (
    id bigserial PRIMARY KEY,
    report jsonb NOT NULL
);
"""
# a batch of records with distinct skus as one multi-row VALUES; a row comes back per record
# inserted (true) or updated (false), none for a record whose product already held its values
UPSERT = """
INSERT INTO products AS p (sku, name, price, quantity, available_from)
VALUES {rows}
ON CONFLICT (sku) DO UPDATE SET name = excluded.name, price = excluded.price,
    quantity = excluded.quantity, available_from = excluded.available_from
WHERE row(p.name, p.price, p.quantity, p.available_from)
    IS DISTINCT FROM row(excluded.name, excluded.price, excluded.quantity, excluded.available_from)
RETURNING xmax = 0
"""
ROW = "(%s, %s, %s::numeric, %s::integer, %s::date)"

pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=1, max_size=8,
                      kwargs={"autocommit": True})
with pool.connection() as boot:
    boot.execute("SELECT pg_advisory_lock(4242)")
    boot.execute(DDL)
    boot.execute("SELECT pg_advisory_unlock(4242)")

app = Flask(__name__)


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> Response:
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    return response


@app.errorhandler(Refusal)
def refused(exc: Refusal) -> Response:
    return error(exc.status, exc.code, exc.message)


@app.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code or 500, "bad_request")
    return error(exc.code or 500, code, exc.description or "error")


@app.errorhandler(Exception)
def crashed(exc: Exception) -> Response:
    app.logger.error("request failed: %s", type(exc).__name__)
    return error(500, "internal_error", "internal error")


@app.before_request
def check_token() -> None:
    if not request.path.startswith("/v1/"):
        return
    words = request.headers.get("Authorization", "").split(" ", 1)
    secret = os.environ["APP_SECRET"].encode()
    if len(words) != 2 or words[0].lower() != "bearer" or not hmac.compare_digest(
            words[1].encode(), secret):
        raise Refusal(401, "unauthorized", "a valid bearer token is required")


@app.get("/health")
def health() -> Response:
    return jsonify(status="ok")


class RawBody(io.RawIOBase):
    """The WSGI input as a raw binary stream, so it can be buffered and decoded."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.stream.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def body_format() -> str:
    kind, _, params = (request.headers.get("Content-Type") or "").partition(";")
    fmt = FORMATS.get(kind.strip().lower())
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            fmt = None
    if fmt is None:
        raise Refusal(415, "unsupported_media_type", "text/csv, application/x-ndjson or application/json")
    return fmt


ESCAPED_BYTE = re.compile("[\udc80-\udcff]")


def has_bad_bytes(cells: list[str]) -> bool:
    """Bytes that were not UTF-8 come out of surrogateescape as U+DC80..U+DCFF."""
    return any(ESCAPED_BYTE.search(cell) for cell in cells)


def csv_rows(binary: io.BufferedReader) -> Iterator[tuple[int, Any]]:
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="surrogateescape", newline="")
    reader = csv.reader(text)
    columns = None
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:  # a row the csv module cannot read (a cell over its size limit)
            if columns is None:
                raise Refusal(422, "validation_error", "unreadable header row") from None
            number += 1
            yield number, Fault("malformed_row")
            continue
        if not cells:
            continue
        if columns is None:
            if has_bad_bytes(cells) or len(set(cells)) < len(cells) or not {
                    "sku", "name", "price", "quantity"} <= set(cells):
                raise Refusal(422, "validation_error", "unusable header row")
            columns = cells
            continue
        number += 1
        if has_bad_bytes(cells):
            yield number, Fault("invalid_encoding")
        elif len(cells) != len(columns):
            yield number, Fault("wrong_field_count")
        else:
            yield number, checked(dict(zip(columns, cells, strict=True)), True)
    if columns is None:
        raise Refusal(422, "validation_error", "no header row")


def ndjson_rows(binary: io.BufferedReader) -> Iterator[tuple[int, Any]]:
    number = 0
    for index, line in enumerate(binary):
        if index == 0 and line.startswith(b"\xef\xbb\xbf"):
            line = line[3:]
        if not line.strip(b" \t\r\n"):
            continue
        number += 1
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            yield number, Fault("invalid_encoding")
            continue
        try:
            record = json.loads(text, parse_float=Decimal, parse_constant=no_constant)
        except (ValueError, RecursionError):
            yield number, Fault("malformed_row")
            continue
        yield number, checked(record, False)


def no_constant(word: str) -> Any:
    raise ValueError(word)


def checked(record: Any, textual: bool) -> Any:
    if not isinstance(record, dict):
        return Fault("malformed_row")
    try:
        return product(record, textual)
    except Fault as fault:
        return fault


def run_import(fmt: str, rows: Iterator[tuple[int, Any]]) -> dict[str, Any]:
    tally = dict.fromkeys(("received", "inserted", "updated", "unchanged", "rejected"), 0)
    listed: list[dict[str, Any]] = []
    pending: dict[str, tuple] = {}

    def write(conn: psycopg.Connection) -> None:
        query = UPSERT.format(rows=", ".join([ROW] * len(pending)))
        params = [value for record in pending.values() for value in record]
        with conn.transaction():
            flags = [flag for (flag,) in conn.execute(query, params).fetchall()]
        tally["inserted"] += sum(flags)
        tally["updated"] += len(flags) - sum(flags)
        tally["unchanged"] += len(pending) - len(flags)
        pending.clear()

    with pool.connection() as conn:
        for number, outcome in rows:
            tally["received"] += 1
            if isinstance(outcome, Fault):
                tally["rejected"] += 1
                if len(listed) < LISTED:
                    listed.append({"row": number, "code": outcome.code, "field": outcome.field})
                continue
            # a sku already waiting: write what is before it first, so records apply in order
            if outcome[0] in pending or len(pending) >= PER_TRANSACTION:
                write(conn)
            pending[outcome[0]] = outcome
        if pending:
            write(conn)
        report = {"format": fmt, "counts": tally, "rejects": listed}
        (number,) = conn.execute("INSERT INTO import_reports (report) VALUES (%s) RETURNING id",
                                 (Jsonb(report),)).fetchone()
    return {"id": number, **report}


@app.post("/v1/imports")
def create_import() -> tuple[Response, int]:
    fmt = body_format()
    binary = io.BufferedReader(RawBody(request.stream), 1 << 16)
    if fmt == "csv":
        return jsonify(run_import(fmt, csv_rows(binary))), 201
    if fmt == "ndjson":
        return jsonify(run_import(fmt, ndjson_rows(binary))), 201
    data = binary.read(JSON_LIMIT + 1)
    if len(data) > JSON_LIMIT:
        raise Refusal(413, "payload_too_large", "at most 1 MiB of JSON")
    try:
        items = json.loads(data.decode("utf-8-sig"), parse_float=Decimal,
                           parse_constant=no_constant)
    except (ValueError, RecursionError):
        raise Refusal(422, "validation_error", "not UTF-8 JSON") from None
    if not isinstance(items, list):
        raise Refusal(422, "validation_error", "the body must be an array")
    rows = ((i, checked(item, False)) for i, item in enumerate(items, start=1))
    return jsonify(run_import(fmt, rows)), 201


@app.get("/v1/imports/<raw>")
def read_import(raw: str) -> Response:
    if not (raw.isascii() and raw.isdigit()) or not 0 < int(raw) < 2**63:
        raise Refusal(404, "not_found", "no such import")
    with pool.connection() as conn:
        row = conn.execute("SELECT id, report FROM import_reports WHERE id = %s",
                           (int(raw),)).fetchone()
    if row is None:
        raise Refusal(404, "not_found", "no such import")
    return jsonify({"id": row[0], **row[1]})


@app.get("/v1/products/<path:sku>")
def read_product(sku: str) -> Response:
    if "\x00" in sku or any("\ud800" <= ch <= "\udfff" for ch in sku):
        raise Refusal(404, "not_found", "no such product")
    with pool.connection() as conn:
        row = conn.execute("SELECT sku, name, price, quantity, available_from FROM products"
                           " WHERE sku = %s", (sku,)).fetchone()
    if row is None:
        raise Refusal(404, "not_found", "no such product")
    return jsonify(sku=row[0], name=row[1], price=f"{row[2]:.2f}", quantity=row[3],
                   available_from=row[4].isoformat() if row[4] else None)
