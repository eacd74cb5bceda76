"""Member accounts on Flask: access tokens are HS256 JWTs naming their session (checked against
PostgreSQL on every request), refresh tokens are random strings kept as SHA-256 digests, and
the login throttle lives in Redis (sorted sets of failures, lock keys with a TTL, a Redis lock
per username)."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import time
from typing import Any

import jwt
import psycopg
import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Response, g, request
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

MAX_BODY = 1024 * 1024
BODY_PATHS = frozenset({"/v1/accounts", "/v1/sessions", "/v1/sessions/refresh"})
USERNAME = re.compile(r"[A-Za-z0-9_.-]{3,64}")
ACCOUNT_LIMIT, CLIENT_LIMIT = 5, 300
WINDOW = LOCK = 15 * 60
REFRESH_SECONDS = 30 * 24 * 3600
SECRET = os.environ.get("APP_SECRET") or secrets.token_hex(32)
raw_seconds = os.environ.get("ACCESS_TOKEN_SECONDS", "900").strip()
ACCESS_SECONDS = int(raw_seconds) if raw_seconds.isdigit() and int(raw_seconds) > 0 else 900

SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    id SERIAL PRIMARY KEY,
    username TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX IF NOT EXISTS accounts_username_lower ON accounts (lower(username));
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id),
    ended BOOLEAN NOT NULL DEFAULT false
);
CREATE TABLE IF NOT EXISTS refresh_tokens (
    sha256 TEXT PRIMARY KEY,
    session_id TEXT NOT NULL REFERENCES sessions (id),
    issued_at DOUBLE PRECISION NOT NULL,
    used BOOLEAN NOT NULL DEFAULT false
);
"""

hasher = PasswordHasher(time_cost=3, memory_cost=19456, parallelism=1)
UNKNOWN = hasher.hash("no account has this password, it only spends the time")
db = ConnectionPool(os.environ["DATABASE_URL"], min_size=1, max_size=12, open=True)
store = redis.Redis.from_url(os.environ["REDIS_URL"], decode_responses=True)

with db.connection() as conn:
    conn.execute("SELECT pg_advisory_xact_lock(880021)")
    conn.execute(SCHEMA)

app = Flask(__name__)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, **headers: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def answer(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status, headers or {}, mimetype="application/json")


@app.errorhandler(Refused)
def refused(exc: Refused) -> Response:
    return answer({"error": {"code": exc.code, "message": exc.message}}, exc.status, exc.headers)


@app.errorhandler(HTTPException)
def http_error(exc: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.code or 500, "http_error")
    return answer({"error": {"code": code, "message": exc.description or ""}}, exc.code or 500)


@app.before_request
def read_json_body() -> None:
    """The body operations: 413 over 1 MiB, 415 unless JSON, 422 unless a JSON object."""
    if request.method != "POST" or request.path not in BODY_PATHS:
        return
    data = request.stream.read(MAX_BODY + 1)
    if len(data) > MAX_BODY or (request.content_length or 0) > MAX_BODY:
        # read the rest (up to 16 MiB), so that the client still sending it gets the answer
        for _ in range(16 * 16):
            if not request.stream.read(64 * 1024):
                break
        raise Refused(413, "payload_too_large", "the body is over 1 MiB")
    if request.mimetype != "application/json":
        raise Refused(415, "unsupported_media_type", "the body must be application/json")
    try:
        body = json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep
        raise Refused(422, "validation_error", "the body is not UTF-8 JSON") from None
    if not isinstance(body, dict):
        raise Refused(422, "validation_error", "the body must be a JSON object")
    g.body = body


def text_field(name: str) -> str:
    value = g.body.get(name)
    if not isinstance(value, str):
        raise Refused(422, "validation_error", f"{name} must be a string")
    return value


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def password_ok(stored: str, password: str) -> bool:
    try:
        return hasher.verify(stored, password.encode("utf-8", "surrogatepass"))
    except (VerificationError, InvalidHashError):
        return False


# -- sessions --------------------------------------------------------------------------------


def new_pair(conn: psycopg.Connection, session_id: str) -> dict[str, Any]:
    now = time.time()
    access = jwt.encode(
        {"sid": session_id, "jti": secrets.token_hex(8), "exp": math.ceil(now) + ACCESS_SECONDS},
        SECRET,
        algorithm="HS256",
    )
    refresh = secrets.token_urlsafe(40)
    conn.execute(
        "INSERT INTO refresh_tokens (sha256, session_id, issued_at) VALUES (%s, %s, %s)",
        (sha256(refresh), session_id, now),
    )
    return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
            "expires_in": ACCESS_SECONDS}  # fmt: skip


