"""Events and registrations API in Flask over psycopg; every input checked by hand, no schema
library: each check returns a reason or None, and a request collects them all."""

import hmac
import json
import math
import os
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Optional
from urllib.parse import unquote_to_bytes

from flask import Flask, Response, g, jsonify, request
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool
from werkzeug.exceptions import HTTPException

MAX_ID = 2**63 - 1
MAX_BODY = 1 << 20
DRAIN_LIMIT = 16 << 20

DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:Z|([+-])(\d{2}):(\d{2}))", re.ASCII
)
TAG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
URL_CHARS = "A-Za-z0-9._~!$&'()*+,;=:@/-"
WEBSITE = re.compile(
    r"https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?"
    r"(?:/(?:[" + URL_CHARS + r"]|%[0-9A-Fa-f]{2})*)?"
    r"(?:\?(?:[" + URL_CHARS + r"?]|%[0-9A-Fa-f]{2})*)?"
    r"(?:#(?:[" + URL_CHARS + r"?]|%[0-9A-Fa-f]{2})*)?"
)
EMAIL_LOCAL = re.compile(r"[A-Za-z0-9._%+-]{1,64}")
EMAIL_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
EMAIL_TLD = re.compile(r"[A-Za-z]{2,63}")
DIGITS = re.compile(r"[0-9]+")

CATEGORIES = {"conference", "workshop", "meetup", "webinar"}
CURRENCIES = {"EUR", "USD", "GBP", "JPY", "CHF"}
TICKETS = {"standard", "vip", "student"}
ORDERS = {
    "starts_at": "starts_at, id",
    "-starts_at": "starts_at DESC, id",
    "price_cents": "price_cents, id",
    "-price_cents": "price_cents DESC, id",
    "id": "id",
    "-id": "id DESC",
}

TABLES = """
CREATE TABLE IF NOT EXISTS events (
    id bigserial PRIMARY KEY,
    title text NOT NULL,
    description text NOT NULL,
    starts_at timestamptz NOT NULL,
    ends_at timestamptz,
    capacity integer NOT NULL,
    category text NOT NULL,
    tags text[] NOT NULL,
    price_cents bigint NOT NULL,
    currency text NOT NULL,
    website text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS registrations (
    id bigserial PRIMARY KEY,
    event_id bigint NOT NULL REFERENCES events (id),
    email text NOT NULL,
    name text NOT NULL,
    ticket_type text NOT NULL,
    seats integer NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS registrations_by_event ON registrations (event_id);
"""

EVENT_SELECT = (
    "SELECT e.*, (SELECT coalesce(sum(r.seats), 0) FROM registrations r "
    "WHERE r.event_id = e.id) AS seats_taken FROM events e"
)

db = ConnectionPool(
    os.environ["DATABASE_URL"], min_size=1, max_size=10, kwargs={"row_factory": dict_row}
)
with db.connection() as conn:
    # two gunicorn workers start at once: one creates the tables, the other waits for it
    conn.execute("SELECT pg_advisory_xact_lock(91317)")
    conn.execute(TABLES)

app = Flask(__name__)


class Refused(Exception):
    def __init__(self, status: int, code: str, message: str, fields: Optional[dict] = None):
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def error(status: int, code: str, message: str, fields: Optional[dict] = None) -> Response:
    body: dict = {"code": code, "message": message}
    if fields is not None:
        body["fields"] = [{"field": k, "reason": v} for k, v in fields.items()]
    response = jsonify({"error": body})
    response.status_code = status
    return response


def invalid(fields: dict, message: str = "validation failed") -> Refused:
    return Refused(422, "validation_error", message, fields)


@app.errorhandler(Refused)
def on_refused(exc: Refused) -> Response:
    return error(exc.status, exc.code, exc.message, exc.fields)


@app.errorhandler(HTTPException)
def on_http_error(exc: HTTPException) -> Response:
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    status = exc.code or 500
    return error(status, codes.get(status, "http_error"), exc.description or "")


@app.errorhandler(Exception)
def on_crash(_exc: Exception) -> Response:
    return error(500, "internal_error", "internal error")


# -- the gate: 401, 413, 415 ---------------------------------------------------------------------


def drain() -> None:
    left = DRAIN_LIMIT
    while left > 0:
        chunk = request.stream.read(min(65536, left))
        if not chunk:
            return
        left -= len(chunk)


def read_capped() -> Optional[bytes]:
    chunks, size = [], 0
    while True:
        chunk = request.stream.read(65536)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)


def secret_ok(header: str) -> bool:
    scheme, _, token = header.partition(" ")
    secret = os.environ.get("APP_SECRET", "").encode()
    return scheme.lower() == "bearer" and hmac.compare_digest(
        token.encode("utf-8", "surrogateescape"), secret
    )


