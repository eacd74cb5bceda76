"""Ledger entries API: an NDJSON export streamed page by page, and batch writes with per-item
results.

The export reads the account's entries in keyset pages (id > the last id sent, 1000 at a time),
each page on a pooled connection of its own, so memory stays bounded whatever the size of the
export. A batch stores each valid entry on its own; external_id is unique (an index made at
start-up), so repeating an entry finds the stored one instead of adding another.
"""

import datetime as dt
import hmac
import json
import os
import re
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response, StreamingResponse
from psycopg_pool import AsyncConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException

DATABASE_URL = os.environ["DATABASE_URL"]
APP_SECRET = os.environ["APP_SECRET"]

PAGE_SIZE = 1000
MAX_BATCH = 500
MAX_BODY = 1024 * 1024
MAX_AMOUNT = 10**12
MAX_MEMO = 200
MAX_ACCOUNT = 64
MAX_ID = 2**63 - 1
EXTERNAL_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
TIMESTAMP = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})"
)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")

COLUMNS = "id, account, amount_cents, posted_at, memo, external_id"

pool = AsyncConnectionPool(
    DATABASE_URL, min_size=2, max_size=10, open=False, kwargs={"autocommit": True}
)


@asynccontextmanager
async def lifespan(_app):
    await pool.open()
    async with pool.connection() as conn:
        await conn.execute(
            "CREATE UNIQUE INDEX IF NOT EXISTS ledger_entries_external_id_key"
            " ON ledger_entries (external_id)"
        )
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan)
app.router.redirect_slashes = False  # paths are matched exactly


class Invalid(Exception):
    """A value the contract refuses; its text is the error message."""


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


@app.exception_handler(RequestValidationError)
async def validation_handler(_request, _exc):
    return error(422, "validation_error", "invalid request")


@app.exception_handler(StarletteHTTPException)
async def http_handler(_request, exc):
    if exc.status_code == 404:
        return error(404, "not_found", "no such resource")
    return error(exc.status_code, "error", str(exc.detail))


def authorized(request: Request) -> bool:
    header = request.headers.get("authorization", "")
    return hmac.compare_digest(header.encode(), f"Bearer {APP_SECRET}".encode())


def unauthorized() -> JSONResponse:
    return error(401, "unauthorized", "missing or wrong bearer token")


def timestamp(value, name: str) -> dt.datetime:
    if not isinstance(value, str) or not TIMESTAMP.fullmatch(value):
        raise Invalid(f"{name} must be an RFC 3339 date-time with a time-zone offset")
    try:
        parsed = dt.datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
        parsed.astimezone(dt.UTC)  # the instant must fall in the years 1 to 9999
    except (ValueError, OverflowError):
        raise Invalid(f"{name} is not a date-time of the years 0001 to 9999") from None
    return parsed


