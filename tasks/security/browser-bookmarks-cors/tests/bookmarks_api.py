"""What the bookmarks tests share: the error body check, bookmark creation, the CORS headers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
from psycopg import sql

FIELDS = ("id", "url", "title", "created_at")
ALLOWED_ORIGINS = ["https://app.example.com", "https://admin.example.com"]
# origins a careless allow-list lets through: each must be treated as foreign
NEAR_MISSES = [
    "https://evil.example",
    "null",
    "http://app.example.com",  # another scheme
    "https://app.example.com:8443",  # another port
    "https://app.example.com:443",  # the default port, spelt out
    "https://evil-app.example.com",  # ends with an allowed host
    "https://evilapp.example.com",
    "https://app.example.com.evil.test",  # starts with an allowed origin
    "https://admin.example.com.evil.test",
    "https://app.example.co",  # a prefix of an allowed origin
    "https://app.example.com/",  # a trailing slash
    "https://APP.example.com",  # another case
    "https://app.example.com https://evil.example",  # a list
    "https://example.com",
]


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The response has `status` and the body {"error": {"code": code, "message": <text>}}."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body


def four_fields(bookmark: Any) -> dict[str, Any]:
    """The four documented fields of a bookmark, with their types and formats."""
    assert isinstance(bookmark, dict), bookmark
    assert set(FIELDS) <= set(bookmark), bookmark
    assert isinstance(bookmark["id"], int) and not isinstance(bookmark["id"], bool), bookmark
    assert isinstance(bookmark["url"], str) and isinstance(bookmark["title"], str), bookmark
    created = datetime.fromisoformat(bookmark["created_at"].replace("Z", "+00:00"))
    assert created.utcoffset() is not None, f"created_at has no UTC offset: {bookmark}"
    return {k: bookmark[k] for k in FIELDS}


def new_bookmark(
    authed_api: httpx.Client, unique: Callable[..., str], **fields: Any
) -> dict[str, Any]:
    """Create a bookmark (a unique title, an https url unless given) and return it."""
    title = unique("bm")
    body: dict[str, Any] = {"url": f"https://example.org/{title}", "title": title, **fields}
    response = authed_api.post("/v1/bookmarks", json=body)
    assert response.status_code == 201, response.text
    return four_fields(response.json())


def read_bookmark(api: httpx.Client, ident: int) -> dict[str, Any] | None:
    """The bookmark as GET returns it, or None when it is a 404."""
    response = api.get(f"/v1/bookmarks/{ident}")
    if response.status_code == 404:
        assert_error(response, 404, "not_found")
        return None
    assert response.status_code == 200, response.text
    return four_fields(response.json())


def cors_headers(response: httpx.Response) -> dict[str, str]:
    """Every Access-Control-* header of the answer, names lowercased."""
    return {k.lower(): v for k, v in response.headers.items() if k.lower().startswith("access-control-")}


def tokens(value: str | None, lower: bool = True) -> set[str]:
    """The comma-separated names of a header value."""
    names = {t.strip() for t in (value or "").split(",") if t.strip()}
    return {t.lower() for t in names} if lower else names


def varies_on_origin(response: httpx.Response) -> bool:
    """Whether Vary names Origin (among any others)."""
    return "origin" in tokens(", ".join(response.headers.get_list("vary")))


def assert_allowed(response: httpx.Response, origin: str) -> None:
    """The headers an answer to an allowed origin carries (not a preflight)."""
    assert response.headers.get("access-control-allow-origin") == origin, dict(response.headers)
    assert response.headers.get("access-control-allow-credentials") == "true", dict(
        response.headers
    )
    exposed = response.headers.get("access-control-expose-headers")
    assert tokens(exposed) == {"location"}, dict(response.headers)
    assert varies_on_origin(response), dict(response.headers)


def assert_no_cors(response: httpx.Response) -> None:
    """No Access-Control-* header at all, and Vary: Origin."""
    assert cors_headers(response) == {}, (response.request.headers.get("origin"), dict(response.headers))
    assert varies_on_origin(response), dict(response.headers)


def preflight(
    client: httpx.Client,
    path: str,
    origin: str | None,
    method: str | None,
    request_headers: str | None = "authorization, content-type",
) -> httpx.Response:
    """An OPTIONS request as a browser's preflight (a header left None is not sent)."""
    headers = {}
    if origin is not None:
        headers["Origin"] = origin
    if method is not None:
        headers["Access-Control-Request-Method"] = method
    if request_headers is not None:
        headers["Access-Control-Request-Headers"] = request_headers
    return client.options(path, headers=headers)


def rows_mentioning(db: Any, text: str) -> int:
    """Rows of any table of the submission's database whose text form contains `text`."""
    tables = db.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg\\_%'"
    ).fetchall()
    found = 0
    for schema, table in tables:
        query = sql.SQL("SELECT count(*) FROM {} AS t WHERE strpos(t::text, %s) > 0").format(
            sql.Identifier(schema, table)
        )
        found += db.execute(query, (text,)).fetchone()[0]
    return found
