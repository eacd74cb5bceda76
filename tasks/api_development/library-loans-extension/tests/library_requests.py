"""Shared by the hidden tests: making books, members and loans, and the error shape."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

BOOK_KEYS = {"id", "title", "author", "year", "available"}
MEMBER_KEYS = {"id", "name", "email"}
LOAN_KEYS = {"id", "member_id", "book_id", "borrowed_at", "returned_at"}
PAGE_KEYS = {"items", "total", "limit", "offset"}
MAX_ID = 2**63 - 1
MISSING_ID = MAX_ID  # no row of a test database gets this id
LIMIT = 3  # open loans per member


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The answer is `status` with the shared error body and `code`."""
    assert response.status_code == status, (
        response.request.method,
        str(response.request.url),
        response.status_code,
        response.text[:300],
    )
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


def new_book(authed_api: httpx.Client, unique: Any, **fields: Any) -> dict[str, Any]:
    """A stored book (a unique title and author unless given)."""
    body = {"title": unique("title"), "author": unique("author"), "year": 1999, **fields}
    response = authed_api.post("/v1/books", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def new_member(authed_api: httpx.Client, unique: Any) -> dict[str, Any]:
    """A registered member with an email no one else has."""
    body = {"name": "Reader", "email": f"{unique('m')}@library.test"}
    response = authed_api.post("/v1/members", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def borrow(authed_api: httpx.Client, member_id: Any, book_id: Any) -> httpx.Response:
    return authed_api.post("/v1/loans", json={"member_id": member_id, "book_id": book_id})


def new_loan(authed_api: httpx.Client, member_id: int, book_id: int) -> dict[str, Any]:
    """An open loan of the book to the member."""
    response = borrow(authed_api, member_id, book_id)
    assert response.status_code == 201, response.text
    return response.json()


def give_back(authed_api: httpx.Client, loan_id: Any) -> httpx.Response:
    return authed_api.post(f"/v1/loans/{loan_id}/return")


def available(api: httpx.Client, book_id: int) -> bool:
    """The book's `available` as GET /v1/books/{id} says."""
    response = api.get(f"/v1/books/{book_id}")
    assert response.status_code == 200, response.text
    return bool(response.json()["available"])


def loan_ids(response: httpx.Response) -> list[int]:
    """The ids of a page of loans, in the order listed."""
    assert response.status_code == 200, response.text
    return [loan["id"] for loan in response.json()["items"]]


def timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp that carries its UTC offset."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.tzinfo is not None, f"{text!r} has no UTC offset"
    return value
