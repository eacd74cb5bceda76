"""Team tasks API in Flask over psycopg; HS256 JWTs checked with the standard library alone."""

import base64
import binascii
import hashlib
import hmac
import json
import math
import os
import re
import time
from typing import Any

from flask import Flask, Response, g, jsonify, request
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

AUDIENCE = "team-tasks-api"
ISSUER = "https://id.team-tasks.test"
ROLES = {"member", "admin"}
MAX_ID = 2**63 - 1
MAX_BODY = 1 << 20
DRAIN_LIMIT = 16 << 20
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
DIGITS = re.compile(r"[0-9]+")
MISSING = object()

TABLES = """
CREATE TABLE IF NOT EXISTS projects (
    id bigserial PRIMARY KEY,
    owner_id text NOT NULL,
    name text NOT NULL
);
CREATE INDEX IF NOT EXISTS projects_by_owner ON projects (owner_id, id DESC);
CREATE TABLE IF NOT EXISTS tasks (
    id bigserial PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    title text NOT NULL,
    done boolean NOT NULL DEFAULT false
);
CREATE INDEX IF NOT EXISTS tasks_by_project ON tasks (project_id);
"""

db = ConnectionPool(
    os.environ["DATABASE_URL"], min_size=1, max_size=8, kwargs={"row_factory": dict_row}
)
with db.connection() as conn:
    # two gunicorn workers start at once: one creates the tables, the other waits for it
    conn.execute("SELECT pg_advisory_xact_lock(74211)")
    conn.execute(TABLES)

app = Flask(__name__)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error(status: int, code: str, message: str) -> Response:
    response = jsonify({"error": {"code": code, "message": message}})
    response.status_code = status
    return response


@app.errorhandler(Refused)
def on_refused(exc: Refused) -> Response:
    return error(exc.status, exc.code, exc.message)


@app.errorhandler(Exception)
def on_crash(_exc: Exception) -> Response:
    return error(500, "internal_error", "internal error")


