"""Accounts and transfers with Starlette and asyncpg: hand-written validation, and transfers
made of conditional UPDATEs (balance = balance - x WHERE balance >= x), taken in ascending id
order so that opposite transfers never wait on each other in a cycle."""

import hmac
import json
import os
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MAX_ID = 2**63 - 1
MAX_CENTS = 10**12
TRANSFER_COLUMNS = "id, from_account_id, to_account_id, amount, created_at"


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def path_id(request: Request) -> int:
    raw = request.path_params["id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw.lstrip("0")) > 19 or not 1 <= int(raw) <= MAX_ID:
        raise Refused(404, "not_found", "no such resource")
    return int(raw)


async def json_object(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested too deep
        raise Refused(422, "validation_error", "the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise Refused(422, "validation_error", "the body must be a JSON object")
    return body


def transfer_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "from_account_id": row["from_account_id"],
        "to_account_id": row["to_account_id"],
        "amount": row["amount"],
        "created_at": row["created_at"].isoformat(),
    }


async def health(_request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def create_account(request: Request) -> JSONResponse:
    body = await json_object(request)
    owner = body.get("owner")
    if not isinstance(owner, str) or not 1 <= len(owner) <= 100 or not owner.strip() or "\x00" in owner:
        raise Refused(422, "validation_error", "owner: 1-100 characters, not blank, no NUL")
    try:
        owner.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate (\ud800) is no character
        raise Refused(422, "validation_error", "owner: not valid Unicode") from exc
    opening = body.get("balance", 0)
    if not is_int(opening) or not 0 <= opening <= MAX_CENTS:
        raise Refused(422, "validation_error", "balance: an integer from 0 to 10^12")
    row = await request.app.state.pool.fetchrow(
        "INSERT INTO accounts (owner, balance) VALUES ($1, $2) RETURNING id, owner, balance",
        owner,
        opening,
    )
    return JSONResponse(dict(row), status_code=201)


async def get_account(request: Request) -> JSONResponse:
    row = await request.app.state.pool.fetchrow(
        "SELECT id, owner, balance FROM accounts WHERE id = $1", path_id(request)
    )
    if row is None:
        raise Refused(404, "not_found", "account not found")
    return JSONResponse(dict(row))


async def account_transfers(request: Request) -> JSONResponse:
    account = path_id(request)
    async with request.app.state.pool.acquire() as conn:
        if await conn.fetchval("SELECT 1 FROM accounts WHERE id = $1", account) is None:
            raise Refused(404, "not_found", "account not found")
        rows = await conn.fetch(
            f"SELECT {TRANSFER_COLUMNS} FROM transfers"
            " WHERE from_account_id = $1 OR to_account_id = $1 ORDER BY id",
            account,
        )
    return JSONResponse({"items": [transfer_json(r) for r in rows]})


async def get_transfer(request: Request) -> JSONResponse:
    row = await request.app.state.pool.fetchrow(
        f"SELECT {TRANSFER_COLUMNS} FROM transfers WHERE id = $1", path_id(request)
    )
    if row is None:
        raise Refused(404, "not_found", "transfer not found")
    return JSONResponse(transfer_json(row))


def transfer_fields(body: dict[str, Any]) -> tuple[int, int, int]:
    source, target, amount = (body.get(k) for k in ("from_account_id", "to_account_id", "amount"))
    for name, value in (("from_account_id", source), ("to_account_id", target)):
        if not is_int(value) or value < 1:
            raise Refused(422, "validation_error", f"{name}: an integer of at least 1")
    if not is_int(amount) or not 1 <= amount <= MAX_CENTS:
        raise Refused(422, "validation_error", "amount: an integer from 1 to 10^12")
    if source == target:
        raise Refused(422, "same_account", "an account cannot transfer to itself")
    return source, target, amount


async def debit(conn: asyncpg.Connection, account: int, amount: int) -> None:
    """Take the amount if the balance allows it; else tell a missing account from a poor one."""
    done = await conn.fetchval(
        "UPDATE accounts SET balance = balance - $2 WHERE id = $1 AND balance >= $2 RETURNING 1",
        account,
        amount,
    )
    if done is None:
        if await conn.fetchval("SELECT 1 FROM accounts WHERE id = $1", account) is None:
            raise Refused(404, "not_found", f"account {account} not found")
        raise Refused(409, "insufficient_funds", "the source account lacks the funds")


async def credit(conn: asyncpg.Connection, account: int, amount: int) -> None:
    done = await conn.fetchval(
        "UPDATE accounts SET balance = balance + $2 WHERE id = $1 RETURNING 1", account, amount
    )
    if done is None:
        raise Refused(404, "not_found", f"account {account} not found")


async def create_transfer(request: Request) -> JSONResponse:
    source, target, amount = transfer_fields(await json_object(request))
    if source > MAX_ID or target > MAX_ID:
        raise Refused(404, "not_found", "account not found")
    async with request.app.state.pool.acquire() as conn, conn.transaction():
        # Both accounts must exist before the funds are judged: a missing one is 404 first.
        found = await conn.fetchval(
            "SELECT count(*) FROM accounts WHERE id = ANY($1::bigint[])", [source, target]
        )
        if found != 2:
            raise Refused(404, "not_found", "account not found")
        if source < target:  # the lower id is always touched first
            await debit(conn, source, amount)
            await credit(conn, target, amount)
        else:
            await credit(conn, target, amount)
            await debit(conn, source, amount)
        row = await conn.fetchrow(
            "INSERT INTO transfers (from_account_id, to_account_id, amount)"
            f" VALUES ($1, $2, $3) RETURNING {TRANSFER_COLUMNS}",
            source,
            target,
            amount,
        )
    return JSONResponse(transfer_json(row), status_code=201)


async def on_refused(_request: Request, exc: Refused) -> JSONResponse:
    return error(exc.status, exc.code, exc.message)


async def on_http(_request: Request, exc: HTTPException) -> JSONResponse:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return error(exc.status_code, code, str(exc.detail))


class BearerAuth:
    """Pure ASGI middleware: everything but /health needs the bearer APP_SECRET."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] != "/health":
            secret = os.environ.get("APP_SECRET", "")
            given = dict(scope["headers"]).get(b"authorization", b"")
            if not secret or not hmac.compare_digest(given, f"Bearer {secret}".encode()):
                response = error(401, "unauthorized", "missing or invalid bearer token")
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


@asynccontextmanager
async def lifespan(app: Starlette):
    app.state.pool = await asyncpg.create_pool(os.environ["DATABASE_URL"], min_size=2, max_size=40)
    yield
    await app.state.pool.close()


routes = [
    Route("/health", health, methods=["GET"]),
    Route("/accounts", create_account, methods=["POST"]),
    Route("/accounts/{id}", get_account, methods=["GET"]),
    Route("/accounts/{id}/transfers", account_transfers, methods=["GET"]),
    Route("/transfers", create_transfer, methods=["POST"]),
    Route("/transfers/{id}", get_transfer, methods=["GET"]),
]

starlette_app = Starlette(
    routes=routes,
    lifespan=lifespan,
    exception_handlers={Refused: on_refused, HTTPException: on_http},
)
app = BearerAuth(starlette_app)
