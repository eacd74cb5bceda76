"""What the payments tests share: test cards, a payment body, the error body check, and a reader
of the server's output that waits for a request's JSON lines and looks for secrets in it."""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from psycopg import sql

OUTPUT_BYTES = 4 * 1024 * 1024
WAIT_SECONDS = 5.0
OUTAGE_CARD = "4000000000000119"
LEVELS = {"debug", "info", "warning", "error", "critical"}
RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|\+00:00)"
)
ROUTES = {None, "/health", "/v1/payments", "/v1/payments/{payment_id}"}
_random = random.SystemRandom()


def luhn_digit(body: str) -> str:
    """The check digit that makes `body` + it pass the Luhn check."""
    total = 0
    for i, char in enumerate(reversed(body)):
        value = int(char) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def new_card(length: int = 16) -> str:
    """A Luhn-valid card number no other test or run uses (its digits drawn at random)."""
    body = "4" + "".join(_random.choice("0123456789") for _ in range(length - 2))
    return body + luhn_digit(body)


def new_cvc() -> str:
    return "".join(_random.choice("123456789") for _ in range(4))


def new_email() -> str:
    domain = "".join(_random.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))
    return f"cust{uuid.uuid4().hex[:10]}@pay-{domain}.example"


def masked(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[0]}***@{domain}"


def payment_body(**fields: Any) -> dict[str, Any]:
    """A valid body with a fresh card, CVC and email; `field=...` leaves a field out."""
    card = new_card()
    cvc = new_cvc()
    while cvc in card[-4:]:  # the CVC's digits never look like the last four, which are logged
        cvc = new_cvc()
    body = {"amount_cents": 1250, "currency": "EUR", "card_number": card, "cvc": cvc,
            "email": new_email(), "description": "order forty-two"}  # fmt: skip
    body.update(fields)
    return {k: v for k, v in body.items() if v is not ...}


def is_uuid4(value: Any) -> bool:
    """A UUID version 4 in canonical lowercase form."""
    try:
        parsed = uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        return False
    return parsed.version == 4 and str(parsed) == value


def request_id_of(response: httpx.Response) -> str:
    """The answer's one X-Request-ID, a canonical lowercase UUID4."""
    values = response.headers.get_list("x-request-id")
    where = (response.request.method, str(response.request.url), response.status_code)
    assert len(values) == 1, ("X-Request-ID must appear once", values, where)
    assert is_uuid4(values[0]), ("X-Request-ID is not a canonical lowercase UUID4", values, where)
    return values[0]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """`status` with {"error": {"code": code, "message": <text>, "request_id": <the header>}}."""
    assert response.status_code == status, (
        response.request.method, str(response.request.url), response.status_code,
        response.text[:300],
    )  # fmt: skip
    assert response.headers.get("content-type", "").startswith("application/json"), response
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict) and error.get("code") == code, body
    assert isinstance(error.get("message"), str) and error["message"], body
    assert error.get("request_id") == request_id_of(response), (body, response.headers)
    return error


def output(server: Any) -> str:
    return str(server.output(size=OUTPUT_BYTES))


def parsed_lines(text: str) -> Iterator[tuple[str, Any]]:
    """Every non-empty line of the output and its JSON value (None when it is not JSON)."""
    for line in text.split("\n"):  # not splitlines: a JSON string may hold U+2028 or U+0085
        line = line.removesuffix("\r")
        if not line.strip():
            continue
        try:
            yield line, json.loads(line)
        except ValueError:
            yield line, None


def json_lines(text: str) -> list[dict[str, Any]]:
    return [value for _, value in parsed_lines(text) if isinstance(value, dict)]


def wait_for_output(
    server: Any, ready: Callable[[str], bool], seconds: float = WAIT_SECONDS
) -> str:
    """The server's output once `ready` holds for it (the last output read when time runs out:
    the caller's assertions then say what is missing)."""
    deadline = time.monotonic() + seconds
    text = output(server)
    while not ready(text) and time.monotonic() < deadline:
        time.sleep(0.1)
        text = output(server)
    return text


def lines_of(text: str, request_id: str, event: str | None = None) -> list[dict[str, Any]]:
    return [
        line for line in json_lines(text)
        if line.get("request_id") == request_id and (event is None or line.get("event") == event)
    ]  # fmt: skip


def the_line(server: Any, request_id: str, event: str) -> dict[str, Any]:
    """The one line of `event` about the request (waited for; then a moment more, so that a
    second one would show too)."""
    wait_for_output(server, lambda t: bool(lines_of(t, request_id, event)))
    time.sleep(0.2)
    found = lines_of(output(server), request_id, event)
    assert len(found) == 1, (f"{len(found)} {event!r} lines for request {request_id}", found[:3])
    return found[0]


