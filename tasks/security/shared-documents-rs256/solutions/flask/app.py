"""Shared documents API in Flask over psycopg; RS256 JWTs verified by hand with `cryptography`
(split, base64url, PKCS#1 v1.5 with SHA-256), no JWT library."""

import base64
import binascii
import json
import math
import os
import re
import time
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from flask import Flask, Response, g, jsonify, request
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

AUDIENCE = "shared-documents-api"
ISSUER = "https://login.docs.test"
MAX_ID = 2**63 - 1
MAX_BODY = 1 << 20
DRAIN_LIMIT = 16 << 20
BASE64URL = re.compile(r"[A-Za-z0-9_-]*")
DIGITS = re.compile(r"[0-9]+")
MISSING = object()

PEMS = {
    "docs-2026-a": b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA2sG3fdCgxlz15OKXeRO2
IUU1/dKNtQ9G6izyOkfcTiT8F56W+sw0uIJecvF39yVWIliNObj8qnqFnT9ONLla
0qOYBmp5GaZf83QOWSFIdOsUDOaqYEVKBYBjnOBZ29F6NPORzTw49M5D13fDLOLV
D/3AOC84reUQktIryDgr8J2MyD0HAfiLNLbicSH/paiyULw9K/lyU+uM5Xq6hGtn
Bkw4aiE7mrVnzYtXB2dNVaJZMY2agZUzaZVd61a+Y6KfDF/4/FVIz7c8le07oyWX
cY6m8ZxGwU43kdH+h+RNahjNemMsBiQxnvk+k4SbrRsCljo4v4opRV7nfd5MROAP
bQIDAQAB
-----END PUBLIC KEY-----
""",
    "docs-2026-b": b"""-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAkvwoljpTqfi2yyjxgyzM
VGGWdCq/sOJuSG73dMD9/ONHEOA6cvTWsSkH+Ql259Zn3Rm74vVsAVFQwtAa/3Gb
n1KgdWhMsp9KdtQf5HSbv32KfikKz0KpfqFDll/H9P+8VC9z4IY/cizj5CiYk6Q2
WCst9c7NZ+Z9nJpgz58k/EGkdBeAxbEEp/T6FTzhqpmE5zn0W7cSCS6Y+B49yimh
tOp0DfvYAMoKHhloUxFqQC6EnB6br2qK7+1EPMbC8ZDJKWzuuPP71CdLRsNE/7DD
P5/IVzug9Rgtcdf7u2xyOlC3G/22Z0XqanQj+dFq8gBKYvDw72KQAMnNf3UGaYlM
EQIDAQAB
-----END PUBLIC KEY-----
""",
}
KEYS: dict[str, rsa.RSAPublicKey] = {}
for _kid, _pem in PEMS.items():
    _key = load_pem_public_key(_pem)
    assert isinstance(_key, rsa.RSAPublicKey)
    KEYS[_kid] = _key

TABLES = """
CREATE TABLE IF NOT EXISTS documents (
    id bigserial PRIMARY KEY,
    owner_id text NOT NULL,
    title text NOT NULL,
    body text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS documents_by_owner ON documents (owner_id, id DESC);
CREATE TABLE IF NOT EXISTS document_shares (
    document_id bigint NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
    user_id text NOT NULL,
    UNIQUE (document_id, user_id)
);
CREATE INDEX IF NOT EXISTS document_shares_by_user ON document_shares (user_id);
"""

db = ConnectionPool(
    os.environ["DATABASE_URL"], min_size=1, max_size=8, kwargs={"row_factory": dict_row}
)
with db.connection() as conn:
    # two gunicorn workers start at once: one creates the tables, the other waits for it
    conn.execute("SELECT pg_advisory_xact_lock(74212)")
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


def claims_of(token: str) -> dict[str, Any] | None:
    """The payload of an RS256 token signed by the provider key its kid names, else None."""
    pieces = token.split(".")
    if len(pieces) != 3:
        return None
    header_part, payload_part, signature_part = pieces
    try:
        header = json.loads(unbase64(header_part).decode("utf-8"))
        if not isinstance(header, dict) or header.get("alg") != "RS256":
            return None
        kid = header.get("kid")
        key = KEYS.get(kid) if isinstance(kid, str) else None
        if key is None:
            return None
        signed = f"{header_part}.{payload_part}".encode("ascii")
        key.verify(unbase64(signature_part), signed, padding.PKCS1v15(), hashes.SHA256())
        payload = json.loads(unbase64(payload_part).decode("utf-8"))
    except (ValueError, binascii.Error, RecursionError, InvalidSignature):
        return None
    return payload if isinstance(payload, dict) else None


def audience_ok(aud: Any) -> bool:
    if isinstance(aud, str):
        return aud == AUDIENCE
    return isinstance(aud, list) and all(isinstance(a, str) for a in aud) and AUDIENCE in aud


def principal(header: str) -> tuple[str, bool] | None:
    """(sub, admin) of a valid `Bearer <jwt>` header, else None."""
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    claims = claims_of(token)
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
    sub, scope = claims.get("sub"), claims.get("scope", "")
    if not isinstance(sub, str) or not 0 < len(sub) <= 64 or "\x00" in sub:
        return None
    if not isinstance(scope, str):
        return None
    return sub, "docs:admin" in scope.split(" ")


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
    g.sub, g.admin = who
    if request.path.startswith("/v1/admin/") and not g.admin:
        return refuse_early(403, "forbidden", "the docs:admin scope is required")
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


def text(value: Any, field: str, shortest: int, longest: int) -> str:
    if not isinstance(value, str) or not shortest <= len(value) <= longest or "\x00" in value:
        raise invalid(f"{field}: a string of {shortest} to {longest} characters without NUL")
    return value


def readers(value: Any) -> list[str]:
    if not isinstance(value, list) or len(value) > 20:
        raise invalid("shared_with: an array of at most 20 user ids")
    ids = [text(v, "shared_with[]", 1, 64) for v in value]
    if len(set(ids)) != len(ids):
        raise invalid("shared_with: a user id is repeated")
    return ids


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

COLUMNS = (
    "d.id, d.owner_id, d.title, d.body, ARRAY(SELECT s.user_id FROM document_shares s "
    "WHERE s.document_id = d.id) AS shared_with"
)
VISIBLE = (
    "(d.owner_id = %(sub)s OR d.id IN "
    "(SELECT document_id FROM document_shares WHERE user_id = %(sub)s))"
)


def fetch(conn: Any, ident: int, write: bool) -> dict[str, Any]:
    row = conn.execute(
        f"SELECT {COLUMNS} FROM documents d WHERE d.id = %(id)s" + (" FOR UPDATE" if write else ""),
        {"id": ident},
    ).fetchone()
    if row is None or (row["owner_id"] != g.sub and g.sub not in row["shared_with"]):
        raise Refused(404, "not_found", "no such document")
    if write and row["owner_id"] != g.sub:
        raise Refused(403, "forbidden", "only its owner changes a document")
    return dict(row)


def set_readers(conn: Any, ident: int, ids: list[str]) -> None:
    conn.execute("DELETE FROM document_shares WHERE document_id = %s", (ident,))
    for user_id in ids:
        conn.execute(
            "INSERT INTO document_shares (document_id, user_id) VALUES (%s, %s)", (ident, user_id)
        )


@app.get("/health")
def health() -> Any:
    return {"status": "ok"}


@app.post("/v1/documents")
def create_document() -> Any:
    body = body_object()
    title = text(body.get("title"), "title", 1, 200)
    content = text(body.get("body", ""), "body", 0, 20000)
    ids = readers(body.get("shared_with", []))
    with db.connection() as conn:
        row = conn.execute(
            "INSERT INTO documents (owner_id, title, body) VALUES (%s, %s, %s) "
            "RETURNING id, owner_id, title, body",
            (g.sub, title, content),
        ).fetchone()
        set_readers(conn, row["id"], ids)
    return {**row, "shared_with": ids}, 201


@app.get("/v1/documents")
def list_documents() -> Any:
    limit = whole("limit", 20, 1, 100)
    offset = whole("offset", 0, 0, 10**30)
    with db.connection() as conn:
        total = conn.execute(
            f"SELECT count(*) AS n FROM documents d WHERE {VISIBLE}", {"sub": g.sub}
        ).fetchone()["n"]
        rows = conn.execute(
            f"SELECT {COLUMNS} FROM documents d WHERE {VISIBLE} "
            "ORDER BY d.id DESC LIMIT %(limit)s OFFSET %(offset)s",
            {"sub": g.sub, "limit": limit, "offset": min(offset, MAX_ID)},
        ).fetchall()
    return {"items": rows, "total": total}


@app.get("/v1/documents/<raw>")
def get_document(raw: str) -> Any:
    ident = object_id(raw)
    with db.connection() as conn:
        return fetch(conn, ident, write=False)


@app.patch("/v1/documents/<raw>")
def update_document(raw: str) -> Any:
    body = body_object()
    changes: dict[str, Any] = {}
    if "title" in body:
        changes["title"] = text(body["title"], "title", 1, 200)
    if "body" in body:
        changes["body"] = text(body["body"], "body", 0, 20000)
    ids = readers(body["shared_with"]) if "shared_with" in body else None
    ident = object_id(raw)
    with db.connection() as conn:
        row = fetch(conn, ident, write=True)
        if changes:
            row.update(changes)
            conn.execute(
                "UPDATE documents SET title = %(title)s, body = %(body)s WHERE id = %(id)s", row
            )
        if ids is not None:
            set_readers(conn, ident, ids)
            row["shared_with"] = ids
    return row


@app.delete("/v1/documents/<raw>")
def delete_document(raw: str) -> Any:
    ident = object_id(raw)
    with db.connection() as conn:
        fetch(conn, ident, write=True)
        conn.execute("DELETE FROM documents WHERE id = %s", (ident,))
    return Response(status=204)


@app.get("/v1/admin/users/<user_id>")
def user_summary(user_id: str) -> Any:
    found = {"documents": 0, "shared": 0}
    if "\x00" not in user_id:
        with db.connection() as conn:
            found = conn.execute(
                "SELECT (SELECT count(*) FROM documents WHERE owner_id = %(u)s) AS documents, "
                "(SELECT count(*) FROM document_shares WHERE user_id = %(u)s) AS shared",
                {"u": user_id},
            ).fetchone()
    return {"user_id": user_id, "documents": found["documents"], "shared": found["shared"]}
