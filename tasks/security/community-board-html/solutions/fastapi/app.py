"""Community board in FastAPI: Jinja2 templates in the module, psycopg's async pool, argon2id
with OWASP's minimum parameters, and CSRF tokens derived from the session id with an HMAC
(nothing stored for them)."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import Argon2Error
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import DictLoader, Environment, select_autoescape
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

LIMIT = 1 << 20
NEWEST = 50
BIGGEST_ID = 9223372036854775807
SECRET = os.environ.get("APP_SECRET", "") or secrets.token_hex(32)
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
SCHEMA = """
SELECT pg_advisory_xact_lock(5150);
CREATE TABLE IF NOT EXISTS users (
    id serial PRIMARY KEY,
    username varchar(40) NOT NULL UNIQUE,
    password_hash varchar(200) NOT NULL
);
CREATE TABLE IF NOT EXISTS posts (
    id serial PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id),
    title varchar(200) NOT NULL,
    body varchar(10000) NOT NULL,
    link varchar(2000) NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS posts_newest ON posts (id DESC);
CREATE TABLE IF NOT EXISTS sessions (
    key_digest bytea PRIMARY KEY,
    user_id integer NOT NULL REFERENCES users (id)
);
"""

TEMPLATES = {
    "layout": """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{% block head %}Board{% endblock %}</title></head>
<body><header>
<a href="/">Board</a> | <a href="/search">Search</a> |
{% if user %}signed in as <strong>{{ user.username }}</strong> | <a href="/posts/new">Write</a>
<form action="/logout" method="post"><input type="hidden" name="csrf_token" value="{{ user.csrf }}"><input type="submit" value="Sign out"></form>
{% else %}<a href="/login">Sign in</a> | <a href="/signup">Register</a>{% endif %}
</header>
{% block content %}{% endblock %}
</body></html>""",
    "list": """<ol>{% for p in posts %}
<li><a href="/posts/{{ p.id }}" title="{{ p.title }}">{{ p.title }}</a> &mdash; <em>{{ p.username }}</em>
{% if p.link %}<small><a href="{{ p.link }}" rel="noopener noreferrer nofollow">{{ p.link }}</a></small>{% endif %}</li>
{% endfor %}</ol>""",
    "home": """{% extends "layout" %}{% block content %}<h2>Newest</h2>{% include "list" %}{% endblock %}""",
    "search": """{% extends "layout" %}{% block content %}
<form action="/search" method="get"><input name="q" value="{{ q }}"><input type="submit" value="Find"></form>
{% if q %}<h2>Results for {{ q }}</h2>{% include "list" %}{% endif %}{% endblock %}""",
    "post": """{% extends "layout" %}{% block head %}{{ post.title }}{% endblock %}{% block content %}
<h2>{{ post.title }}</h2><p>posted by {{ post.username }}</p><pre>{{ post.body }}</pre>
{% if post.link %}<p>Link: <a href="{{ post.link }}" rel="noopener noreferrer nofollow">{{ post.link }}</a></p>{% endif %}
{% endblock %}""",
    "write": """{% extends "layout" %}{% block content %}
<form action="/posts" method="post">
<input type="hidden" name="csrf_token" value="{{ user.csrf }}">
<p><input name="title" placeholder="Title"></p>
<p><textarea name="body"></textarea></p>
<p><input name="link" placeholder="https://..."></p>
<p><input type="submit" value="Publish"></p></form>{% endblock %}""",
    "login": """{% extends "layout" %}{% block content %}
{% if problem %}<p>{{ problem }}</p>{% endif %}
<form action="/login{% if next %}?next={{ next|urlencode }}{% endif %}" method="post">
<input name="username"> <input type="password" name="password"> <input type="submit" value="Sign in">
</form>{% endblock %}""",
    "signup": """{% extends "layout" %}{% block content %}
