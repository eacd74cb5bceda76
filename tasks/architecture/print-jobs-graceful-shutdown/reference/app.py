"""Print jobs API: jobs are rendered page by page, stored in one transaction, read back."""

from __future__ import annotations

import hmac
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

from fastapi import FastAPI, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

from store import Store

MAX_ID = 2**63 - 1
MAX_PAGES = 10
MAX_DOCUMENT = 100
PAGE_SECONDS = 0.1  # rendering one page takes 100 ms
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
STATUS_CODES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}

store = Store(os.environ.get("DATABASE_URL", ""))


class ApiError(Exception):
    """An error answered with the shared JSON error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def plain_text(value: str) -> str:
    """PostgreSQL text holds neither NUL characters nor lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode") from None
    return value


class JobIn(BaseModel):
    """Body of POST /v1/print-jobs."""

    model_config = ConfigDict(extra="ignore")

    document: StrictStr = Field(min_length=1, max_length=MAX_DOCUMENT)
    pages: StrictInt = Field(ge=1, le=MAX_PAGES)  # strict: 2.0, "2" and true are not pages

    _text = field_validator("document")(plain_text)


def parse_id(raw: str) -> int:
    """A job id from the path; anything that is not one names no job."""
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_ID:
        raise ApiError(404, "not_found", "print job not found")
    return int(raw)


def render(document: str, pages: int) -> list[str]:
    """Render the job: PAGE_SECONDS for each page, and the text of each page."""
    texts = []
    for number in range(1, pages + 1):
        time.sleep(PAGE_SECONDS)
        texts.append(f"{document} - page {number} of {pages}")
    return texts


def job_out(row: dict[str, Any]) -> dict[str, Any]:
    created: datetime = row["created_at"]
    return {**row, "created_at": created.isoformat()}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    store.open()
    try:
        yield
    finally:
        store.close()


app = FastAPI(title="Print jobs API", lifespan=lifespan)


@app.middleware("http")
async def require_bearer_for_writes(request: Request, call_next: Any) -> Response:
    """Refuse writes under /v1 without the shared bearer secret."""
    if request.method in WRITE_METHODS and request.url.path.startswith("/v1/"):
        secret = os.environ.get("APP_SECRET", "")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        valid = (
            bool(secret)
            and scheme.lower() == "bearer"
            and hmac.compare_digest(token.strip().encode(), secret.encode())
        )
        if not valid:
            response = error_response(401, "unauthorized", "missing or invalid bearer token")
            response.headers["WWW-Authenticate"] = "Bearer"
            return response
    response: Response = await call_next(request)
    return response


@app.exception_handler(ApiError)
async def api_error_handler(_request: Request, exc: ApiError) -> JSONResponse:
    return error_response(exc.status, exc.code, exc.message)


@app.exception_handler(RequestValidationError)
async def validation_error_handler(_request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 validation_error instead of FastAPI's own body."""
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        msg = err.get("msg", "invalid value")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return error_response(422, "validation_error", "; ".join(parts) or "invalid request")


@app.exception_handler(StarletteHTTPException)
async def http_error_handler(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    """Unknown routes, wrong methods and undecodable bodies get the shared body too."""
    if exc.status_code == 400:
        return error_response(422, "validation_error", str(exc.detail))
    code = STATUS_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail))


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.post("/v1/print-jobs", status_code=201)
def create_job(job: JobIn) -> dict[str, Any]:
    """Render the job, then store it with its pages; answered once it is committed."""
    pages = render(job.document, job.pages)
    return job_out(store.add_job(job.document, pages))


@app.get("/v1/print-jobs")
def list_jobs(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> dict[str, Any]:
    total, rows = store.list_jobs(limit, offset)
    return {"items": [job_out(r) for r in rows], "total": total, "limit": limit, "offset": offset}


@app.get("/v1/print-jobs/{job_id}")
def get_job(job_id: str) -> dict[str, Any]:
    row = store.get_job(parse_id(job_id))
    if row is None:
        raise ApiError(404, "not_found", "print job not found")
    return job_out(row)
