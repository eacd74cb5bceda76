"""Staff portal sign-in: OpenID Connect authorization code flow (state, nonce, PKCE S256),
RS256 ID tokens verified against the provider's JWKS, server-side sessions in PostgreSQL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from psycopg_pool import ConnectionPool

ISSUER = os.environ["OIDC_ISSUER"].rstrip("/")
CLIENT_ID = os.environ["OIDC_CLIENT_ID"]
CLIENT_SECRET = os.environ["OIDC_CLIENT_SECRET"]
REDIRECT_URI = f"http://127.0.0.1:{os.environ['PORT']}/auth/callback"
SCOPE = "openid email profile"
PROVIDER_TIMEOUT = 5.0
LOGIN_COOKIE = "portal_login"
SESSION_COOKIE = "portal_session"
ATTEMPT_SECONDS = 600
SESSION_HOURS = 8
CLOCK_SKEW = 30

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    sub text PRIMARY KEY,
    email text,
    name text,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_login_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash text PRIMARY KEY,
    user_sub text NOT NULL REFERENCES users (sub),
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS login_attempts (
    id_hash text PRIMARY KEY,
    state text NOT NULL,
    nonce text NOT NULL,
    code_verifier text NOT NULL,
    expires_at timestamptz NOT NULL
);
"""

pool = ConnectionPool(os.environ["DATABASE_URL"], min_size=1, max_size=10, open=False)
http = httpx.Client(timeout=PROVIDER_TIMEOUT, trust_env=False)
_cache: dict[str, Any] = {}
_cache_lock = threading.Lock()


class Refusal(Exception):
    """A request the portal answers with an error body."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@asynccontextmanager
async def lifespan(_: FastAPI):  # type: ignore[no-untyped-def]
    pool.open()
    with pool.connection() as conn:
        conn.execute(SCHEMA)
    yield
    pool.close()


app = FastAPI(lifespan=lifespan)


@app.exception_handler(Refusal)
async def refusal(_: Request, exc: Refusal) -> JSONResponse:
    return JSONResponse({"error": {"code": exc.code, "message": exc.message}}, exc.status)


def digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def unavailable(message: str) -> Refusal:
    return Refusal(502, "provider_unavailable", message)


def fetch_json(url: str) -> dict[str, Any]:
    try:
        answer = http.get(url)
        answer.raise_for_status()
        body = answer.json()
    except (httpx.HTTPError, ValueError) as ex:
        raise unavailable(f"the provider did not answer: {type(ex).__name__}") from None
    if not isinstance(body, dict):
        raise unavailable("the provider answered something unexpected")
    return body


def discovery() -> dict[str, Any]:
    with _cache_lock:
        if "discovery" not in _cache:
            _cache["discovery"] = fetch_json(f"{ISSUER}/.well-known/openid-configuration")
        return _cache["discovery"]


def signing_key(kid: str | None) -> Any:
    """The JWKS key of that kid, fetching the JWKS again once when it is not known."""
    jwks_uri = discovery_url("jwks_uri")
    for fresh in (False, True):
        with _cache_lock:
            if fresh or "jwks" not in _cache:
                _cache["jwks"] = fetch_json(jwks_uri)
            keys = _cache["jwks"].get("keys", [])
        for key in keys:
            if key.get("kid") == kid and key.get("kty") == "RSA":
                return jwt.PyJWK(key, algorithm="RS256").key
    raise Refusal(401, "invalid_token", "the ID token's key is not the provider's")


def discovery_url(name: str) -> str:
    url = discovery().get(name)
    if not isinstance(url, str):
        raise unavailable(f"the discovery document has no {name}")
    return url


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/auth/login")
def start_login() -> Response:
    authorize = discovery_url("authorization_endpoint")
    attempt, state, nonce = (secrets.token_urlsafe(32) for _ in range(3))
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    with pool.connection() as conn:
        conn.execute("DELETE FROM login_attempts WHERE expires_at < now()")
        conn.execute(
            "INSERT INTO login_attempts (id_hash, state, nonce, code_verifier, expires_at)"
            " VALUES (%s, %s, %s, %s, now() + make_interval(secs => %s))",
            (digest(attempt), state, nonce, verifier, ATTEMPT_SECONDS),
        )
    query = urlencode(
        {
            "response_type": "code", "client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI,
            "scope": SCOPE, "state": state, "nonce": nonce,
            "code_challenge": challenge.rstrip(b"=").decode(), "code_challenge_method": "S256",
        }
    )  # fmt: skip
    joiner = "&" if "?" in authorize else "?"
    answer = RedirectResponse(
        authorize + joiner + query, status_code=302, headers={"Content-Type": "text/plain"}
    )
    answer.set_cookie(
        LOGIN_COOKIE, attempt, max_age=ATTEMPT_SECONDS, path="/", httponly=True, samesite="lax"
    )
    return answer


def take_attempt(cookie: str | None, state: str | None) -> tuple[str, str]:
    """The attempt's nonce and code verifier, used up now; refused unless the state matches."""
    if not cookie:
        raise Refusal(400, "invalid_state", "no login attempt in this browser")
    with pool.connection() as conn:
        row = conn.execute(
            "DELETE FROM login_attempts WHERE id_hash = %s AND expires_at > now()"
            " RETURNING state, nonce, code_verifier",
            (digest(cookie),),
        ).fetchone()
    if row is None or state is None or not hmac.compare_digest(row[0], state):
        raise Refusal(400, "invalid_state", "the state does not match a pending login")
    return row[1], row[2]