<form action="/signup" method="post">
<input name="username"> <input type="password" name="password"> <input type="submit" value="Register">
</form>{% endblock %}""",
    "problem": """{% extends "layout" %}{% block content %}<h2>{{ code }}</h2><p>{{ problem }}</p>{% endblock %}""",
}
env = Environment(loader=DictLoader(TEMPLATES), autoescape=select_autoescape(default=True))

pool = AsyncConnectionPool(
    os.environ["DATABASE_URL"], min_size=1, max_size=10, open=False,
    kwargs={"row_factory": dict_row, "autocommit": True},
)  # fmt: skip


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    await pool.open(wait=True)
    async with pool.connection() as conn, conn.transaction():
        await conn.execute(SCHEMA)
    yield
    await pool.close()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)


class Problem(Exception):
    def __init__(self, code: int, text: str) -> None:
        super().__init__(text)
        self.code, self.text = code, text


def render(request: Request, name: str, status: int = 200, **values: Any) -> HTMLResponse:
    user = getattr(request.state, "user", None)
    return HTMLResponse(env.get_template(name).render(user=user, **values), status_code=status)


def see_other(where: str) -> Response:
    return Response(status_code=303, headers={"Location": where})


@app.exception_handler(Problem)
async def problem(request: Request, exc: Problem) -> HTMLResponse:
    return render(request, "problem", exc.code, code=exc.code, problem=exc.text)


@app.exception_handler(StarletteHTTPException)
async def http_problem(request: Request, exc: StarletteHTTPException) -> HTMLResponse:
    return render(request, "problem", exc.status_code, code=exc.status_code, problem=exc.detail)


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8", "surrogateescape")).digest()


def csrf_for(key: str) -> str:
    return hmac.new(SECRET.encode(), b"csrf:" + key_digest(key), hashlib.sha256).hexdigest()


@app.middleware("http")
async def session_and_headers(request: Request, call_next: Any) -> Response:
    request.state.user = None
    key = request.cookies.get("session")
    if key and request.url.path != "/health":
        async with pool.connection() as conn:
            cur = await conn.execute(
                "SELECT u.id, u.username FROM sessions s JOIN users u ON u.id = s.user_id "
                "WHERE s.key_digest = %s",
                (key_digest(key),),
            )
            row = await cur.fetchone()
        if row:
            request.state.user = {**row, "key": key, "csrf": csrf_for(key)}
    response: Response = await call_next(request)
    if request.url.path != "/health":
        for name, value in HEADERS.items():
            response.headers[name] = value
    return response


async def form_of(request: Request) -> dict[str, list[str | None]]:
    """The decoded form: 413 past 1 MiB, 415 for another type. Undecodable values are None."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > LIMIT:
        raise Problem(413, "That form is over 1 MiB.")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > LIMIT:
            raise Problem(413, "That form is over 1 MiB.")
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/x-www-form-urlencoded":
        raise Problem(415, "Forms must be application/x-www-form-urlencoded.")
    form: dict[str, list[str | None]] = {}
    for piece in bytes(raw).split(b"&"):
        if piece:
            name, _, value = piece.partition(b"=")
            form.setdefault(decoded(name) or "\ufffe", []).append(decoded(value))
    return form


def decoded(raw: bytes) -> str | None:
    try:
        return unquote_to_bytes(raw.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return None


def fields_ok(form: dict[str, list[str | None]]) -> None:
    if "\ufffe" in form or any(len(v) != 1 or v[0] is None for v in form.values()):
        raise Problem(400, "A field was repeated or not UTF-8.")


def one(form: dict[str, list[str | None]], name: str) -> str | None:
    values = form.get(name)
    return values[0] if values else None


async def protected(request: Request) -> tuple[dict[str, Any], dict[str, list[str | None]]]:
    form = await form_of(request)
    user = request.state.user
    if user is None:
        raise Problem(403, "Sign in first.")
    sent = form.get("csrf_token") or []
    if len(sent) != 1 or not sent[0] or not hmac.compare_digest(sent[0], user["csrf"]):
        raise Problem(403, "The CSRF token did not match this session.")
    fields_ok(form)
    return user, form


async def account(request: Request) -> tuple[str, str]:
    form = await form_of(request)
    fields_ok(form)
    username, password = one(form, "username"), one(form, "password")
    if username is None or password is None:
        raise Problem(400, "Both a user name and a password are needed.")
    if not 0 < len(username) <= 40 or "\x00" in username:
        raise Problem(400, "User names have 1 to 40 characters.")
    if not 8 <= len(password) <= 128:
        raise Problem(400, "Passwords have 8 to 128 characters.")
    return username, password


argon = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def password_matches(stored: str, password: str) -> bool:
    try:
        return argon.verify(stored, password)
    except Argon2Error:
        return False


async def new_session(response: Response, user_id: int) -> Response:
    key = secrets.token_urlsafe(32)
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO sessions (key_digest, user_id) VALUES (%s, %s)", (key_digest(key), user_id)
        )
    response.set_cookie("session", key, httponly=True, samesite="lax", path="/")
    return response


def safe_next(value: str | None) -> str:
    if not value or value[0] != "/" or value[1:2] in ("/", "\\"):
        return "/"
    if "\\" in value or re.search(r"[^\x21-\x7e]", value):
        return "/"
    return value


