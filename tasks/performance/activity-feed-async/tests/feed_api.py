"""Helpers of the hidden tests: what the API must answer, read from the database itself.

The feed is seeded (seed.py). Tests that need events of a known shape make a user of their own
and write its events straight to the tables, as the prompt's other programs do.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

EVENT_FIELDS = (
    "id", "user_id", "kind", "actor", "message", "created_at", "delivered_at", "read_at",
)  # fmt: skip
STAMPS = ("created_at", "delivered_at", "read_at")
KINDS = ("comment", "like", "follow", "mention", "share")
PUSH = timedelta(milliseconds=300)
# what a slow machine may add to the gateway's wait is never taken off it: 1 ms of rounding only
SLACK = timedelta(milliseconds=1)


def parse_stamp(value: Any) -> datetime | None:
    if value is None:
        return None
    assert isinstance(value, str), value
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert stamp.utcoffset() is not None, f"no UTC offset: {value}"
    return stamp


def rows(db: Any, query: str, params: Any = ()) -> list[dict[str, Any]]:
    cur = db.execute(query, params)
    names = [c.name for c in cur.description]
    return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def event_row(db: Any, event_id: int) -> dict[str, Any] | None:
    found = rows(db, f"SELECT {', '.join(EVENT_FIELDS)} FROM events WHERE id = %s", (event_id,))
    return found[0] if found else None


def user_events(
    db: Any, user_id: int, where: str = "", params: tuple[Any, ...] = (), limit: int = 10**6
) -> list[dict[str, Any]]:
    """The user's events matching `where`, newest first by id, as rows of the table."""
    return rows(
        db,
        f"SELECT {', '.join(EVENT_FIELDS)} FROM events WHERE user_id = %s {where} "
        "ORDER BY id DESC LIMIT %s",
        (user_id, *params, limit),
    )


def assert_event(got: dict[str, Any], want: dict[str, Any]) -> None:
    """An API event equals the table's row, field by field."""
    assert set(got) >= set(EVENT_FIELDS), got
    for field in EVENT_FIELDS:
        if field in STAMPS:
            assert parse_stamp(got[field]) == want[field], (field, got, want)
        else:
            assert got[field] == want[field], (field, got, want)


def assert_events(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [e["id"] for e in got] == [e["id"] for e in want]
    for g, w in zip(got, want, strict=True):
        assert_event(g, w)


def new_user(db: Any, unique: Any) -> int:
    """A user of the test's own, written as the sign-up service would."""
    return int(db.scalar("INSERT INTO users (handle) VALUES (%s) RETURNING id", (unique("u"),)))


def add_event(
    db: Any,
    user_id: int,
    kind: str = "like",
    actor: str = "river_maple12",
    message: str = "river_maple12 liked your post #7",
    read: bool = False,
    created_at: datetime | None = None,
) -> int:
    """An event written straight to the table, delivered, read or not."""
    return int(
        db.scalar(
            "INSERT INTO events (user_id, kind, actor, message, created_at, delivered_at, read_at) "
            "VALUES (%s, %s, %s, %s, coalesce(%s, now()), coalesce(%s, now()), "
            "CASE WHEN %s THEN now() END) RETURNING id",
            (user_id, kind, actor, message, created_at, created_at, read),
        )
    )


def unread(db: Any, user_id: int) -> int:
    return int(
        db.scalar(
            "SELECT count(*) FROM events WHERE user_id = %s AND read_at IS NULL", (user_id,)
        )
    )


def count_events(db: Any, user_id: int) -> int:
    return int(db.scalar("SELECT count(*) FROM events WHERE user_id = %s", (user_id,)))


def random_user(db: Any, min_events: int = 1) -> int:
    """A seeded user with at least `min_events` events, at random."""
    user_id = db.scalar(
        "SELECT user_id FROM events WHERE user_id <= 5000 GROUP BY user_id "
        "HAVING count(*) >= %s ORDER BY random() LIMIT 1",
        (min_events,),
    )
    assert user_id is not None
    return int(user_id)


def random_event(db: Any, where: str = "") -> int:
    event_id = db.scalar(
        f"SELECT id FROM events WHERE id <= 200000 {where} ORDER BY random() LIMIT 1"
    )
    assert event_id is not None
    return int(event_id)


def missing_user_id(db: Any) -> int:
    """An id no user has (and none will: ids come from the identity sequence)."""
    return int(db.scalar("SELECT max(id) FROM users")) + 1_000_000


def missing_event_id(db: Any) -> int:
    return int(db.scalar("SELECT max(id) FROM events")) + 1_000_000


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    body = response.json()
    assert isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body


def new_event(**fields: Any) -> dict[str, Any]:
    body = {"kind": "comment", "actor": "cedar_nova31", "message": "cedar_nova31 commented"}
    body.update(fields)
    return body