@app.before_request
def gate() -> Optional[Response]:
    if not request.path.startswith("/v1/"):
        return None
    if not secret_ok(request.headers.get("Authorization", "")):
        drain()
        response = error(401, "unauthorized", "the bearer secret is missing or wrong")
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    if request.method in ("POST", "PUT", "PATCH"):
        data = None if (request.content_length or 0) > MAX_BODY else read_capped()
        if data is None:
            drain()
            return error(413, "payload_too_large", "the body is over 1 MiB")
        if request.mimetype != "application/json":
            return error(415, "unsupported_media_type", "the body must be application/json")
        g.raw = data
    return None


# -- checks: each returns the value to keep, or raises Bad with a reason --------------------------


class Bad(Exception):
    pass


def no_controls(text: str, allowed: str = "") -> None:
    for ch in text:
        code = ord(ch)
        if (code < 32 or 127 <= code <= 159) and ch not in allowed:
            raise Bad("holds a control character")
        if 0xD800 <= code <= 0xDFFF:
            raise Bad("is not valid Unicode")


def a_string(value: Any) -> str:
    if not isinstance(value, str):
        raise Bad("must be a string")
    return value


def an_int(value: Any, low: int, high: int) -> int:
    if type(value) is not int:
        raise Bad("must be a JSON integer")
    if not low <= value <= high:
        raise Bad(f"must be from {low} to {high}")
    return value


def trimmed_text(longest: int) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        text = a_string(value)
        no_controls(text)
        text = text.strip(" ")
        if not text or len(text) > longest:
            raise Bad(f"must be 1 to {longest} characters once trimmed")
        return text

    return check


def description(value: Any) -> str:
    text = a_string(value)
    no_controls(text, "\n\t")
    if len(text) > 2000:
        raise Bad("at most 2000 characters")
    return text


def date_time(value: Any) -> datetime:
    text = a_string(value)
    m = DATE_TIME.fullmatch(text)
    if not m:
        raise Bad("must be YYYY-MM-DDTHH:MM:SS followed by Z or +HH:MM")
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    if not 1900 <= year <= 2999:
        raise Bad("the year must be 1900 to 2999")
    sign, off_h, off_m = m.group(7), m.group(8), m.group(9)
    offset = 0
    if sign:
        if int(off_h) > 23 or int(off_m) > 59:
            raise Bad("bad offset")
        offset = (int(off_h) * 60 + int(off_m)) * (1 if sign == "+" else -1)
    try:
        zone = timezone(timedelta(minutes=offset))
        return datetime(year, month, day, hour, minute, second, tzinfo=zone)
    except ValueError:
        raise Bad("no such date or time") from None


def one_of(allowed: set) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in allowed:
            raise Bad("must be one of " + ", ".join(sorted(allowed)))
        return value

    return check


def tags(value: Any) -> list:
    if not isinstance(value, list):
        raise Bad("must be an array")
    if len(value) > 10:
        raise Bad("at most 10 tags")
    for tag in value:
        if not isinstance(tag, str) or not 1 <= len(tag) <= 30 or not TAG.fullmatch(tag):
            raise Bad("each tag must be a lower-case slug")
    if len(set(value)) < len(value):
        raise Bad("no tag twice")
    return value


def website(value: Any) -> str:
    text = a_string(value)
    if len(text) > 2048 or not WEBSITE.fullmatch(text):
        raise Bad("must be an http(s) URL")
    return text


def email(value: Any) -> str:
    text = a_string(value)
    if len(text) > 254 or text.count("@") != 1:
        raise Bad("not an email address")
    local, domain = text.split("@")
    labels = domain.split(".")
    ok = (
        EMAIL_LOCAL.fullmatch(local) is not None
        and not local.startswith(".")
        and not local.endswith(".")
        and ".." not in local
        and len(labels) >= 2
        and all(EMAIL_LABEL.fullmatch(label) for label in labels[:-1])
        and EMAIL_TLD.fullmatch(labels[-1]) is not None
    )
    if not ok:
        raise Bad("not an email address")
    return text


EVENT_FIELDS: dict = {
    "title": trimmed_text(120),
    "description": description,
    "starts_at": date_time,
    "ends_at": date_time,
    "capacity": lambda v: an_int(v, 1, 10000),
    "category": one_of(CATEGORIES),
    "tags": tags,
    "price_cents": lambda v: an_int(v, 0, 100_000_000),
    "currency": one_of(CURRENCIES),
    "website": website,
}
EVENT_REQUIRED = ("title", "starts_at", "capacity", "category", "currency")
EVENT_DEFAULTS = {"description": "", "ends_at": None, "tags": [], "price_cents": 0, "website": None}
REGISTRATION_FIELDS: dict = {
    "email": email,
    "name": trimmed_text(100),
    "ticket_type": one_of(TICKETS),
    "seats": lambda v: an_int(v, 1, 10),
}
REGISTRATION_REQUIRED = ("email", "name", "ticket_type")


