"""Report files API: bytes in an S3-compatible store, metadata in PostgreSQL, presigned
downloads that expire (reference solution: FastAPI, boto3 in the thread pool)."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

AUDIENCE = "report-files"
MAX_BODY = 1024 * 1024
# bytes of a refused body read and dropped before answering; past them the connection closes
DRAIN = 16 * 1024 * 1024
DEFAULT_LIFETIME = 300
MAX_LIFETIME = 3600
ALLOWED_TYPES = frozenset({"text/csv", "text/plain", "application/json", "application/pdf"})
SUB = re.compile(r"[A-Za-z0-9_-]{1,64}")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}")
DIGITS = re.compile(r"[0-9]+")
FILE_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
UNSUPPORTED = "send text/csv, text/plain, application/json or application/pdf"
BUCKET = os.environ.get("S3_BUCKET", "")

SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    id UUID PRIMARY KEY,
    owner VARCHAR(64) NOT NULL,
    name VARCHAR(200) NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 CHAR(64) NOT NULL,
    object_key TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX IF NOT EXISTS files_owner_idx ON files (owner, created_at DESC, id DESC);
"""
COLUMNS = "id::text AS id, name, content_type, size, sha256, object_key, created_at"

STATUS_CODES = {
    401: "unauthorized",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    503: "storage_unavailable",
}

pool = ConnectionPool(
    os.environ.get("DATABASE_URL", ""),
    min_size=2,
    max_size=10,
    open=False,
    kwargs={"row_factory": dict_row},
)
# one client for every thread (boto3 clients are thread-safe); a call gives up within 2 s to
# connect and 2 s to read, and is not retried, so a request ends well within 8 s
store = boto3.client(
    "s3",
    config=Config(
        connect_timeout=2,
        read_timeout=2,
        retries={"max_attempts": 1, "mode": "standard"},
        signature_version="s3v4",
        s3={"addressing_style": "path"},
    ),
)


@dataclass(frozen=True)
class User:
    """The caller, as its token names it."""

    sub: str


class ApiError(Exception):
    """An error answered with the shared JSON error body."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> JSONResponse:
    """The shared JSON error body."""
    body = {"error": {"code": STATUS_CODES.get(status, "error"), "message": message}}
    return JSONResponse(status_code=status, content=body)


# -- tokens and bodies, before any route -------------------------------------------------------


def verify(header: str) -> User | None:
    """The user of a valid `Bearer <jwt>` header, or None."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        claims = jwt.decode(
            token,
            os.environ.get("APP_SECRET", ""),
            algorithms=["HS256"],
            audience=AUDIENCE,
            options={"require": ["exp", "aud", "sub"]},
        )
    except Exception:  # any token PyJWT refuses, or cannot even read
        return None
    sub = claims.get("sub")
    if not isinstance(sub, str) or SUB.fullmatch(sub) is None:
        return None
    return User(sub=sub)