def current_session(conn: psycopg.Connection) -> tuple[str, int, str]:
    """(session id, account id, username) of the request's live access token, else 401."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    nobody = Refused(401, "unauthorized", "a valid access token is needed",
                     **{"WWW-Authenticate": "Bearer"})  # fmt: skip
    if scheme.lower() != "bearer" or not token:
        raise nobody
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["exp"]})
    except jwt.PyJWTError:
        raise nobody from None
    if not isinstance(claims.get("sid"), str):
        raise nobody
    row = conn.execute(
        "SELECT s.id, a.id, a.username FROM sessions s JOIN accounts a ON a.id = s.account_id "
        "WHERE s.id = %s AND NOT s.ended",
        (claims["sid"],),
    ).fetchone()
    if row is None:
        raise nobody
    return row


# -- the throttle (Redis) --------------------------------------------------------------------


def lock_left(keys: list[str]) -> int:
    left = max(store.pttl(f"lock:{key}") for key in keys)
    return max(1, math.ceil(left / 1000)) if left > 0 else 0


def failed(key: str, limit: int) -> None:
    now = time.time()
    with store.pipeline() as pipe:
        pipe.zadd(f"fail:{key}", {secrets.token_hex(8): now})
        pipe.zremrangebyscore(f"fail:{key}", 0, now - WINDOW)
        pipe.zcard(f"fail:{key}")
        pipe.expire(f"fail:{key}", WINDOW)
        count = pipe.execute()[2]
    if count >= limit:
        with store.pipeline() as pipe:
            pipe.set(f"lock:{key}", "1", ex=LOCK)
            pipe.delete(f"fail:{key}")
            pipe.execute()


# -- routes ----------------------------------------------------------------------------------


@app.get("/health")
def health() -> Response:
    return answer({"status": "ok"})


@app.post("/v1/accounts")
def register() -> Response:
    username, password = text_field("username"), text_field("password")
    if not USERNAME.fullmatch(username):
        raise Refused(422, "validation_error", "username: 3 to 64 of A-Z a-z 0-9 _ - .")
    if not 12 <= len(password) <= 128 or "\x00" in password:
        raise Refused(422, "validation_error", "password: 12 to 128 characters, no U+0000")
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise Refused(422, "validation_error", "password: not valid Unicode") from None
    hashed = hasher.hash(password)
    try:
        with db.connection() as conn:
            row = conn.execute(
                "INSERT INTO accounts (username, password_hash) VALUES (%s, %s) RETURNING id",
                (username, hashed),
            ).fetchone()
    except psycopg.errors.UniqueViolation:
        raise Refused(409, "username_taken", "that username is taken") from None
    return answer({"id": row[0], "username": username}, 201)


@app.post("/v1/sessions")
def login() -> Response:
    username, password = text_field("username"), text_field("password")
    name_key = "name:" + sha256(username.lower())
    client_key = "addr:" + (request.remote_addr or "")
    with store.lock(f"mutex:{name_key}", timeout=30, blocking_timeout=30):
        left = lock_left([name_key, client_key])
        if left:
            raise Refused(429, "too_many_attempts", "locked after too many failed logins",
                          **{"Retry-After": str(left)})  # fmt: skip
        row = None
        with db.connection() as conn:
            if USERNAME.fullmatch(username):
                row = conn.execute(
                    "SELECT id, password_hash FROM accounts WHERE lower(username) = lower(%s)",
                    (username,),
                ).fetchone()
            good = password_ok(row[1] if row else UNKNOWN, password)
            if row is not None and good:
                session_id = secrets.token_hex(16)
                conn.execute(
                    "INSERT INTO sessions (id, account_id) VALUES (%s, %s)", (session_id, row[0])
                )
                return answer(new_pair(conn, session_id))
        failed(name_key, ACCOUNT_LIMIT)
        failed(client_key, CLIENT_LIMIT)
    raise Refused(401, "invalid_credentials", "wrong username or password")


@app.post("/v1/sessions/refresh")
def refresh() -> Response:
    token = text_field("refresh_token")
    nobody = Refused(401, "unauthorized", "invalid refresh token")
    with db.connection() as conn:
        row = conn.execute(
            "SELECT r.session_id, r.used, s.ended, r.issued_at FROM refresh_tokens r "
            "JOIN sessions s ON s.id = r.session_id WHERE r.sha256 = %s FOR UPDATE",
            (sha256(token),),
        ).fetchone()
        if row is None or row[2] or row[3] + REFRESH_SECONDS < time.time():
            raise nobody
        if row[1]:
            conn.execute("UPDATE sessions SET ended = true WHERE id = %s", (row[0],))
            conn.commit()
            raise nobody
        conn.execute("UPDATE refresh_tokens SET used = true WHERE sha256 = %s", (sha256(token),))
        return answer(new_pair(conn, row[0]))


@app.post("/v1/sessions/logout")
def logout() -> Response:
    with db.connection() as conn:
        session_id, _, _ = current_session(conn)
        conn.execute("UPDATE sessions SET ended = true WHERE id = %s", (session_id,))
    return Response(status=204)


@app.get("/v1/me")
def me() -> Response:
    with db.connection() as conn:
        _, account_id, username = current_session(conn)
    return answer({"id": account_id, "username": username})
