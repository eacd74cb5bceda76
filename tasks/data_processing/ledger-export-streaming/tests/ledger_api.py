"""Helpers of the hidden tests: entries to send, exports read and checked, what the table holds.

Seeded accounts (seed.py): `ops-main` holds about 180 000 entries, `ops-side` about 4 400; the
tests that write use accounts of their own (`unique`), so no test meets another's entries.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from typing import Any

EXPORT = "/v1/entries/export"
BATCH = "/v1/entries/batch"
LARGE_ACCOUNT = "ops-main"
PAGED_ACCOUNT = "ops-side"
FIELDS = ("id", "account", "amount_cents", "posted_at", "memo", "external_id")


def instant(days: int = 0) -> datetime:
    """A random instant with microseconds in 2030, `days` days on."""
    start = datetime(2030, 1, 1, tzinfo=UTC) + timedelta(days=days)
    return start + timedelta(seconds=random.randint(0, 86400),  # noqa: S311
                             microseconds=random.randint(1, 999_999))  # noqa: S311


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def entry(external_id: str, account: str, amount: int = 1250, posted_at: datetime | None = None,
          **extra: Any) -> dict[str, Any]:  # fmt: skip
    return {"external_id": external_id, "account": account, "amount_cents": amount,
            "posted_at": rfc3339(posted_at or instant()), **extra}  # fmt: skip


def parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("z", "Z"))
    assert moment.tzinfo is not None, f"posted_at {text!r} has no offset"
    return moment


def read_lines(response: Any) -> list[dict[str, Any]]:
    """The entries of a 200 export: NDJSON, one object per line, each ended by a newline."""
    assert response.status_code == 200, (response.status_code, response.text[:300])
    media = response.headers.get("content-type", "").split(";")[0].strip().lower()
    assert media == "application/x-ndjson", f"content type {media!r}"
    body = response.content
    if not body:
        return []
    assert body.endswith(b"\n"), f"the last line is not ended by a newline: {body[-80:]!r}"
    lines = body[:-1].split(b"\n")
    out = []
    for number, line in enumerate(lines):
        assert line.strip(), f"line {number} is blank"
        item = json.loads(line)
        assert isinstance(item, dict), f"line {number} is not an object: {line[:80]!r}"
        out.append(item)
    return out


def export(client: Any, deadline: float = 10.0, **params: str) -> list[dict[str, Any]]:
    return read_lines(client.get(EXPORT, params=params, extensions={"deadline": deadline}))


def as_row(item: dict[str, Any]) -> tuple[Any, ...]:
    """An exported entry as comparable values (posted_at as an instant)."""
    assert set(item) >= set(FIELDS), f"fields missing: {set(FIELDS) - set(item)}"
    return (item["id"], item["account"], item["amount_cents"], parse_time(item["posted_at"]),
            item["memo"], item["external_id"])  # fmt: skip


def stored(db: Any, where: str, params: Any) -> list[tuple[Any, ...]]:
    """The table's entries matching `where`, ascending id, as comparable values."""
    return db.execute(
        f"SELECT id, account, amount_cents, posted_at, memo, external_id FROM ledger_entries"
        f" WHERE {where} ORDER BY id",
        params,
    ).fetchall()


def stored_by_external_id(db: Any, external_ids: list[str]) -> list[tuple[Any, ...]]:
    return stored(db, "external_id = ANY(%s)", (external_ids,))


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, (
        response.request.method, str(response.request.url)[:200], response.status_code,
        response.text[:300],
    )  # fmt: skip
    body = response.json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def post_batch(client: Any, entries: list[Any], deadline: float = 10.0) -> Any:
    """POST a batch as ASCII JSON (so that a lone surrogate travels as its escape)."""
    return client.post(BATCH, content=json.dumps({"entries": entries}).encode(),
                       headers={"Content-Type": "application/json"},
                       extensions={"deadline": deadline})  # fmt: skip


def results(response: Any, status: int) -> list[dict[str, Any]]:
    assert response.status_code == status, (response.status_code, response.text[:500])
    found = response.json()["results"]
    assert [r["index"] for r in found] == list(range(len(found))), found
    return found
