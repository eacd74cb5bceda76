"""Print jobs API on Flask: render, store in one transaction, answer; reads are public."""

from __future__ import annotations

import hmac
import json
import os
import time
from typing import Any


from flask import Flask, Response, request
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

PAGE_SECONDS = 0.1
MAX_ID = 2**63 - 1

app = Flask(__name__)
pool = ConnectionPool(
    os.environ.get("DATABASE_URL", ""), min_size=1, max_size=8, open=False,
    kwargs={"row_factory": dict_row},
)  # fmt: skip


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def answer(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@app.errorhandler(Refused)
def refused(exc: Refused) -> Response:
    response = answer({"error": {"code": exc.code, "message": exc.message}}, exc.status)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response


@app.errorhandler(404)
def no_route(_exc: Exception) -> Response:
    return answer({"error": {"code": "not_found", "message": "no such resource"}}, 404)


@app.errorhandler(405)
def no_method(_exc: Exception) -> Response:
    return answer({"error": {"code": "method_not_allowed", "message": "method not allowed"}}, 405)


@app.errorhandler(Exception)
def failed(exc: Exception) -> Response:
    status = getattr(exc, "code", 500)
    status = status if isinstance(status, int) and 400 <= status < 600 else 500
    app.logger.error("request failed: %s", type(exc).__name__)
    return answer({"error": {"code": "error", "message": "the request failed"}}, status)


def conn() -> Any:
    if pool.closed:
        pool.open(wait=True, timeout=30)
    return pool.connection()


def authorized() -> bool:
    secret = os.environ.get("APP_SECRET", "")
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return bool(secret) and scheme.lower() == "bearer" and hmac.compare_digest(
        token.strip().encode(), secret.encode()
    )


def valid_text(value: Any) -> bool:
    if not isinstance(value, str) or not 1 <= len(value) <= 100 or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def read_job() -> tuple[str, int]:
    try:
        body = json.loads(request.get_data().decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise Refused(422, "validation_error", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise Refused(422, "validation_error", "the body must be a JSON object")
    document, pages = body.get("document"), body.get("pages")
    if not valid_text(document):
        raise Refused(422, "validation_error", "document: a string of 1 to 100 characters")
    if type(pages) is not int or not 1 <= pages <= 10:
        raise Refused(422, "validation_error", "pages: an integer from 1 to 10")
    return document, pages


def shown(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "document": row["document"], "pages": row["pages"],
            "created_at": row["created_at"].isoformat()}  # fmt: skip


@app.get("/health")
def health() -> Response:
    return answer({"status": "ok"})


@app.post("/v1/print-jobs")
def create() -> Response:
    if not authorized():
        raise Refused(401, "unauthorized", "a valid bearer token is required")
    document, pages = read_job()
    rendered = []
    for number in range(1, pages + 1):
        time.sleep(PAGE_SECONDS)
        rendered.append(f"{document} - page {number} of {pages}")
    with conn() as db, db.transaction():
        row = db.execute(
            "INSERT INTO print_jobs (document, pages) VALUES (%s, %s)"
            " RETURNING id, document, pages, created_at",
            (document, pages),
        ).fetchone()
        db.cursor().executemany(
            "INSERT INTO print_job_pages (job_id, number, content) VALUES (%s, %s, %s)",
            [(row["id"], n, text) for n, text in enumerate(rendered, 1)],
        )
    return answer(shown(row), 201)


def query_int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise Refused(422, "validation_error", f"{name}: an integer from {low} to {high}")
    return int(raw)


@app.get("/v1/print-jobs")
def listing() -> Response:
    limit = query_int("limit", 20, 1, 100)
    offset = query_int("offset", 0, 0, MAX_ID)
    with conn() as db:
        total = db.execute("SELECT count(*) AS n FROM print_jobs").fetchone()["n"]
        rows = db.execute(
            "SELECT id, document, pages, created_at FROM print_jobs"
            " ORDER BY id DESC LIMIT %s OFFSET %s",
            (limit, offset),
        ).fetchall()
    return answer({"items": [shown(r) for r in rows], "total": total,
                   "limit": limit, "offset": offset})  # fmt: skip


@app.get("/v1/print-jobs/<job_id>")
def one(job_id: str) -> Response:
    if not job_id.isascii() or not job_id.isdigit() or not 1 <= int(job_id) <= MAX_ID:
        raise Refused(404, "not_found", "print job not found")
    with conn() as db:
        row = db.execute(
            "SELECT id, document, pages, created_at FROM print_jobs WHERE id = %s", (int(job_id),)
        ).fetchone()
    if row is None:
        raise Refused(404, "not_found", "print job not found")
    return answer(shown(row))