@app.errorhandler(HTTPException)
def on_http_error(exc: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    status = exc.code or 500
    return error(status, codes.get(status, "http_error"), exc.description or "")


# -- JWT, by hand -------------------------------------------------------------------------------


def unbase64(part: str) -> bytes:
    if not BASE64URL.fullmatch(part) or len(part) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def is_number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return not isinstance(value, float) or math.isfinite(value)


def claims_of(token: str, key: bytes) -> dict[str, Any] | None:
    """The payload of an HS256 token signed with `key`, else None."""
    pieces = token.split(".")
    if len(pieces) != 3:
        return None
    header_part, payload_part, signature_part = pieces
    try:
        header = json.loads(unbase64(header_part).decode("utf-8"))
        if not isinstance(header, dict) or header.get("alg") != "HS256":
            return None
        signed = f"{header_part}.{payload_part}".encode("ascii")
        expected = hmac.new(key, signed, hashlib.sha256).digest()
        if not hmac.compare_digest(expected, unbase64(signature_part)):
            return None
        payload = json.loads(unbase64(payload_part).decode("utf-8"))
    except (ValueError, binascii.Error, RecursionError):
        return None
    return payload if isinstance(payload, dict) else None


def audience_ok(aud: Any) -> bool:
    if isinstance(aud, str):
        return aud == AUDIENCE
    return isinstance(aud, list) and all(isinstance(a, str) for a in aud) and AUDIENCE in aud


def principal(header: str) -> tuple[str, str] | None:
    """(sub, role) of a valid `Bearer <jwt>` header, else None."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    claims = claims_of(token, os.environ.get("APP_SECRET", "").encode("utf-8"))
    if claims is None:
        return None
    now = time.time()
    exp = claims.get("exp", MISSING)
    if not is_number(exp) or now >= exp:
        return None
    if "nbf" in claims and (not is_number(claims["nbf"]) or now < claims["nbf"]):
        return None
    if not audience_ok(claims.get("aud")) or claims.get("iss") != ISSUER:
        return None
    sub, role = claims.get("sub"), claims.get("role")
    if not isinstance(sub, str) or not 0 < len(sub) <= 64 or "\x00" in sub:
        return None
    if not isinstance(role, str) or role not in ROLES:
        return None
    return sub, role


# -- the gate, in the stated order: 401, 403, 413, 415 ------------------------------------------


def drain() -> None:
    """Read and drop what is left of the body, within DRAIN_LIMIT."""
    left = DRAIN_LIMIT
    while left > 0:
        chunk = request.stream.read(min(65536, left))
        if not chunk:
            return
        left -= len(chunk)


def read_capped() -> bytes | None:
    """The body, or None past MAX_BODY bytes (a chunked body has no length to check first)."""
    chunks, size = [], 0
    while True:
        chunk = request.stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)


def refuse_early(status: int, code: str, message: str) -> Response:
    drain()
    return error(status, code, message)


@app.before_request
def gate() -> Response | None:
    if not request.path.startswith("/v1/"):
        return None
    who = principal(request.headers.get("Authorization", ""))
    if who is None:
        response = refuse_early(401, "unauthorized", "a valid bearer token is required")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    g.sub, g.role = who
    if request.path.startswith("/v1/admin/") and g.role != "admin":
        return refuse_early(403, "forbidden", "admins only")
    if request.method in ("POST", "PUT", "PATCH"):
        if (request.content_length or 0) > MAX_BODY:
            return refuse_early(413, "payload_too_large", "the body is over 1 MiB")
        data = read_capped()
        if data is None:
            return refuse_early(413, "payload_too_large", "the body is over 1 MiB")
        if request.mimetype != "application/json":
            return error(415, "unsupported_media_type", "the body must be application/json")
        g.raw = data
    return None


def admin() -> bool:
    return bool(g.role == "admin")


# -- input ---------------------------------------------------------------------------------------


def invalid(message: str) -> Refused:
    return Refused(422, "validation_error", message)


def body_object() -> dict[str, Any]:
    try:
        value = json.loads(g.raw.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise invalid("the body is not UTF-8 JSON") from exc
    if not isinstance(value, dict):
        raise invalid("the body must be a JSON object")
    return value


def text(value: Any, field: str, longest: int) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= longest or "\x00" in value:
        raise invalid(f"{field}: a string of 1 to {longest} characters without NUL")
    return value


def flag(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(f"{field}: true or false")
    return value


def object_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID:
        raise Refused(404, "not_found", "nothing by that id")
    return int(raw)


def whole(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not DIGITS.fullmatch(raw) or not low <= int(raw) <= high:
        raise invalid(f"{name}: digits, from {low} to {high}")
    return int(raw)


# -- routes --------------------------------------------------------------------------------------

MINE = "(%(admin)s OR owner_id = %(sub)s)"


def who() -> dict[str, Any]:
    return {"admin": admin(), "sub": g.sub}


@app.get("/health")
def health() -> Any:
    return {"status": "ok"}


@app.post("/v1/projects")
def create_project() -> Any:
    name = text(body_object().get("name"), "name", 100)
    with db.connection() as conn:
        row = conn.execute(
            "INSERT INTO projects (owner_id, name) VALUES (%s, %s) RETURNING id, owner_id, name",
            (g.sub, name),
        ).fetchone()
    return row, 201


@app.get("/v1/projects")
def list_projects() -> Any:
    limit = whole("limit", 20, 1, 100)
    offset = whole("offset", 0, 0, 10**30)
    with db.connection() as conn:
        total = conn.execute(
            f"SELECT count(*) AS n FROM projects WHERE {MINE}", who()
        ).fetchone()["n"]
        rows = conn.execute(
            f"SELECT id, owner_id, name FROM projects WHERE {MINE} "
            "ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s",
            {**who(), "limit": limit, "offset": min(offset, MAX_ID)},
        ).fetchall()
    return {"items": rows, "total": total}


@app.get("/v1/projects/<raw>")
def get_project(raw: str) -> Any:
    with db.connection() as conn:
        row = conn.execute(
            f"SELECT id, owner_id, name FROM projects WHERE id = %(id)s AND {MINE}",
            {**who(), "id": object_id(raw)},
        ).fetchone()
    if row is None:
        raise Refused(404, "not_found", "no such project")
    return row


@app.delete("/v1/projects/<raw>")
def delete_project(raw: str) -> Any:
    with db.connection() as conn:
        gone = conn.execute(
            f"DELETE FROM projects WHERE id = %(id)s AND {MINE}", {**who(), "id": object_id(raw)}
        ).rowcount
    if not gone:
        raise Refused(404, "not_found", "no such project")
    return Response(status=204)


@app.post("/v1/projects/<raw>/tasks")
def create_task(raw: str) -> Any:
    body = body_object()
    title = text(body.get("title"), "title", 200)
    done = flag(body.get("done", False), "done")
    project = object_id(raw)
    with db.connection() as conn:
        row = conn.execute(
            "INSERT INTO tasks (project_id, title, done) "
            f"SELECT id, %(title)s, %(done)s FROM projects WHERE id = %(id)s AND {MINE} "
            "RETURNING id, project_id, title, done",
            {**who(), "id": project, "title": title, "done": done},
        ).fetchone()
    if row is None:
        raise Refused(404, "not_found", "no such project")
    return row, 201


TASK = (
    "SELECT t.id, t.project_id, t.title, t.done FROM tasks t JOIN projects p "
    "ON p.id = t.project_id WHERE t.id = %(id)s AND (%(admin)s OR p.owner_id = %(sub)s)"
)


@app.get("/v1/tasks/<raw>")
def get_task(raw: str) -> Any:
    with db.connection() as conn:
        row = conn.execute(TASK, {**who(), "id": object_id(raw)}).fetchone()
    if row is None:
        raise Refused(404, "not_found", "no such task")
    return row


@app.patch("/v1/tasks/<raw>")
def update_task(raw: str) -> Any:
    body = body_object()
    changes: dict[str, Any] = {}
    if "title" in body:
        changes["title"] = text(body["title"], "title", 200)
    if "done" in body:
        changes["done"] = flag(body["done"], "done")
    task = object_id(raw)
    with db.connection() as conn:
        row = conn.execute(TASK + " FOR UPDATE OF t", {**who(), "id": task}).fetchone()
        if row is None:
            raise Refused(404, "not_found", "no such task")
        if changes:
            row = conn.execute(
                "UPDATE tasks SET title = %(title)s, done = %(done)s WHERE id = %(id)s "
                "RETURNING id, project_id, title, done",
                {**row, **changes},
            ).fetchone()
    return row


@app.get("/v1/admin/users/<user_id>")
def user_summary(user_id: str) -> Any:
    found = {"projects": 0, "tasks": 0}
    if "\x00" not in user_id:
        with db.connection() as conn:
            found = conn.execute(
                "SELECT (SELECT count(*) FROM projects WHERE owner_id = %(u)s) AS projects, "
                "(SELECT count(*) FROM tasks t JOIN projects p ON p.id = t.project_id "
                "WHERE p.owner_id = %(u)s) AS tasks",
                {"u": user_id},
            ).fetchone()
    return {"user_id": user_id, "projects": found["projects"], "tasks": found["tasks"]}
