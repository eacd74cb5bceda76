"""Loans: borrow, return, the limits, the lists, and what loans change on books and members."""

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

Unique = Callable[[str], str]
Json = dict[str, object]


@pytest.fixture
def member(client: TestClient, auth: dict[str, str], unique: Unique) -> Json:
    body = {"name": "Lena Borrower", "email": f"{unique('lena')}@example.org"}
    response = client.post("/v1/members", json=body, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def new_book(client: TestClient, auth: dict[str, str], unique: Unique) -> Callable[[], Json]:
    def make() -> Json:
        body = {"title": unique("Loanable"), "author": "A. Author", "year": 1999}
        response = client.post("/v1/books", json=body, headers=auth)
        assert response.status_code == 201, response.text
        return response.json()

    return make


def borrow(client: TestClient, auth: dict[str, str], member_id: object, book_id: object):
    return client.post("/v1/loans", json={"member_id": member_id, "book_id": book_id}, headers=auth)


def test_borrow_opens_a_loan_and_the_book_is_no_longer_available(client, auth, member, new_book):
    book = new_book()
    assert book["available"] is True
    response = borrow(client, auth, member["id"], book["id"])
    assert response.status_code == 201, response.text
    loan = response.json()
    assert (loan["member_id"], loan["book_id"], loan["returned_at"]) == (
        member["id"],
        book["id"],
        None,
    )
    assert loan["borrowed_at"]
    assert client.get(f"/v1/loans/{loan['id']}").json() == loan
    assert client.get(f"/v1/books/{book['id']}").json()["available"] is False


def test_borrow_needs_the_bearer_token(client, member, new_book):
    book = new_book()
    response = client.post("/v1/loans", json={"member_id": member["id"], "book_id": book["id"]})
    assert response.status_code == 401
    assert client.get(f"/v1/books/{book['id']}").json()["available"] is True


def test_a_book_on_loan_cannot_be_borrowed(client, auth, member, new_book, unique):
    book = new_book()
    assert borrow(client, auth, member["id"], book["id"]).status_code == 201
    other = client.post(
        "/v1/members", json={"name": "Other", "email": f"{unique('o')}@example.org"}, headers=auth
    ).json()
    for who in (member, other):
        response = borrow(client, auth, who["id"], book["id"])
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "book_unavailable"


def test_a_member_has_at_most_three_open_loans(client, auth, member, new_book):
    loans = [borrow(client, auth, member["id"], new_book()["id"]) for _ in range(3)]
    assert [r.status_code for r in loans] == [201, 201, 201]
    fourth = borrow(client, auth, member["id"], new_book()["id"])
    assert fourth.status_code == 409
    assert fourth.json()["error"]["code"] == "loan_limit_reached"
    returned = client.post(f"/v1/loans/{loans[0].json()['id']}/return", headers=auth)
    assert returned.status_code == 200
    assert borrow(client, auth, member["id"], new_book()["id"]).status_code == 201


def test_unknown_member_or_book_is_not_found(client, auth, member, new_book):
    book = new_book()
    assert borrow(client, auth, 999999999999, book["id"]).status_code == 404
    assert borrow(client, auth, member["id"], 999999999999).status_code == 404
    assert borrow(client, auth, member["id"], "1").status_code == 422


def test_return_closes_the_loan_once(client, auth, member, new_book):
    book = new_book()
    loan = borrow(client, auth, member["id"], book["id"]).json()
    assert client.post(f"/v1/loans/{loan['id']}/return").status_code == 401
    returned = client.post(f"/v1/loans/{loan['id']}/return", headers=auth)
    assert returned.status_code == 200
    assert returned.json()["returned_at"] is not None
    assert client.get(f"/v1/books/{book['id']}").json()["available"] is True
    again = client.post(f"/v1/loans/{loan['id']}/return", headers=auth)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_returned"
    assert client.post("/v1/loans/999999999999/return", headers=auth).status_code == 404


def test_lists_are_newest_first_and_filter_open_loans(client, auth, member, new_book):
    first, second = (borrow(client, auth, member["id"], new_book()["id"]).json() for _ in range(2))
    client.post(f"/v1/loans/{first['id']}/return", headers=auth)
    everything = client.get(f"/v1/members/{member['id']}/loans").json()
    assert [loan["id"] for loan in everything["items"]] == [second["id"], first["id"]]
    still_open = client.get("/v1/loans", params={"member_id": member["id"], "open": "true"}).json()
    assert [loan["id"] for loan in still_open["items"]] == [second["id"]]
    closed = client.get(f"/v1/members/{member['id']}/loans", params={"open": "false"}).json()
    assert [loan["id"] for loan in closed["items"]] == [first["id"]]
    assert client.get("/v1/members/999999999999/loans").status_code == 404


def test_books_can_be_listed_by_availability(client, auth, member, unique):
    author = unique("Avail")
    made = [
        client.post(
            "/v1/books", json={"title": t, "author": author, "year": 2001}, headers=auth
        ).json()
        for t in ("a", "b")
    ]
    borrow(client, auth, member["id"], made[0]["id"])
    free = client.get("/v1/books", params={"author": author, "available": "true"}).json()
    lent = client.get("/v1/books", params={"author": author, "available": "false"}).json()
    assert [b["id"] for b in free["items"]] == [made[1]["id"]]
    assert [b["id"] for b in lent["items"]] == [made[0]["id"]]


def test_a_member_with_open_loans_is_kept_and_their_returned_loans_go_with_them(
    client, auth, member, new_book
):
    loan = borrow(client, auth, member["id"], new_book()["id"]).json()
    refused = client.delete(f"/v1/members/{member['id']}", headers=auth)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "member_has_open_loans"
    client.post(f"/v1/loans/{loan['id']}/return", headers=auth)
    assert client.delete(f"/v1/members/{member['id']}", headers=auth).status_code == 204
    assert client.get(f"/v1/loans/{loan['id']}").status_code == 404