class Huge:
    """An integer literal too long to be in any range (int() would refuse it anyway)."""


def read_body() -> tuple:
    """The body's object and the keys it repeats."""
    repeated: list = []

    def hook(pairs: list) -> dict:
        out: dict = {}
        for key, value in pairs:
            if key in out and key not in repeated:
                repeated.append(key)
            out[key] = value
        return out

    def reject(name: str) -> Any:
        raise ValueError(name)

    try:
        value = json.loads(
            g.raw.decode("utf-8"),
            object_pairs_hook=hook,
            parse_constant=reject,
            parse_int=lambda s: int(s) if len(s) < 40 else Huge(),
        )
    except (ValueError, RecursionError):
        raise invalid({}, "the body is not UTF-8 JSON") from None
    if not isinstance(value, dict):
        raise invalid({}, "the body must be a JSON object")
    return value, repeated


def check_body(fields: dict, required: tuple) -> dict:
    body, repeated = read_body()
    problems = {key: "given twice" for key in repeated}
    clean: dict = {}
    for key, value in body.items():
        if key not in fields:
            problems.setdefault(key, "unknown field")
            continue
        if value is None:
            problems.setdefault(key, "may not be null")
            continue
        try:
            clean[key] = fields[key](value)
        except Bad as exc:
            problems.setdefault(key, str(exc))
    for key in required:
        if key not in body:
            problems.setdefault(key, "is required")
    g.problems = problems
    return clean


def fail_if_problems() -> None:
    if g.problems:
        raise invalid(g.problems)


def event_id(raw: str) -> int:
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_ID:
        raise Refused(404, "not_found", "no such event")
    return int(raw)


def utc(value: Optional[datetime]) -> Optional[str]:
    if value is None:
        return None
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def show_event(row: dict) -> dict:
    return {
        "id": row["id"], "title": row["title"], "description": row["description"],
        "starts_at": utc(row["starts_at"]), "ends_at": utc(row["ends_at"]),
        "capacity": row["capacity"], "category": row["category"], "tags": row["tags"],
        "price_cents": row["price_cents"], "currency": row["currency"],
        "website": row["website"], "seats_taken": int(row["seats_taken"]),
        "created_at": utc(row["created_at"]),
    }  # fmt: skip


# -- routes --------------------------------------------------------------------------------------


@app.get("/health")
def health() -> Any:
    return {"status": "ok"}


@app.post("/v1/events")
def create_event() -> Any:
    values = {**EVENT_DEFAULTS, **check_body(EVENT_FIELDS, EVENT_REQUIRED)}
    starts, ends = values.get("starts_at"), values.get("ends_at")
    if starts is not None and ends is not None and ends < starts:
        g.problems.setdefault("ends_at", "may not be earlier than starts_at")
    fail_if_problems()
    with db.connection() as conn:
        row = conn.execute(
            "WITH e AS (INSERT INTO events (title, description, starts_at, ends_at, capacity, "
            "category, tags, price_cents, currency, website) VALUES (%(title)s, "
            "%(description)s, %(starts_at)s, %(ends_at)s, %(capacity)s, %(category)s, "
            "%(tags)s::text[], %(price_cents)s, %(currency)s, %(website)s) RETURNING *) "
            "SELECT e.*, 0 AS seats_taken FROM e",
            values,
        ).fetchone()
    return show_event(row), 201


def list_query() -> dict:
    """The listing's parameters read from the raw query string, each checked."""
    seen: dict = {}
    problems: dict = {}
    for part in request.query_string.split(b"&"):
        if not part:
            continue
        raw_key, _, raw_value = part.partition(b"=")
        key = unquote_to_bytes(raw_key.replace(b"+", b" ")).decode("utf-8", "replace")
        if key in seen or key in problems:
            problems[key] = "given more than once"
            continue
        try:
            seen[key] = unquote_to_bytes(raw_value.replace(b"+", b" ")).decode("utf-8")
        except UnicodeDecodeError:
            problems[key] = "not UTF-8"
    checks: dict = {
        "limit": lambda v: bounded(v, 1, 100),
        "offset": lambda v: bounded(v, 0, 100_000),
        "sort": one_of(set(ORDERS)),
        "category": one_of(CATEGORIES),
        "starts_after": date_time,
        "q": search_text,
    }
    found: dict = {"limit": 20, "offset": 0, "sort": "starts_at"}
    for key, value in seen.items():
        if key not in checks:
            problems.setdefault(key, "unknown parameter")
            continue
        try:
            found[key] = checks[key](value)
        except Bad as exc:
            problems.setdefault(key, str(exc))
    if problems:
        raise invalid(problems, "bad query parameters")
    return found


