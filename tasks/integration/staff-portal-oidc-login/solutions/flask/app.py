"""Staff portal sign-in on Flask: OpenID Connect with state, nonce and PKCE, ID tokens checked
with PyJWT against the provider's JWKS, sessions kept in PostgreSQL."""

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from urllib.parse import urlencode

import jwt
import psycopg
import requests
from flask import Flask, jsonify, make_response, redirect, request
from jwt.algorithms import RSAAlgorithm
from psycopg_pool import ConnectionPool

ISSUER = os.environ["OIDC_ISSUER"].rstrip("/")
CLIENT_ID = os.environ["OIDC_CLIENT_ID"]
CLIENT_SECRET = os.environ["OIDC_CLIENT_SECRET"]
CALLBACK = "http://127.0.0.1:%s/auth/callback" % os.environ["PORT"]
DATABASE_URL = os.environ["DATABASE_URL"]

TABLES = """
CREATE TABLE IF NOT EXISTS users (
    id bigserial PRIMARY KEY,
    sub text NOT NULL UNIQUE,
    email text,
    name text,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS sessions (
    id bigserial PRIMARY KEY,
    token_hash text NOT NULL UNIQUE,
    user_sub text NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_logins (
    cookie_hash text PRIMARY KEY,
    state text NOT NULL,
    nonce text NOT NULL,
    verifier text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now()
);
"""


def make_tables():
    with psycopg.connect(DATABASE_URL, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(731905)")
        try:
            conn.execute(TABLES)
        finally:
            conn.execute("SELECT pg_advisory_unlock(731905)")


make_tables()
app = Flask(__name__)
_pool = None
_pool_lock = threading.Lock()
_provider = {}
_provider_lock = threading.Lock()
web = requests.Session()


def db():
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ConnectionPool(DATABASE_URL, min_size=1, max_size=8, kwargs={"autocommit": True})
        return _pool


class Failure(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@app.errorhandler(Failure)
def failure(err):
    return jsonify(error={"code": err.code, "message": err.message}), err.status


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def provider_json(url):
    try:
        got = web.get(url, timeout=(3, 5))
        if got.status_code != 200:
            raise ValueError(got.status_code)
        data = got.json()
    except (requests.RequestException, ValueError):
        raise Failure(502, "provider_unavailable", "the identity provider is unavailable")
    if not isinstance(data, dict):
        raise Failure(502, "provider_unavailable", "the identity provider answered oddly")
    return data


def endpoint(name):
    with _provider_lock:
        if "config" not in _provider:
            _provider["config"] = provider_json(ISSUER + "/.well-known/openid-configuration")
        url = _provider["config"].get(name)
    if not url:
        raise Failure(502, "provider_unavailable", "the discovery document lacks " + name)
    return url


def public_key(kid):
    for refresh in (False, True):
        with _provider_lock:
            keys = _provider.get("keys")
        if refresh or keys is None:
            keys = provider_json(endpoint("jwks_uri")).get("keys") or []
            with _provider_lock:
                _provider["keys"] = keys
        for jwk in keys:
            if jwk.get("kid") == kid and jwk.get("kty") == "RSA":
                return RSAAlgorithm.from_jwk(jwk)
    raise Failure(401, "invalid_token", "unknown signing key")


@app.get("/health")
def health():
    return jsonify(status="ok")


@app.get("/auth/login")
def login():
    target = endpoint("authorization_endpoint")
    cookie = secrets.token_urlsafe(32)
    state = secrets.token_urlsafe(24)
    nonce = secrets.token_urlsafe(24)
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode()
    with db().connection() as conn:
        conn.execute("DELETE FROM pending_logins WHERE started_at < now() - interval '1 hour'")
        conn.execute(
            "INSERT INTO pending_logins (cookie_hash, state, nonce, verifier) VALUES (%s, %s, %s, %s)",
            (sha256(cookie), state, nonce, verifier),
        )
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": CALLBACK,
        "scope": "openid email profile",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge.rstrip("="),
        "code_challenge_method": "S256",
    }
    sep = "&" if "?" in target else "?"
    resp = redirect(target + sep + urlencode(params), code=302)
    resp.set_cookie("portal_login", cookie, max_age=900, path="/", httponly=True, samesite="Lax")
    return resp


def pop_pending(state):
    cookie = request.cookies.get("portal_login")
    row = None
    if cookie:
        with db().connection() as conn:
            row = conn.execute(
                "DELETE FROM pending_logins WHERE cookie_hash = %s"
                " AND started_at > now() - interval '15 minutes' RETURNING state, nonce, verifier",
                (sha256(cookie),),
            ).fetchone()
    if row is None or not state or not hmac.compare_digest(row[0].encode(), state.encode()):
        raise Failure(400, "invalid_state", "this callback does not match a login of this browser")
    return row[1], row[2]


def redeem(code, verifier):
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    deadline = time.monotonic() + 5
    try:
        got = web.post(endpoint("token_endpoint"), data=form, timeout=(3, 5), stream=True)
        body = b""
        for chunk in got.iter_content(8192):
            body += chunk
            if time.monotonic() > deadline:
                raise requests.Timeout("the token endpoint is too slow")
    except requests.RequestException:
        raise Failure(502, "provider_unavailable", "the token endpoint did not answer")
    if 400 <= got.status_code <= 499:
        raise Failure(401, "invalid_grant", "the identity provider refused the code")
    if got.status_code != 200:
        raise Failure(502, "provider_unavailable", "the token endpoint failed")
    try:
        token = requests.models.complexjson.loads(body).get("id_token")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str):
        raise Failure(502, "provider_unavailable", "the token endpoint gave no ID token")
    return token