def exchange(code: str, verifier: str) -> str:
    """The ID token the provider gives for the code."""
    form = {
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier,
    }  # fmt: skip
    try:
        answer = http.post(
            discovery_url("token_endpoint"), data=form, auth=(CLIENT_ID, CLIENT_SECRET)
        )
    except httpx.HTTPError as ex:
        raise unavailable(f"the token endpoint did not answer: {type(ex).__name__}") from None
    if 400 <= answer.status_code < 500:
        raise Refusal(401, "invalid_grant", "the provider refused the code")
    if answer.status_code != 200:
        raise unavailable(f"the token endpoint answered {answer.status_code}")
    try:
        id_token = answer.json().get("id_token")
    except (ValueError, AttributeError):
        id_token = None
    if not isinstance(id_token, str):
        raise unavailable("the token endpoint gave no id_token")
    return id_token


def verify(id_token: str, nonce: str) -> dict[str, Any]:
    """The ID token's claims, once its signature, issuer, audience, expiry and nonce hold."""
    try:
        header = jwt.get_unverified_header(id_token)
    except jwt.PyJWTError:
        raise Refusal(401, "invalid_token", "the ID token is malformed") from None
    if header.get("alg") != "RS256":
        raise Refusal(401, "invalid_token", "the ID token is not signed with RS256")
    key = signing_key(header.get("kid"))
    try:
        claims = jwt.decode(
            id_token, key, algorithms=["RS256"], audience=CLIENT_ID, issuer=ISSUER,
            leeway=CLOCK_SKEW, options={"require": ["exp", "iss", "aud", "sub"]},
        )  # fmt: skip
    except jwt.PyJWTError as ex:
        raise Refusal(401, "invalid_token", f"the ID token is refused: {ex}") from None
    if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(
        claims["nonce"], nonce
    ):
        raise Refusal(401, "invalid_token", "the ID token's nonce is not this login's")
    return claims


def text_claim(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return value if isinstance(value, str) else None


@app.get("/auth/callback")
def complete_login(request: Request, code: str | None = None, state: str | None = None) -> Response:
    nonce, verifier = take_attempt(request.cookies.get(LOGIN_COOKIE), state)
    if not code:
        raise Refusal(400, "invalid_request", "the callback has no code")
    claims = verify(exchange(code, verifier), nonce)
    user = {
        "sub": claims["sub"], "email": text_claim(claims, "email"),
        "name": text_claim(claims, "name"),
    }  # fmt: skip
    token = secrets.token_urlsafe(32)
    with pool.connection() as conn, conn.transaction():
        conn.execute(
            "INSERT INTO users (sub, email, name) VALUES (%(sub)s, %(email)s, %(name)s)"
            " ON CONFLICT (sub) DO UPDATE SET email = excluded.email, name = excluded.name,"
            " last_login_at = now()",
            user,
        )
        conn.execute(
            "INSERT INTO sessions (token_hash, user_sub, expires_at)"
            " VALUES (%s, %s, now() + make_interval(hours => %s))",
            (digest(token), user["sub"], SESSION_HOURS),
        )
    answer = JSONResponse(user)
    answer.set_cookie(SESSION_COOKIE, token, path="/", httponly=True, samesite="lax")
    answer.delete_cookie(LOGIN_COOKIE, path="/", httponly=True, samesite="lax")
    return answer


@app.get("/v1/me")
def me(request: Request) -> dict[str, Any]:
    token = request.cookies.get(SESSION_COOKIE)
    row = None
    if token:
        with pool.connection() as conn:
            row = conn.execute(
                "SELECT u.sub, u.email, u.name FROM sessions s JOIN users u ON u.sub = s.user_sub"
                " WHERE s.token_hash = %s AND s.expires_at > now()",
                (digest(token),),
            ).fetchone()
    if row is None:
        raise Refusal(401, "unauthenticated", "no live session")
    return {"sub": row[0], "email": row[1], "name": row[2]}


@app.post("/auth/logout", status_code=204)
def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with pool.connection() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = %s", (digest(token),))
    answer = Response(status_code=204)
    answer.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return answer
