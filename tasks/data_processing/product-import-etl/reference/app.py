"""Product imports: CSV, NDJSON and JSON bodies upserted into PostgreSQL by sku (reference).

CSV and NDJSON bodies are read as a stream, a chunk at a time, parsed record by record in a
worker thread and written in batches, so memory stays bounded whatever the body's size.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.from_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

import records
import store

MAX_JSON_BODY = 1024 * 1024
MAX_ID = 2**63 - 1
MEDIA_TYPES = {"text/csv": "csv", "application/x-ndjson": "ndjson", "application/json": "json"}
STATUS_CODES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
                413: "payload_too_large", 415: "unsupported_media_type",
                422: "validation_error"}  # fmt: skip


class ApiError(Exception):
    """An error answered with the shared JSON error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    body = {"error": {"code": code, "message": message}}
    return JSONResponse(status_code=status, content=body, headers=headers)


@asynccontextmanager
async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
    store.pool.open(wait=True)
    await run_in_threadpool(store.create_schema)
    yield
    store.pool.close()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.exception_handler(ApiError)
async def api_error_handler(_: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message)


@app.exception_handler(StarletteHTTPException)
async def http_error_handler(_: Request, exc: StarletteHTTPException) -> JSONResponse:
    code = STATUS_CODES.get(exc.status_code, "error")
    return error_response(exc.status_code, code, str(exc.detail))


@app.exception_handler(RequestValidationError)
async def validation_error_handler(_: Request, exc: RequestValidationError) -> JSONResponse:
    return error_response(422, "validation_error", "the request is not valid")


@app.exception_handler(Exception)
async def internal_error_handler(_: Request, exc: Exception) -> JSONResponse:
    return error_response(500, "internal_error", "internal error")


def authorize(request: Request) -> None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    secret = os.environ.get("APP_SECRET", "")
    if scheme.lower() != "bearer" or not secret or not hmac.compare_digest(
        token.encode(), secret.encode()
    ):
        raise ApiError(401, "unauthorized", "a valid bearer token is required")


def body_format(content_type: str | None) -> str:
    """csv, ndjson or json from the Content-Type; 415 for anything else."""
    media, *params = (content_type or "").split(";")
    fmt = MEDIA_TYPES.get(media.strip().lower())
    for param in params:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip().strip('"').lower() != "utf-8":
            fmt = None
    if fmt is None:
        raise ApiError(415, "unsupported_media_type",
                       "send text/csv, application/x-ndjson or application/json (UTF-8)")  # fmt: skip
    return fmt


def parse_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise ApiError(404, "not_found", "no import with that id")
    return int(raw)


@app.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/imports", status_code=201)
async def create_import(request: Request) -> dict[str, Any]:
    authorize(request)
    fmt = body_format(request.headers.get("content-type"))
    if fmt == "json":
        items = await read_json_array(request)
        return await run_in_threadpool(store.Import("json").run, records.array_records(items))
    parse = records.csv_records if fmt == "csv" else records.ndjson_records
    try:
        return await anyio.to_thread.run_sync(store.Import(fmt).run, parse(body_chunks(request)))
    except records.BadHeader as bad:
        raise ApiError(422, "validation_error", str(bad)) from None


def body_chunks(request: Request) -> Iterator[bytes]:
    """The request body, a chunk at a time, pulled from the event loop by a worker thread."""
    stream = request.stream()

    async def next_chunk() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while (chunk := anyio.from_thread.run(next_chunk)) is not None:
        if chunk:
            yield chunk


async def read_json_array(request: Request) -> list[Any]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_JSON_BODY:
        raise ApiError(413, "payload_too_large", "a JSON body may hold at most 1 MiB")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_JSON_BODY:
            raise ApiError(413, "payload_too_large", "a JSON body may hold at most 1 MiB")
    try:
        items = records.load_json(bytes(body).removeprefix(b"\xef\xbb\xbf").decode("utf-8"))
    except ValueError:
        raise ApiError(422, "validation_error", "the body is not UTF-8 JSON") from None
    if not isinstance(items, list):
        raise ApiError(422, "validation_error", "a JSON body is an array of products")
    return items


@app.get("/v1/imports/{import_id}")
async def get_import(import_id: str, request: Request) -> dict[str, Any]:
    authorize(request)
    found = await run_in_threadpool(store.find_import, parse_id(import_id))
    if found is None:
        raise ApiError(404, "not_found", "no import with that id")
    return found


@app.get("/v1/products/{sku}")
async def get_product(sku: str, request: Request) -> dict[str, Any]:
    authorize(request)
    # text PostgreSQL cannot hold names no product: a NUL or a lone surrogate
    found = None if records.BAD_TEXT.search(sku) else await run_in_threadpool(store.find_product, sku)
    if found is None:
        raise ApiError(404, "not_found", "no product with that sku")
    return found