class Gatekeeper:
    """Before any /v1 route: the token (401), then the body's size (413) and its Content-Type
    (415); the caller, the body read and its Content-Type go on in scope["state"]."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        user = verify(headers.get("authorization", ""))
        if user is None:
            await drain(receive)
            await refuse(scope, receive, send, 401, "missing or invalid bearer token")
            return
        state = scope.setdefault("state", {})
        state["user"] = user
        if scope["method"] == "POST":
            body = await read_body(headers, receive)
            if body is None:  # read_body drained what was left of it
                await refuse(scope, receive, send, 413, "the body is larger than 1 MiB")
                return
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media not in ALLOWED_TYPES:
                await refuse(scope, receive, send, 415, UNSUPPORTED)
                return
            state["body"] = body  # the routes take it from here, never from receive
            state["content_type"] = headers.get("content-type", "")
        await self.app(scope, receive, send)


async def read_body(headers: dict[str, str], receive: Receive) -> bytes | None:
    """The whole body, or None once it is over MAX_BODY (by its length or as it arrives)."""
    declared = headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        await drain(receive)
        return None
    chunks: list[bytes] = []
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            if message.get("more_body", False):
                await drain(receive)
            return None
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


async def drain(receive: Receive) -> None:
    """Read what is left of the body (at most DRAIN bytes), so that an early answer reaches a
    client still sending one instead of a connection reset under it."""
    size = 0
    while size <= DRAIN:
        message = await receive()
        if message["type"] != "http.request":
            return
        size += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str) -> None:
    await error_response(status, message)(scope, receive, send)


# -- helpers -------------------------------------------------------------------------------------


def file_json(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": row["created_at"].isoformat()}


def owned_file(user: User, raw_id: str) -> dict[str, Any]:
    """The caller's file of that id; 404 for a malformed id, an unknown one or another's."""
    if FILE_ID.fullmatch(raw_id) is None:
        raise ApiError(404, "no such file")
    with pool.connection() as conn:
        row = conn.execute(
            f"SELECT {COLUMNS} FROM files WHERE id = %s AND owner = %s", (raw_id, user.sub)
        ).fetchone()
    if row is None:
        raise ApiError(404, "no such file")
    return row


def lifetime(raw: str | None) -> int:
    """The expires_in query parameter: digits only, 1 to 3600, default 300."""
    if raw is None:
        return DEFAULT_LIFETIME
    if DIGITS.fullmatch(raw) is None or not 1 <= int(raw) <= MAX_LIFETIME:
        raise ApiError(422, "expires_in must be a whole number of seconds from 1 to 3600")
    return int(raw)


# -- the app -------------------------------------------------------------------------------------


@asynccontextmanager
async def lifespan(_app: FastAPI):
    """Open the pool and create the schema at start-up."""
    pool.open(wait=True, timeout=30)
    with pool.connection() as conn:
        conn.execute(SCHEMA)
    try:
        yield
    finally:
        pool.close()


app = FastAPI(title="Report files API", lifespan=lifespan)
app.add_middleware(Gatekeeper)


@app.exception_handler(ApiError)
async def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.message)


@app.exception_handler(StarletteHTTPException)
async def http_error_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return error_response(exc.status_code, str(exc.detail))


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/files")
def create_file(request: Request) -> JSONResponse:
    user: User = request.state.user
    body: bytes = request.state.body
    content_type: str = request.state.content_type
    name = request.headers.get("x-file-name")
    if name is None or NAME.fullmatch(name) is None:
        raise ApiError(422, "X-File-Name must be 1 to 200 letters, digits, '.', '-' or '_'")
    if not body:
        raise ApiError(422, "the body is empty")
    file_id = str(uuid.uuid4())
    key = f"users/{user.sub}/{file_id}"
    try:
        store.put_object(Bucket=BUCKET, Key=key, Body=body, ContentType=content_type)
    except (BotoCoreError, ClientError) as ex:
        raise ApiError(503, "the object store did not accept the file") from ex
    with pool.connection() as conn:
        row = conn.execute(
            "INSERT INTO files (id, owner, name, content_type, size, sha256, object_key)"
            f" VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
            (file_id, user.sub, name, content_type, len(body),
             hashlib.sha256(body).hexdigest(), key),
        ).fetchone()  # fmt: skip
    return JSONResponse(status_code=201, content=file_json(row))


@app.get("/v1/files")
def list_files(request: Request) -> dict[str, Any]:
    user: User = request.state.user
    with pool.connection() as conn:
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM files WHERE owner = %s"
            " ORDER BY created_at DESC, id DESC LIMIT 100",
            (user.sub,),
        ).fetchall()
    return {"items": [file_json(r) for r in rows]}


@app.get("/v1/files/{file_id}")
def get_file(request: Request, file_id: str) -> dict[str, Any]:
    return file_json(owned_file(request.state.user, file_id))


@app.get("/v1/files/{file_id}/download")
def download_link(request: Request, file_id: str) -> dict[str, Any]:
    row = owned_file(request.state.user, file_id)
    seconds = lifetime(request.query_params.get("expires_in"))
    url = store.generate_presigned_url(
        "get_object",
        Params={
            "Bucket": BUCKET,
            "Key": row["object_key"],
            "ResponseContentDisposition": f'attachment; filename="{row["name"]}"',
        },
        ExpiresIn=seconds,
    )
    return {"id": row["id"], "url": url, "expires_in": seconds}


@app.delete("/v1/files/{file_id}")
def delete_file(request: Request, file_id: str) -> Response:
    row = owned_file(request.state.user, file_id)
    try:
        store.delete_object(Bucket=BUCKET, Key=row["object_key"])
    except (BotoCoreError, ClientError) as ex:
        raise ApiError(503, "the object store did not delete the file") from ex
    with pool.connection() as conn:
        conn.execute("DELETE FROM files WHERE id = %s", (row["id"],))
    return Response(status_code=204)
