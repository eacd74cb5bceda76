"""What the event-registrations tests share: valid bodies, the error checks, raw requests and
reading what is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx

MiB = 1024 * 1024
MAX_ID = 2**63 - 1
# not a whole number from 1 to 2**63 - 1: each names nothing
# values of other JSON types, or with a fraction, that no integer field takes
INTEGER_IMPOSTORS = [5.0, "5", True, False, "five", [5], {"n": 5}, 1.5]
MALFORMED_IDS = ["abc", "0", "-1", "1.5", "1e3", "9223372036854775808", "%201", "0x10"]


def event_body(title: str, **changes: Any) -> dict[str, Any]:
    """A valid create body titled `title`; a change set to ... removes that field."""
    body: dict[str, Any] = {
        "title": title,
        "starts_at": "2027-05-01T18:30:00+02:00",
        "capacity": 50,
        "category": "meetup",
        "currency": "EUR",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def registration_body(**changes: Any) -> dict[str, Any]:
    """A valid registration body; a change set to ... removes that field."""
    body: dict[str, Any] = {"email": "ada@example.com", "name": "Ada", "ticket_type": "standard"}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response has `status` and the body {"error": {"code": code, "message": <text>}}."""
    assert response.status_code == status, (
        response.request.method, str(response.request.url),
        response.request.content[:300], response.status_code, response.text[:500],
    )  # fmt: skip
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body
    return dict(body["error"])


def assert_invalid(response: httpx.Response, *fields: str) -> None:
    """A 422 validation_error whose `fields` names exactly `fields`, each once."""
    error = assert_error(response, 422, "validation_error")
    listed = error.get("fields")
    assert isinstance(listed, list), error
    names = [item.get("field") for item in listed if isinstance(item, dict)]
    assert len(names) == len(listed), error
    assert sorted(names) == sorted(set(fields)), (
        response.request.content[:300], str(response.request.url), error,
    )  # fmt: skip


def create_event(client: httpx.Client, title: str, **changes: Any) -> dict[str, Any]:
    """A new event; the answer checked to be 201."""
    response = client.post("/v1/events", json=event_body(title, **changes))
    assert response.status_code == 201, response.text
    return dict(response.json())


def register(client: httpx.Client, event_id: int, **changes: Any) -> httpx.Response:
    return client.post(
        f"/v1/events/{event_id}/registrations", json=registration_body(**changes)
    )


def send_raw(
    client: httpx.Client, method: str, path: str, content: Any,
    content_type: str | None = "application/json",
) -> httpx.Response:  # fmt: skip
    """A request with a raw body and the given Content-Type (none when None)."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    return client.request(method, path, content=content, headers=headers)


def raw_json(body: dict[str, Any]) -> bytes:
    return json.dumps(body).encode()


def spaced(body: dict[str, Any], size: int) -> bytes:
    """`body` as JSON of exactly `size` bytes, padded with spaces after the object."""
    text = json.dumps(body).encode()
    assert len(text) <= size
    return text + b" " * (size - len(text))


def events_titled(db: Any, title: str) -> int:
    return int(db.scalar("SELECT count(*) FROM events WHERE title = %s", (title,)))


def events_like(db: Any, token: str) -> int:
    """Events whose title contains `token` (every test titles its events with a unique one)."""
    return int(db.scalar("SELECT count(*) FROM events WHERE strpos(title, %s) > 0", (token,)))


def stored_event(db: Any, event_id: int) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT title, description, starts_at, ends_at, capacity, category, tags, price_cents, "
        "currency, website FROM events WHERE id = %s",
        (event_id,),
    ).fetchone()
    if row is None:
        return None
    keys = ("title", "description", "starts_at", "ends_at", "capacity", "category", "tags",
            "price_cents", "currency", "website")  # fmt: skip
    return dict(zip(keys, row, strict=True))


def registrations_of(db: Any, event_id: int) -> list[tuple[Any, ...]]:
    """(email, name, ticket_type, seats, status) of each stored registration, oldest first."""
    return list(
        db.execute(
            "SELECT email, name, ticket_type, seats, status FROM registrations "
            "WHERE event_id = %s ORDER BY id",
            (event_id,),
        ).fetchall()
    )


def seats_of(db: Any, event_id: int) -> int:
    return int(
        db.scalar(
            "SELECT COALESCE(sum(seats), 0) FROM registrations WHERE event_id = %s", (event_id,)
        )
    )


def utc(text: str) -> datetime:
    """A date-time of the stated form as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
