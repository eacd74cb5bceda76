"""Report files API on Flask behind gunicorn: raw-body uploads into S3, metadata in
PostgreSQL, SigV2 presigned download links (a second solution)."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from typing import Any

import boto3
import jwt
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from flask import Flask, g, jsonify, request
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

LIMIT = 1 << 20
DRAIN_LIMIT = 16 << 20
TYPES = ("text/csv", "text/plain", "application/json", "application/pdf")
SUB_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}\Z")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}\Z")
UUID_RE = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}\Z")
LIFETIME_RE = re.compile(r"^[0-9]+\Z")

DDL = [
    """CREATE TABLE IF NOT EXISTS files (
        id text PRIMARY KEY,
        owner text NOT NULL,
        name text NOT NULL,
        content_type text NOT NULL,
        size bigint NOT NULL,
        sha256 text NOT NULL,
        object_key text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT clock_timestamp()
    )""",
    "CREATE INDEX IF NOT EXISTS files_by_owner ON files (owner, created_at DESC)",
]
FIELDS = "id, name, content_type, size, sha256, object_key, created_at"

db = ConnectionPool(
    os.environ["DATABASE_URL"], min_size=1, max_size=16, kwargs={"row_factory": dict_row}
)
with db.connection() as setup:
    setup.execute("SELECT pg_advisory_xact_lock(42424242)")
    for statement in DDL:
        setup.execute(statement)

bucket = os.environ["S3_BUCKET"]
timeouts = {"connect_timeout": 1.5, "read_timeout": 2.5, "retries": {"total_max_attempts": 1}}
s3 = boto3.client("s3", config=Config(s3={"addressing_style": "path"}, **timeouts))
# links are signed the older way (query-string SigV2), which the store honours too
s3_links = boto3.client(
    "s3", config=Config(signature_version="s3", s3={"addressing_style": "path"}, **timeouts)
)

app = Flask(__name__)


def fail(status: int, code: str, message: str):
    response = jsonify(error={"code": code, "message": message})
    response.status_code = status
    return response


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.args3 = (status, code, message)


@app.errorhandler(Refused)
def on_refused(exc: Refused):
    return fail(*exc.args3)


@app.errorhandler(HTTPException)
def on_http_error(exc: HTTPException):
    return fail(exc.code or 500, (exc.name or "error").lower().replace(" ", "_"), exc.description or "")


def drain() -> None:
    left = DRAIN_LIMIT
    while left > 0:
        chunk = request.stream.read(min(65536, left))
        if not chunk:
            return
        left -= len(chunk)


def identify() -> str | None:
    header = request.headers.get("Authorization", "")
    parts = header.split(" ", 1)
    if len(parts) != 2 or parts[0].lower() != "bearer":
        return None
    try:
        payload = jwt.decode(
            parts[1], os.environ["APP_SECRET"], algorithms=["HS256"], audience="report-files",
            options={"require": ["exp", "aud", "sub"]},
        )  # fmt: skip
    except jwt.PyJWTError:
        return None
    sub = payload.get("sub")
    return sub if isinstance(sub, str) and SUB_RE.match(sub) else None


@app.before_request
def authenticate():
    if not request.path.startswith("/v1/"):
        return None
    g.sub = identify()
    if g.sub is None:
        drain()
        response = fail(401, "unauthorized", "a valid bearer token is required")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    return None


def read_upload() -> bytes:
    if (request.content_length or 0) > LIMIT:
        drain()
        raise Refused(413, "payload_too_large", "at most 1 MiB")
    data = bytearray()
    while True:
        chunk = request.stream.read(65536)
        if not chunk:
            return bytes(data)
        data += chunk
        if len(data) > LIMIT:
            drain()
            raise Refused(413, "payload_too_large", "at most 1 MiB")


def as_json(row: dict[str, Any]) -> dict[str, Any]:
    out = dict(row)
    out["created_at"] = row["created_at"].isoformat()
    return out


def mine(file_id: str) -> dict[str, Any]:
    if not UUID_RE.match(file_id):
        raise Refused(404, "not_found", "file not found")
    with db.connection() as conn:
        row = conn.execute(
            f"SELECT {FIELDS} FROM files WHERE id = %s AND owner = %s", (file_id, g.sub)
        ).fetchone()
    if not row:
        raise Refused(404, "not_found", "file not found")
    return row


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.post("/v1/files")
def upload():
    data = read_upload()
    content_type = request.headers.get("Content-Type", "")
    if content_type.partition(";")[0].strip().lower() not in TYPES:
        raise Refused(415, "unsupported_media_type", "type not allowed")
    name = request.headers.get("X-File-Name", "")
    if not NAME_RE.match(name):
        raise Refused(422, "validation_error", "bad X-File-Name")
    if len(data) == 0:
        raise Refused(422, "validation_error", "empty body")
    file_id = str(uuid.uuid4())
    key = "users/" + g.sub + "/" + file_id
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
    except (BotoCoreError, ClientError):
        raise Refused(503, "storage_unavailable", "the store failed") from None
    with db.connection() as conn:
        row = conn.execute(
            f"INSERT INTO files (id, owner, name, content_type, size, sha256, object_key) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING {FIELDS}",
            [file_id, g.sub, name, content_type, len(data), hashlib.sha256(data).hexdigest(), key],
        ).fetchone()
    return as_json(row), 201


@app.get("/v1/files")
def listing():
    with db.connection() as conn:
        rows = conn.execute(
            f"SELECT {FIELDS} FROM files WHERE owner = %s ORDER BY created_at DESC, id DESC "
            "LIMIT 100",
            [g.sub],
        ).fetchall()
    return {"items": [as_json(r) for r in rows]}


@app.get("/v1/files/<file_id>/download")
def download(file_id: str):
    row = mine(file_id)
    raw = request.args.get("expires_in")
    seconds = 300
    if raw is not None:
        if not LIFETIME_RE.match(raw) or not 1 <= int(raw) <= 3600:
            raise Refused(422, "validation_error", "expires_in: 1 to 3600")
        seconds = int(raw)
    url = s3_links.generate_presigned_url(
        ClientMethod="get_object",
        Params={"Bucket": bucket, "Key": row["object_key"],
                "ResponseContentDisposition": 'attachment; filename="%s"' % row["name"]},
        ExpiresIn=seconds,
    )  # fmt: skip
    return {"id": row["id"], "url": url, "expires_in": seconds}


@app.get("/v1/files/<file_id>")
def show(file_id: str):
    return as_json(mine(file_id))


@app.delete("/v1/files/<file_id>")
def remove(file_id: str):
    row = mine(file_id)
    try:
        s3.delete_object(Bucket=bucket, Key=row["object_key"])
    except (BotoCoreError, ClientError):
        raise Refused(503, "storage_unavailable", "the store failed") from None
    with db.connection() as conn:
        conn.execute("DELETE FROM files WHERE id = %s AND owner = %s", [file_id, g.sub])
    return "", 204
