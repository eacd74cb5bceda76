"""Books: create, read, list by title, filter by author, page."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

Unique = Callable[[str], str]


def add_book(client: TestClient, auth: dict[str, str], **fields: object) -> dict[str, object]:
    body = {"title": "Dune", "author": "Frank Herbert", "year": 1965, **fields}
    response = client.post("/v1/books", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_the_book_and_it_can_be_read(client, auth, unique: Unique) -> None:
    title = unique("Solaris")
    book = add_book(client, auth, title=title, author="Stanisław Lem", year=1961)
    assert isinstance(book["id"], int) and book["id"] >= 1
    assert (book["title"], book["author"], book["year"]) == (title, "Stanisław Lem", 1961)
    fetched = client.get(f"/v1/books/{book['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == book


def test_create_needs_the_bearer_token(client, unique: Unique) -> None:
    author = unique("nobody")
    body = {"title": "Unwritten", "author": author, "year": 2000}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic x"}):
        response = client.post("/v1/books", json=body, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
    assert client.get("/v1/books", params={"author": author}).json()["total"] == 0


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"title": "x" * 201},
        {"author": None},
        {"year": 999},
        {"year": 2101},
        {"year": "1965"},
        {"title": "nul\x00byte"},
    ],
)
def test_create_refuses_invalid_fields(client, auth, change: dict[str, object]) -> None:
    body = {"title": "Dune", "author": "Frank Herbert", "year": 1965, **change}
    response = client.post("/v1/books", json=body, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_unknown_book_is_not_found(client) -> None:
    response = client.get("/v1/books/999999999999")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_list_is_by_title_in_code_point_order_then_id(client, auth, unique: Unique) -> None:
    author = unique("Ordered")
    for title in ("b", "B", "a", "b"):
        add_book(client, auth, title=title, author=author)
    listed = client.get("/v1/books", params={"author": author}).json()
    assert [book["title"] for book in listed["items"]] == ["B", "a", "b", "b"]
    ids = [book["id"] for book in listed["items"]]
    assert ids[2] < ids[3]


def test_list_filters_by_exact_author_and_pages(client, auth, unique: Unique) -> None:
    author = unique("Paged")
    made = [add_book(client, auth, title=f"Volume {n}", author=author) for n in range(5)]
    add_book(client, auth, title="Volume 9", author=author.upper())
    page = client.get("/v1/books", params={"author": author, "limit": 2, "offset": 1}).json()
    assert page["total"] == 5
    assert (page["limit"], page["offset"]) == (2, 1)
    assert [book["id"] for book in page["items"]] == [made[1]["id"], made[2]["id"]]


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "limit=ten"])
def test_list_refuses_bad_paging(client, query: str) -> None:
    response = client.get(f"/v1/books?{query}")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"