def good_link(link: str) -> bool:
    if len(link) > 2000 or re.search(r"[\x00-\x20\x7f]", link):
        return False
    try:
        parts = urlsplit(link)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in {"http", "https"} and bool(host)


@app.get("/health")
async def health() -> JSONResponse:
    return JSONResponse({"status": "ok"})


@app.get("/signup")
async def signup_form(request: Request) -> HTMLResponse:
    return render(request, "signup")


@app.post("/signup")
async def signup(request: Request) -> Response:
    username, password = await account(request)
    hashed = await run_in_threadpool(argon.hash, password)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO users (username, password_hash) VALUES (%s, %s) "
            "ON CONFLICT DO NOTHING RETURNING id",
            (username, hashed),
        )
        row = await cur.fetchone()
    if row is None:
        raise Problem(409, "Somebody already has that user name.")
    return await new_session(see_other("/"), row["id"])


@app.get("/login")
async def login_form(request: Request) -> HTMLResponse:
    return render(request, "login", next=request.query_params.get("next", ""))


@app.post("/login")
async def login(request: Request) -> Response:
    username, password = await account(request)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, password_hash FROM users WHERE username = %s", (username,)
        )
        row = await cur.fetchone()
    ok = row is not None and await run_in_threadpool(
        password_matches, row["password_hash"], password
    )
    nxt = request.query_params.get("next")
    if not ok or row is None:
        return render(request, "login", 401, next=nxt or "", problem="Unknown name or password.")
    return await new_session(see_other(safe_next(nxt)), row["id"])


@app.post("/logout")
async def logout(request: Request) -> Response:
    user, _form = await protected(request)
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM sessions WHERE key_digest = %s", (key_digest(user["key"]),))
    response = see_other("/")
    response.delete_cookie("session", path="/", httponly=True, samesite="lax")
    return response


LISTING = (
    "SELECT p.id, p.title, p.body, p.link, u.username FROM posts p "
    "JOIN users u ON u.id = p.user_id "
)


@app.get("/")
async def home(request: Request) -> HTMLResponse:
    async with pool.connection() as conn:
        cur = await conn.execute(LISTING + "ORDER BY p.id DESC LIMIT %s", (NEWEST,))
        posts = await cur.fetchall()
    return render(request, "home", posts=posts)


@app.get("/posts/new")
async def write_form(request: Request) -> Response:
    if request.state.user is None:
        return see_other("/login?next=%2Fposts%2Fnew")
    return render(request, "write")


@app.post("/posts")
async def publish(request: Request) -> Response:
    user, form = await protected(request)
    title, body, link = one(form, "title"), one(form, "body"), one(form, "link") or ""
    if title is None or not 0 < len(title) <= 200 or "\x00" in title:
        raise Problem(400, "Titles have 1 to 200 characters.")
    if body is None or not 0 < len(body) <= 10000 or "\x00" in body:
        raise Problem(400, "Bodies have 1 to 10000 characters.")
    if link and not good_link(link):
        raise Problem(400, "Links must be http or https URLs.")
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO posts (user_id, title, body, link) VALUES (%s, %s, %s, %s) RETURNING id",
            (user["id"], title, body, link),
        )
        row = await cur.fetchone()
    assert row is not None
    return see_other(f"/posts/{row['id']}")


@app.get("/posts/{post_id}")
async def read_post(request: Request, post_id: str) -> HTMLResponse:
    if not re.fullmatch(r"[0-9]{1,19}", post_id) or not 0 < int(post_id) <= BIGGEST_ID:
        raise Problem(404, "There is no such post.")
    async with pool.connection() as conn:
        cur = await conn.execute(LISTING + "WHERE p.id = %s", (int(post_id),))
        post = await cur.fetchone()
    if post is None:
        raise Problem(404, "There is no such post.")
    return render(request, "post", post=post)


@app.get("/search")
async def search(request: Request) -> HTMLResponse:
    q = request.query_params.get("q", "")
    if len(q) > 100 or "\x00" in q:
        raise Problem(400, "Search terms have at most 100 characters.")
    posts: list[dict[str, Any]] = []
    if q:
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", q) + "%"
        async with pool.connection() as conn:
            cur = await conn.execute(
                LISTING + "WHERE p.title ILIKE %s OR p.body ILIKE %s ORDER BY p.id DESC LIMIT %s",
                (pattern, pattern, NEWEST),
            )
            posts = await cur.fetchall()
    return render(request, "search", q=q, posts=posts)
