"""Books: the existing behaviour, and `available` that loans add."""

from __future__ import annotations

import pytest
from library_requests import (
    BOOK_KEYS,
    MISSING_ID,
    assert_error,
    available,
    give_back,
    new_book,
    new_loan,
    new_member,
)


@pytest.mark.rules("book-create", "book-get", "book-available", "existing-behaviour")
def test_a_new_book_is_answered_201_available_and_can_be_read(api, authed_api, unique):
    title, author = unique("Solaris"), unique("Stanisław Lem")
    response = authed_api.post("/v1/books", json={"title": title, "author": author, "year": 1961})
    assert response.status_code == 201, response.text
    book = response.json()
    assert set(book) == BOOK_KEYS
    assert isinstance(book["id"], int) and book["id"] >= 1
    assert (book["title"], book["author"], book["year"], book["available"]) == (
        title, author, 1961, True,
    )  # fmt: skip
    fetched = api.get(f"/v1/books/{book['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == book


@pytest.mark.rules("book-create", "validation-422")
def test_book_fields_are_checked_at_their_bounds(api, authed_api, unique):
    author = unique("bounds")
    valid = {"title": "T", "author": author, "year": 2000}
    refused = [
        {"title": ""},
        {"title": "é" * 201},
        {"author": ""},
        {"author": "a" * 201},
        {"year": 999},
        {"year": 2101},
        {"year": 2000.5},
        {"year": "2000"},
        {"title": None},
    ]
    for change in refused:
        response = authed_api.post("/v1/books", json={**valid, **change})
        assert_error(response, 422, "validation_error")
    for field in ("title", "author", "year"):
        body = {k: v for k, v in valid.items() if k != field}
        assert_error(authed_api.post("/v1/books", json=body), 422, "validation_error")
    assert api.get("/v1/books", params={"author": author}).json()["total"] == 0
    accepted = [{"title": "é" * 200}, {"year": 1000}, {"year": 2100}, {"title": "x"}]
    for change in accepted:
        response = authed_api.post("/v1/books", json={**valid, **change})
        assert response.status_code == 201, (change, response.text)
    longest = unique("a").ljust(200, "a")
    assert new_book(authed_api, unique, author=longest)["author"] == longest


@pytest.mark.rules("book-order", "existing-behaviour")
def test_books_are_listed_by_title_in_code_point_order_then_by_id(api, authed_api, unique):
    author = unique("order")
    titles = ["b", "B", "a", "b", "Ä", "A", "_", "ab"]
    made = [new_book(authed_api, unique, title=t, author=author) for t in titles]
    listed = api.get("/v1/books", params={"author": author}).json()["items"]
    assert [book["title"] for book in listed] == sorted(titles)  # Python compares code points
    b_ids = [book["id"] for book in listed if book["title"] == "b"]
    assert b_ids == sorted(b["id"] for b in made if b["title"] == "b")


@pytest.mark.rules("book-author-filter", "existing-behaviour")
def test_the_author_filter_is_exact_and_case_sensitive(api, authed_api, unique):
    author = unique("Exact Author")
    mine = new_book(authed_api, unique, author=author)
    for near in (author.upper(), author + " Jr", author[:-1], f" {author}"):
        new_book(authed_api, unique, author=near)
    listed = api.get("/v1/books", params={"author": author}).json()
    assert [book["id"] for book in listed["items"]] == [mine["id"]]
    assert listed["total"] == 1


@pytest.mark.rules("book-available")
def test_available_follows_the_books_loans_in_every_response(api, authed_api, unique):
    member = new_member(authed_api, unique)
    author = unique("avail")
    book = new_book(authed_api, unique, author=author)

    def listed() -> bool:
        return api.get("/v1/books", params={"author": author}).json()["items"][0]["available"]

    loan = new_loan(authed_api, member["id"], book["id"])
    assert (available(api, book["id"]), listed()) == (False, False)
    assert give_back(authed_api, loan["id"]).status_code == 200
    assert (available(api, book["id"]), listed()) == (True, True)


@pytest.mark.rules("book-available-filter", "book-available")
def test_books_can_be_listed_by_availability(api, authed_api, unique):
    member = new_member(authed_api, unique)
    author = unique("filter")
    a, b, c = (new_book(authed_api, unique, title=t, author=author) for t in ("a", "b", "c"))
    new_loan(authed_api, member["id"], a["id"])
    returned = new_loan(authed_api, member["id"], c["id"])
    give_back(authed_api, returned["id"])
    free = api.get("/v1/books", params={"author": author, "available": "true"}).json()
    lent = api.get("/v1/books", params={"author": author, "available": "false"}).json()
    assert [book["id"] for book in free["items"]] == [b["id"], c["id"]]
    assert free["total"] == 2
    assert [(book["id"], book["available"]) for book in lent["items"]] == [(a["id"], False)]
    assert lent["total"] == 1
    everything = api.get("/v1/books", params={"author": author}).json()
    assert everything["total"] == 3


@pytest.mark.rules("not-found-404")
def test_an_unknown_book_is_404(api):
    assert_error(api.get(f"/v1/books/{MISSING_ID}"), 404, "not_found")
