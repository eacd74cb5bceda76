"""Community board in Flask: Jinja2 pages, server-side sessions in PostgreSQL, CSRF tokens."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from typing import Any
from urllib.parse import unquote_to_bytes, urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, Response, g, jsonify, render_template, request
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

MAX_BODY = 1 << 20
DRAIN_LIMIT = 16 << 20
MAX_ID = 2**63 - 1
DIGITS = re.compile(r"[0-9]+")
FORM = "application/x-www-form-urlencoded"
CSP = (
    "default-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
PAGE_SIZE = 50

TABLES = """
CREATE TABLE IF NOT EXISTS users (
    id bigserial PRIMARY KEY,
    username text NOT NULL UNIQUE,
    password_hash text NOT NULL
);
CREATE TABLE IF NOT EXISTS posts (
    id bigserial PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    title text NOT NULL,
    body text NOT NULL,
    link text
);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash text PRIMARY KEY,
    user_id bigint NOT NULL REFERENCES users (id),
    csrf_token text NOT NULL
);
"""

db = ConnectionPool(
    os.environ["DATABASE_URL"], min_size=1, max_size=8, kwargs={"row_factory": dict_row}
)
with db.connection() as conn:
    # two gunicorn workers start at once: one creates the tables, the other waits for it
    conn.execute("SELECT pg_advisory_xact_lock(74212)")
    conn.execute(TABLES)

hasher = PasswordHasher()
app = Flask(__name__)


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def page(template: str, code: int = 200, **values: Any) -> Response:
    response = Response(render_template(template, me=g.get("me"), **values), status=code)
    response.mimetype = "text/html"
    return response


def redirect(location: str) -> Response:
    return Response(b"", status=303, headers={"Location": location})


@app.errorhandler(Refused)
def on_refused(exc: Refused) -> Response:
    return page("error.html", exc.status, status=exc.status, message=exc.message)


@app.errorhandler(HTTPException)
def on_http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    return page("error.html", status, status=status, message=exc.name)


@app.errorhandler(Exception)
def on_crash(_exc: Exception) -> Response:
    return page("error.html", 500, status=500, message="Something went wrong.")


@app.after_request
def security_headers(response: Response) -> Response:
    if request.path != "/health":
        response.headers.update(SECURITY_HEADERS)
    return response


# -- sessions ------------------------------------------------------------------------------------


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


@app.before_request
def load_session() -> None:
    g.me = None
    sid = request.cookies.get("session")
    if not sid:
        return
    with db.connection() as conn:
        g.me = conn.execute(
            "SELECT s.id_hash, s.csrf_token, u.id AS user_id, u.username FROM sessions s "
            "JOIN users u ON u.id = s.user_id WHERE s.id_hash = %s",
            (digest(sid),),
        ).fetchone()


def start_session(response: Response, user_id: int) -> Response:
    sid = secrets.token_urlsafe(32)
    with db.connection() as conn:
        conn.execute(
            "INSERT INTO sessions (id_hash, user_id, csrf_token) VALUES (%s, %s, %s)",
            (digest(sid), user_id, secrets.token_urlsafe(32)),
        )
    response.set_cookie("session", sid, httponly=True, samesite="Lax", path="/")
    return response


# -- forms ---------------------------------------------------------------------------------------


def drain() -> None:
    left = DRAIN_LIMIT
    while left > 0:
        chunk = request.stream.read(min(65536, left))
        if not chunk:
            return
        left -= len(chunk)


def read_body() -> bytes:
    """The body of a form post, after the size (413) and Content-Type (415) checks."""
    if (request.content_length or 0) > MAX_BODY:
        drain()
        raise Refused(413, "The form is larger than 1 MiB.")
    chunks, size = [], 0
    while chunk := request.stream.read(65536):
        size += len(chunk)
        if size > MAX_BODY:
            drain()
            raise Refused(413, "The form is larger than 1 MiB.")
        chunks.append(chunk)
    if request.mimetype != FORM:
        raise Refused(415, "Send the form as application/x-www-form-urlencoded.")
    return b"".join(chunks)


def parse_form(data: bytes) -> dict[str, list[str | None]]:
    """Every field's values; a name or value that is not UTF-8 is None (a 400 when read)."""
    fields: dict[str, list[str | None]] = {}
    for pair in data.split(b"&"):
        if not pair:
            continue
        raw_name, _, raw_value = pair.partition(b"=")
        try:
            name = unquote_to_bytes(raw_name.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            name = "\x00invalid"
        try:
            value: str | None = unquote_to_bytes(raw_value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            value = None
        fields.setdefault(name, []).append(value)
    return fields


def check_form(fields: dict[str, list[str | None]]) -> None:
    """A repeated or undecodable field is a 400."""
    for name, values in fields.items():
        if name == "\x00invalid" or len(values) > 1 or values[0] is None:
            raise Refused(400, "The form has a repeated field or one that is not UTF-8.")


def field(fields: dict[str, list[str | None]], name: str, required: bool = True) -> str:
    values = fields.get(name)
    if not values:
        if required:
            raise Refused(400, f"The field {name} is missing.")
        return ""
    return values[0] or ""


def guarded_form() -> dict[str, list[str | None]]:
    """The form of a logged-in visitor's state-changing post, its session and token checked."""
    fields = parse_form(read_body())
    me = g.me
    tokens = fields.get("csrf_token") or []
    token = tokens[0] if len(tokens) == 1 else None
    if me is None:
        raise Refused(403, "Log in first.")
    if not token or not hmac.compare_digest(token.encode(), me["csrf_token"].encode()):
        raise Refused(403, "The form's CSRF token is missing or wrong.")
    check_form(fields)
    return fields


def credentials() -> tuple[str, str]:
    fields = parse_form(read_body())
    check_form(fields)
    username, password = field(fields, "username"), field(fields, "password")
    if not 1 <= len(username) <= 40 or "\x00" in username:
        raise Refused(400, "A user name is 1 to 40 characters.")
    if not 8 <= len(password) <= 128:
        raise Refused(400, "A password is 8 to 128 characters.")
    return username, password


def local_path(target: str | None) -> str:
    """`next` when it is a local path, else /."""
    if (
        target
        and target.startswith("/")
        and target[1:2] not in ("/", "\\")
        and "\\" not in target
        and all("\x21" <= c <= "\x7e" for c in target)
    ):
        return target
    return "/"


def valid_link(link: str) -> bool:
    if len(link) > 2000 or any(c <= "\x20" or c == "\x7f" for c in link):
        return False
    try:
        parts = urlsplit(link)
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


# -- routes --------------------------------------------------------------------------------------


@app.get("/health")
def health() -> Response:
    return jsonify({"status": "ok"})


@app.get("/signup")
def signup_page() -> Response:
    return page("signup.html")


@app.post("/signup")
def signup() -> Response:
    username, password = credentials()
    hashed = hasher.hash(password)
    with db.connection() as conn:
        row = conn.execute(
            "INSERT INTO users (username, password_hash) VALUES (%s, %s) "
            "ON CONFLICT (username) DO NOTHING RETURNING id",
            (username, hashed),
        ).fetchone()
    if row is None:
        raise Refused(409, "That user name is taken.")
    return start_session(redirect("/"), row["id"])


@app.get("/login")
def login_page() -> Response:
    return page("login.html", next=request.args.get("next", ""))


@app.post("/login")
def login() -> Response:
    username, password = credentials()
    with db.connection() as conn:
        user = conn.execute(
            "SELECT id, password_hash FROM users WHERE username = %s", (username,)
        ).fetchone()
    try:
        if user is None:
            raise VerificationError("no such user")
        hasher.verify(user["password_hash"], password)
    except (VerificationError, InvalidHashError):
        return page(
            "login.html", 401, next=request.args.get("next", ""), username=username,
            error="Wrong user name or password.",
        )  # fmt: skip
    return start_session(redirect(local_path(request.args.get("next"))), user["id"])


@app.post("/logout")
def logout() -> Response:
    guarded_form()
    with db.connection() as conn:
        conn.execute("DELETE FROM sessions WHERE id_hash = %s", (g.me["id_hash"],))
    response = redirect("/")
    response.delete_cookie("session", path="/", httponly=True, samesite="Lax")
    return response


POSTS = (
    "SELECT p.id, p.title, p.body, p.link, u.username FROM posts p "
    "JOIN users u ON u.id = p.user_id"
)


@app.get("/")
def home() -> Response:
    with db.connection() as conn:
        posts = conn.execute(f"{POSTS} ORDER BY p.id DESC LIMIT %s", (PAGE_SIZE,)).fetchall()
    return page("home.html", posts=posts)


@app.get("/posts/new")
def new_post_page() -> Response:
    if g.me is None:
        return redirect("/login?next=/posts/new")
    return page("new_post.html")


@app.post("/posts")
def create_post() -> Response:
    fields = guarded_form()
    title, body = field(fields, "title"), field(fields, "body")
    link = field(fields, "link", required=False)
    if not 1 <= len(title) <= 200 or "\x00" in title:
        raise Refused(400, "A title is 1 to 200 characters.")
    if not 1 <= len(body) <= 10000 or "\x00" in body:
        raise Refused(400, "A body is 1 to 10000 characters.")
    if link and not valid_link(link):
        raise Refused(400, "A link is an absolute http or https URL.")
    with db.connection() as conn:
        row = conn.execute(
            "INSERT INTO posts (user_id, title, body, link) VALUES (%s, %s, %s, %s) RETURNING id",
            (g.me["user_id"], title, body, link or None),
        ).fetchone()
    return redirect(f"/posts/{row['id']}")


@app.get("/posts/<post_id>")
def show_post(post_id: str) -> Response:
    if not DIGITS.fullmatch(post_id) or not 1 <= int(post_id) <= MAX_ID:
        raise Refused(404, "No such post.")
    with db.connection() as conn:
        post = conn.execute(f"{POSTS} WHERE p.id = %s", (int(post_id),)).fetchone()
    if post is None:
        raise Refused(404, "No such post.")
    return page("post.html", post=post)


@app.get("/search")
def search() -> Response:
    q = request.args.get("q", "")
    if len(q) > 100 or "\x00" in q:
        raise Refused(400, "A search term is at most 100 characters.")
    posts: list[dict[str, Any]] = []
    if q:
        with db.connection() as conn:
            posts = conn.execute(
                f"{POSTS} WHERE strpos(lower(p.title), lower(%s)) > 0 "
                "OR strpos(lower(p.body), lower(%s)) > 0 ORDER BY p.id DESC LIMIT %s",
                (q, q, PAGE_SIZE),
            ).fetchall()
    return page("search.html", q=q, posts=posts)