def check_id_token(token, nonce):
    try:
        head = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise Failure(401, "invalid_token", "malformed ID token")
    if head.get("alg") != "RS256":
        raise Failure(401, "invalid_token", "ID token not signed with RS256")
    key = public_key(head.get("kid"))
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["RS256"],
            audience=CLIENT_ID,
            issuer=ISSUER,
            leeway=10,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.InvalidTokenError as err:
        raise Failure(401, "invalid_token", "ID token refused: %s" % err)
    got = claims.get("nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
        raise Failure(401, "invalid_token", "ID token nonce mismatch")
    return claims


def claim(claims, name):
    value = claims.get(name)
    return value if isinstance(value, str) else None


@app.get("/auth/callback")
def callback():
    nonce, verifier = pop_pending(request.args.get("state"))
    code = request.args.get("code")
    if not code:
        raise Failure(400, "invalid_request", "the callback carries no code")
    claims = check_id_token(redeem(code, verifier), nonce)
    user = {"sub": claims["sub"], "email": claim(claims, "email"), "name": claim(claims, "name")}
    token = secrets.token_urlsafe(32)
    with db().connection() as conn:
        with conn.transaction():
            conn.execute(
                "INSERT INTO users (sub, email, name) VALUES (%s, %s, %s) ON CONFLICT (sub)"
                " DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, updated_at = now()",
                (user["sub"], user["email"], user["name"]),
            )
            conn.execute(
                "INSERT INTO sessions (token_hash, user_sub, expires_at)"
                " VALUES (%s, %s, now() + interval '8 hours')",
                (sha256(token), user["sub"]),
            )
    resp = make_response(jsonify(user), 200)
    resp.set_cookie("portal_session", token, path="/", httponly=True, samesite="Lax")
    resp.delete_cookie("portal_login", path="/", httponly=True, samesite="Lax")
    return resp


@app.get("/v1/me")
def me():
    token = request.cookies.get("portal_session")
    row = None
    if token:
        with db().connection() as conn:
            row = conn.execute(
                "SELECT users.sub, users.email, users.name FROM sessions"
                " JOIN users ON users.sub = sessions.user_sub"
                " WHERE sessions.token_hash = %s AND sessions.expires_at > now()",
                (sha256(token),),
            ).fetchone()
    if row is None:
        raise Failure(401, "unauthenticated", "sign in first")
    return jsonify(sub=row[0], email=row[1], name=row[2])


@app.post("/auth/logout")
def logout():
    token = request.cookies.get("portal_session")
    if token:
        with db().connection() as conn:
            conn.execute("DELETE FROM sessions WHERE token_hash = %s", (sha256(token),))
    resp = make_response("", 204)
    resp.delete_cookie("portal_session", path="/", httponly=True, samesite="Lax")
    return resp