def utf8(value: str) -> bool:
    """Whether the text can be stored: no lone surrogates."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def account_name(value) -> str:
    if (not isinstance(value, str) or not 1 <= len(value) <= MAX_ACCOUNT
            or CONTROL.search(value) or not utf8(value)):  # fmt: skip
        raise Invalid("account must be 1 to 64 characters, none of them a control character")
    return value


def entry_line(row) -> str:
    entry_id, account, amount, posted_at, memo, external_id = row
    posted = posted_at.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return json.dumps({
        "id": entry_id, "account": account, "amount_cents": amount, "posted_at": posted,
        "memo": memo, "external_id": external_id,
    }, ensure_ascii=False) + "\n"  # fmt: skip


async def page(account: str, start, end, after: int) -> list:
    """The next page of the export: at most PAGE_SIZE matching entries with id > after."""
    sql = f"SELECT {COLUMNS} FROM ledger_entries WHERE account = %s AND id > %s"
    params: list = [account, after]
    if start is not None:
        sql += " AND posted_at >= %s"
        params.append(start)
    if end is not None:
        sql += " AND posted_at < %s"
        params.append(end)
    sql += " ORDER BY id LIMIT %s"
    params.append(PAGE_SIZE)
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return await cur.fetchall()


async def export_lines(account: str, start, end, first: list):
    rows = first
    while rows:
        yield "".join(entry_line(row) for row in rows).encode()
        if len(rows) < PAGE_SIZE:
            return
        rows = await page(account, start, end, rows[-1][0])


@app.get("/health")
async def health():
    return {"status": "ok"}


@app.get("/v1/entries/export")
async def export_entries(request: Request):
    if not authorized(request):
        return unauthorized()
    query = request.query_params
    try:
        account = account_name(query.get("account"))
        start = timestamp(query["from"], "from") if "from" in query else None
        end = timestamp(query["to"], "to") if "to" in query else None
        if start is not None and end is not None and start >= end:
            raise Invalid("from must be earlier than to")
    except Invalid as exc:
        return error(422, "validation_error", str(exc))
    first = await page(account, start, end, 0)  # before the 200: a failure is still a 5xx
    return StreamingResponse(
        export_lines(account, start, end, first), media_type="application/x-ndjson"
    )


@app.get("/v1/entries/{entry_id}")
async def read_entry(request: Request, entry_id: str):
    if not authorized(request):
        return unauthorized()
    if not (entry_id.isascii() and entry_id.isdigit()) or not 1 <= int(entry_id) <= MAX_ID:
        return error(404, "not_found", "no such entry")
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {COLUMNS} FROM ledger_entries WHERE id = %s", (int(entry_id),)
        )
        row = await cur.fetchone()
    if row is None:
        return error(404, "not_found", "no such entry")
    return Response(entry_line(row), media_type="application/json")


def parse_entry(item) -> dict:
    """A batch item as the values to store; Invalid when the contract refuses it."""
    if not isinstance(item, dict):
        raise Invalid("an entry must be a JSON object")
    external_id = item.get("external_id")
    if not isinstance(external_id, str) or not EXTERNAL_ID.fullmatch(external_id):
        raise Invalid("external_id must be 1 to 64 letters, digits, '.', '_', ':' or '-'")
    amount = item.get("amount_cents")
    if type(amount) is not int or amount == 0 or abs(amount) > MAX_AMOUNT:
        raise Invalid("amount_cents must be a non-zero integer from -10^12 to 10^12")
    memo = item.get("memo", "")
    if not isinstance(memo, str) or len(memo) > MAX_MEMO or "\x00" in memo or not utf8(memo):
        raise Invalid("memo must be a string of at most 200 characters without U+0000")
    return {
        "external_id": external_id,
        "account": account_name(item.get("account")),
        "amount_cents": amount,
        "posted_at": timestamp(item.get("posted_at"), "posted_at"),
        "memo": memo,
    }


async def store(conn, entry: dict) -> dict:
    """Store one entry, or find the one stored under its external_id: its result."""
    cur = await conn.execute(
        "INSERT INTO ledger_entries (account, amount_cents, posted_at, memo, external_id)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (external_id) DO NOTHING RETURNING id",
        (entry["account"], entry["amount_cents"], entry["posted_at"], entry["memo"],
         entry["external_id"]),
    )  # fmt: skip
    row = await cur.fetchone()
    if row is not None:
        return {"status": "created", "id": row[0]}
    cur = await conn.execute(
        "SELECT id, account, amount_cents, posted_at, memo FROM ledger_entries"
        " WHERE external_id = %s",
        (entry["external_id"],),
    )
    stored = await cur.fetchone()
    same = stored[1:] == (entry["account"], entry["amount_cents"], entry["posted_at"],
                          entry["memo"])  # fmt: skip
    if same:
        return {"status": "existing", "id": stored[0]}
    return {
        "status": "failed",
        "error": {"code": "external_id_conflict",
                  "message": "external_id is stored with other values"},
    }  # fmt: skip


@app.post("/v1/entries/batch")
async def batch(request: Request):
    if not authorized(request):
        return unauthorized()
    raw = await request.body()
    if len(raw) > MAX_BODY:
        return error(413, "payload_too_large", "the body is over 1 MiB")
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: nested too deep
        return error(422, "validation_error", "the body is not valid JSON")
    entries = body.get("entries") if isinstance(body, dict) else None
    if not isinstance(entries, list) or not 1 <= len(entries) <= MAX_BATCH:
        return error(422, "validation_error", "entries must be an array of 1 to 500 entries")
    results = []
    async with pool.connection() as conn:
        for index, item in enumerate(entries):
            try:
                entry = parse_entry(item)
            except Invalid as exc:
                results.append({"index": index, "status": "failed",
                                "error": {"code": "validation_error", "message": str(exc)}})  # fmt: skip
                continue
            results.append({"index": index, **await store(conn, entry)})
    failed = any(r["status"] == "failed" for r in results)
    return JSONResponse({"results": results}, status_code=207 if failed else 200)