def bounded(text: str, low: int, high: int) -> int:
    if not DIGITS.fullmatch(text) or len(text) > 9:
        raise Bad("digits only")
    if not low <= int(text) <= high:
        raise Bad(f"from {low} to {high}")
    return int(text)


def search_text(text: str) -> str:
    no_controls(text)
    if not 1 <= len(text) <= 100:
        raise Bad("1 to 100 characters")
    return text


@app.get("/v1/events")
def list_events() -> Any:
    found = list_query()
    where, args = ["TRUE"], {}
    if "category" in found:
        where.append("e.category = %(category)s")
        args["category"] = found["category"]
    if "starts_after" in found:
        where.append("e.starts_at > %(starts_after)s")
        args["starts_after"] = found["starts_after"]
    if "q" in found:
        where.append("position(%(q)s in e.title) > 0")
        args["q"] = found["q"]
    condition = " AND ".join(where)
    order = ", ".join("e." + part for part in ORDERS[found["sort"]].split(", "))
    with db.connection() as conn:
        total = conn.execute(
            f"SELECT count(*) AS n FROM events e WHERE {condition}", args
        ).fetchone()["n"]
        rows = conn.execute(
            f"{EVENT_SELECT} WHERE {condition} ORDER BY {order} "
            "LIMIT %(limit)s OFFSET %(offset)s",
            {**args, "limit": found["limit"], "offset": found["offset"]},
        ).fetchall()
    return {"items": [show_event(r) for r in rows], "total": total}


@app.get("/v1/events/<raw>")
def get_event(raw: str) -> Any:
    with db.connection() as conn:
        row = conn.execute(f"{EVENT_SELECT} WHERE e.id = %s", (event_id(raw),)).fetchone()
    if row is None:
        raise Refused(404, "not_found", "no such event")
    return show_event(row)


@app.patch("/v1/events/<raw>")
def update_event(raw: str) -> Any:
    changes = check_body(EVENT_FIELDS, ())
    fail_if_problems()
    ident = event_id(raw)
    with db.connection() as conn:
        row = conn.execute(f"{EVENT_SELECT} WHERE e.id = %s FOR UPDATE OF e", (ident,)).fetchone()
        if row is None:
            raise Refused(404, "not_found", "no such event")
        merged = {**row, **changes}
        if merged["ends_at"] is not None and merged["ends_at"] < merged["starts_at"]:
            raise invalid({"ends_at": "may not be earlier than starts_at"})
        if merged["capacity"] < row["seats_taken"]:
            raise Refused(409, "capacity_below_taken", "more seats are taken than that")
        if changes:
            conn.execute(
                "UPDATE events SET title = %(title)s, description = %(description)s, "
                "starts_at = %(starts_at)s, ends_at = %(ends_at)s, capacity = %(capacity)s, "
                "category = %(category)s, tags = %(tags)s::text[], "
                "price_cents = %(price_cents)s, currency = %(currency)s, website = %(website)s "
                "WHERE id = %(id)s",
                merged,
            )
    return show_event(merged)


@app.post("/v1/events/<raw>/registrations")
def register(raw: str) -> Any:
    values = check_body(REGISTRATION_FIELDS, REGISTRATION_REQUIRED)
    fail_if_problems()
    values.setdefault("seats", 1)
    ident = event_id(raw)
    with db.connection() as conn:
        with conn.transaction():
            event = conn.execute(
                "SELECT capacity FROM events WHERE id = %s FOR UPDATE", (ident,)
            ).fetchone()
            if event is None:
                raise Refused(404, "not_found", "no such event")
            taken = conn.execute(
                "SELECT coalesce(sum(seats), 0) AS n FROM registrations WHERE event_id = %s",
                (ident,),
            ).fetchone()["n"]
            if taken + values["seats"] > event["capacity"]:
                raise Refused(409, "not_enough_seats", "not enough seats left")
            row = conn.execute(
                "INSERT INTO registrations (event_id, email, name, ticket_type, seats, status) "
                "VALUES (%(event)s, %(email)s, %(name)s, %(ticket_type)s, %(seats)s, "
                "'confirmed') RETURNING id, event_id, email, name, ticket_type, seats, status, "
                "created_at",
                {**values, "event": ident},
            ).fetchone()
    return {**row, "created_at": utc(row["created_at"])}, 201