def access_line(
    server: Any, response: httpx.Response, waited: float | None = None
) -> dict[str, Any]:
    """The request's one access line, checked for the fields every access line has; with
    `waited` (the seconds the client waited for the answer), duration_ms is at most that."""
    request_id = request_id_of(response)
    line = the_line(server, request_id, "request")
    assert line.get("method") == response.request.method, line
    assert line.get("status") == response.status_code and type(line["status"]) is int, line
    duration = line.get("duration_ms")
    assert type(duration) in (int, float) and duration >= 0, line
    if waited is not None:
        assert duration <= waited * 1000 + 1, ("longer than the client waited", waited, line)
    assert line.get("level") == ("error" if response.status_code >= 500 else "info"), line
    assert "route" in line and line["route"] in ROUTES, line
    return line


def assert_line_shape(line: str, value: Any, now: datetime) -> None:
    """One JSON object with ts (RFC 3339, UTC, not from the future), level and event."""
    assert isinstance(value, dict), f"a line of the output is not a JSON object: {line[:300]!r}"
    ts = value.get("ts")
    assert isinstance(ts, str) and RFC3339.fullmatch(ts), ("ts is not RFC 3339 in UTC", line[:300])
    when = datetime.fromisoformat(ts.replace("Z", "+00:00"))
    assert when.tzinfo is not None and when.utcoffset() == timedelta(0), line[:300]
    assert when <= now + timedelta(seconds=60), ("ts is in the future", ts, now)
    assert now - when < timedelta(hours=6), ("ts is far in the past", ts, now)
    assert value.get("level") in LEVELS, ("level", line[:300])
    assert isinstance(value.get("event"), str) and value["event"], ("event", line[:300])


def assert_every_line_is_json(text: str) -> None:
    now = datetime.now(UTC)
    for line, value in parsed_lines(text):
        assert_line_shape(line, value, now)


def card_forms(card: str) -> list[str]:
    """The ways a card number's digits beyond its last four could show: whole, its first
    digits, its middle digits, and grouped by four with spaces or dashes."""
    groups = [card[i : i + 4] for i in range(0, len(card), 4)]
    forms = [card, card[:-4], card[:8], card[4:-4], " ".join(groups[:3]), "-".join(groups[:3]),
             " ".join(groups[1:3]), "-".join(groups[1:3])]  # fmt: skip
    # fewer than 8 digits could be anything's (a timestamp's microseconds, say)
    return [form for form in forms if sum(c.isdigit() for c in form) >= 8]


def assert_absent(text: str, secrets: dict[str, str]) -> None:
    """None of the named secrets is in the output."""
    for name, value in secrets.items():
        if value in text:
            at = text.index(value)
            line = text[text.rfind("\n", 0, at) + 1 : at + len(value) + 100]
            raise AssertionError(f"{name} is written to the output: {line[:300]!r}")


def values_of(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every (key, leaf value) of a JSON value, nested ones included."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k, v
            yield from values_of(v, k)
    elif isinstance(value, list):
        for v in value:
            yield from values_of(v, key)
    else:
        yield key, value


SERVER_VALUES = ("ts", "request_id", "payment_id", "duration_ms")


def assert_no_cvc(lines: list[dict[str, Any]], cvc: str) -> None:
    """No field named cvc or cvv, and no value holding the CVC (the timestamp and the ids,
    whose digits are the server's, aside)."""
    for line in lines:
        for key, value in values_of(line):
            assert "cvc" not in key.lower() and "cvv" not in key.lower(), ("a CVC field", line)
            if key in SERVER_VALUES:
                continue
            assert str(value) != cvc and cvc not in str(value), ("the CVC is written", key, line)


def assert_no_card_part(lines: list[dict[str, Any]], card: str) -> None:
    """No value of the request's lines holds the card's first six digits or its middle ones
    (a masked form such as 424242******4242 included); the server's own values aside."""
    for line in lines:
        for key, value in values_of(line):
            if key in SERVER_VALUES:
                continue
            for part, name in ((card[:6], "first six digits"), (card[6:-4], "middle digits")):
                leaked = len(part) >= 6 and part in str(value)
                assert not leaked, (f"the card's {name} are written", key, line)


def stored_rows(db, patterns: list[str]) -> list[tuple[str, dict]]:
    """Every row of every table of the submission whose JSON text holds one of the patterns
    (LIKE patterns), with its table and its columns."""
    tables = db.execute(
        "SELECT table_schema, table_name FROM information_schema.tables "
        "WHERE table_type = 'BASE TABLE' AND table_schema NOT IN ('pg_catalog', "
        "'information_schema')"
    ).fetchall()
    found = []
    for schema, table in tables:
        query = sql.SQL(
            "SELECT row_to_json(t) FROM {}.{} t WHERE row_to_json(t)::text LIKE ANY(%s)"
        ).format(sql.Identifier(schema), sql.Identifier(table))
        for (row,) in db.execute(query, (patterns,)).fetchall():
            found.append((f"{schema}.{table}", row))
    return found


def column_types(db, table: str) -> dict[str, str]:
    schema, name = table.split(".", 1)
    rows = db.execute(
        "SELECT column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        (schema, name),
    ).fetchall()
    return {column: kind for column, kind in rows}


def stored_count(db, email: str) -> int:
    """How many rows of any table name the email (the tests' emails are unique)."""
    return len(stored_rows(db, [f"%{email}%"]))
