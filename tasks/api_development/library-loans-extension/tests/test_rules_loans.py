"""Loans: borrowing, the checks and their order, returning, reading and listing."""

from __future__ import annotations

import pytest
from library_requests import (
    LOAN_KEYS,
    MAX_ID,
    MISSING_ID,
    assert_error,
    available,
    borrow,
    give_back,
    loan_ids,
    new_book,
    new_loan,
    new_member,
    timestamp,
)


def open_loans_of_book(api, book_id: int) -> int:
    return api.get("/v1/loans", params={"book_id": book_id, "open": "true"}).json()["total"]


def fill_to_the_limit(authed_api, unique, member_id: int) -> list[dict]:
    return [new_loan(authed_api, member_id, new_book(authed_api, unique)["id"]) for _ in range(3)]


@pytest.mark.rules("loan-create-201", "loan-fields", "loan-get", "timestamps")
def test_a_borrow_answers_201_with_an_open_loan_that_can_be_read(api, authed_api, unique):
    member, book = new_member(authed_api, unique), new_book(authed_api, unique)
    response = borrow(authed_api, member["id"], book["id"])
    assert response.status_code == 201, response.text
    loan = response.json()
    assert set(loan) == LOAN_KEYS
    assert isinstance(loan["id"], int) and loan["id"] >= 1
    assert (loan["member_id"], loan["book_id"], loan["returned_at"]) == (
        member["id"], book["id"], None,
    )  # fmt: skip
    timestamp(loan["borrowed_at"])
    fetched = api.get(f"/v1/loans/{loan['id']}")
    assert fetched.status_code == 200 and fetched.json() == loan


@pytest.mark.rules("loan-create-validation", "validation-422", "refused-changes-nothing")
def test_a_borrow_needs_two_integer_ids_in_range(api, authed_api, unique):
    member, book = new_member(authed_api, unique), new_book(authed_api, unique)
    m, b = member["id"], book["id"]
    refused = [
        {"book_id": b},
        {"member_id": m},
        {"member_id": str(m), "book_id": b},
        {"member_id": m, "book_id": b + 0.5},
        {"member_id": m, "book_id": None},
        {"member_id": 0, "book_id": b},
        {"member_id": m, "book_id": -1},
        {"member_id": MAX_ID + 1, "book_id": b},
        {"member_id": [m], "book_id": b},
    ]
    for body in refused:
        assert_error(authed_api.post("/v1/loans", json=body), 422, "validation_error")
    assert available(api, b) is True
    assert api.get("/v1/loans", params={"member_id": m}).json()["total"] == 0


@pytest.mark.rules("loan-unknown-404", "refused-changes-nothing")
def test_an_unknown_member_or_book_is_404(api, authed_api, unique):
    member, book = new_member(authed_api, unique), new_book(authed_api, unique)
    assert_error(borrow(authed_api, MISSING_ID, book["id"]), 404, "not_found")
    assert_error(borrow(authed_api, member["id"], MISSING_ID), 404, "not_found")
    assert available(api, book["id"]) is True
    assert api.get(f"/v1/members/{member['id']}/loans").json()["total"] == 0


@pytest.mark.rules("loan-book-unavailable", "refused-changes-nothing")
def test_a_book_on_loan_cannot_be_borrowed_by_anyone(api, authed_api, unique):
    holder, other = new_member(authed_api, unique), new_member(authed_api, unique)
    book = new_book(authed_api, unique)
    loan = new_loan(authed_api, holder["id"], book["id"])
    for member in (other, holder):
        assert_error(borrow(authed_api, member["id"], book["id"]), 409, "book_unavailable")
    assert api.get(f"/v1/members/{other['id']}/loans").json()["total"] == 0
    assert open_loans_of_book(api, book["id"]) == 1
    give_back(authed_api, loan["id"])
    again = borrow(authed_api, other["id"], book["id"])
    assert again.status_code == 201, again.text


@pytest.mark.rules("loan-limit", "refused-changes-nothing")
def test_a_member_has_at_most_three_open_loans(api, authed_api, unique):
    member = new_member(authed_api, unique)
    loans = fill_to_the_limit(authed_api, unique, member["id"])
    fourth = new_book(authed_api, unique)
    assert_error(borrow(authed_api, member["id"], fourth["id"]), 409, "loan_limit_reached")
    assert available(api, fourth["id"]) is True
    assert give_back(authed_api, loans[0]["id"]).status_code == 200
    # returned loans do not count: one place is free again, and only one
    assert borrow(authed_api, member["id"], fourth["id"]).status_code == 201
    fifth = new_book(authed_api, unique)
    assert_error(borrow(authed_api, member["id"], fifth["id"]), 409, "loan_limit_reached")
    # the limit is the member's own: another member borrows freely
    assert borrow(authed_api, new_member(authed_api, unique)["id"], fifth["id"]).status_code == 201


@pytest.mark.rules("loan-check-order")
def test_a_borrow_is_checked_in_the_stated_order(authed_api, unique):
    full = new_member(authed_api, unique)
    fill_to_the_limit(authed_api, unique, full["id"])
    holder = new_member(authed_api, unique)
    lent = new_book(authed_api, unique)
    new_loan(authed_api, holder["id"], lent["id"])
    # validation first, then existence, then the book, then the member's limit
    response = authed_api.post("/v1/loans", json={"member_id": MISSING_ID, "book_id": "x"})
    assert_error(response, 422, "validation_error")
    assert_error(borrow(authed_api, MISSING_ID, lent["id"]), 404, "not_found")
    assert_error(borrow(authed_api, full["id"], MISSING_ID), 404, "not_found")
    assert_error(borrow(authed_api, full["id"], lent["id"]), 409, "book_unavailable")


@pytest.mark.rules("loan-return", "timestamps")
def test_a_return_closes_the_loan_and_frees_the_book(api, authed_api, unique):
    member, book = new_member(authed_api, unique), new_book(authed_api, unique)
    loan = new_loan(authed_api, member["id"], book["id"])
    response = give_back(authed_api, loan["id"])
    assert response.status_code == 200, response.text
    returned = response.json()
    assert set(returned) == LOAN_KEYS
    assert {k: v for k, v in returned.items() if k != "returned_at"} == {
        k: v for k, v in loan.items() if k != "returned_at"
    }
    assert timestamp(returned["returned_at"]) >= timestamp(returned["borrowed_at"])
    assert api.get(f"/v1/loans/{loan['id']}").json() == returned
    assert available(api, book["id"]) is True


@pytest.mark.rules("loan-return-twice", "refused-changes-nothing")
def test_a_second_return_is_409_and_keeps_the_first_return_time(api, authed_api, unique):
    member, book = new_member(authed_api, unique), new_book(authed_api, unique)
    loan = new_loan(authed_api, member["id"], book["id"])
    first = give_back(authed_api, loan["id"]).json()
    # the book is lent again: returning the old loan must not close the new one
    newer = new_loan(authed_api, member["id"], book["id"])
    for _ in range(2):
        assert_error(give_back(authed_api, loan["id"]), 409, "already_returned")
    assert api.get(f"/v1/loans/{loan['id']}").json() == first
    assert api.get(f"/v1/loans/{newer['id']}").json()["returned_at"] is None
    assert available(api, book["id"]) is False


@pytest.mark.rules("loan-list-order", "loan-list-filters", "loan-list-open")
def test_loans_are_listed_newest_first_and_filtered(api, authed_api, unique):
    ann, bob = new_member(authed_api, unique), new_member(authed_api, unique)
    one, two = new_book(authed_api, unique), new_book(authed_api, unique)
    a1 = new_loan(authed_api, ann["id"], one["id"])
    give_back(authed_api, a1["id"])
    b1 = new_loan(authed_api, bob["id"], one["id"])
    a2 = new_loan(authed_api, ann["id"], two["id"])
    give_back(authed_api, b1["id"])
    a3 = new_loan(authed_api, ann["id"], one["id"])

    def listed(**params) -> list[int]:
        return loan_ids(api.get("/v1/loans", params=params))

    assert listed(member_id=ann["id"]) == [a3["id"], a2["id"], a1["id"]]
    assert listed(book_id=one["id"]) == [a3["id"], b1["id"], a1["id"]]
    assert listed(member_id=ann["id"], book_id=one["id"]) == [a3["id"], a1["id"]]
    assert listed(member_id=ann["id"], open="true") == [a3["id"], a2["id"]]
    assert listed(member_id=ann["id"], open="false") == [a1["id"]]
    assert listed(book_id=one["id"], open="false") == [b1["id"], a1["id"]]
    assert listed(member_id=bob["id"], book_id=two["id"]) == []
    newest = api.get("/v1/loans", params={"limit": 100}).json()["items"]
    assert [loan["id"] for loan in newest] == sorted((loan["id"] for loan in newest), reverse=True)
    assert newest[0]["id"] >= a3["id"]


@pytest.mark.rules("loan-list-open-invalid", "loan-list-id-range", "validation-422")
def test_loan_filters_refuse_values_of_the_wrong_kind(api, authed_api, unique):
    member = new_member(authed_api, unique)
    for query in (
        "open=maybe",
        "member_id=abc",
        "member_id=0",
        "book_id=-1",
        f"book_id={MAX_ID + 1}",
        "member_id=1.5",
    ):
        assert_error(api.get(f"/v1/loans?{query}"), 422, "validation_error")
    assert_error(api.get(f"/v1/members/{member['id']}/loans?open=maybe"), 422, "validation_error")
    for query in (f"member_id={MAX_ID}", f"book_id={MAX_ID}"):
        page = api.get(f"/v1/loans?{query}").json()
        assert (page["items"], page["total"]) == ([], 0)


@pytest.mark.rules("member-loans")
def test_a_members_loans_are_listed_as_the_loans_list_filters_them(api, authed_api, unique):
    member, other = new_member(authed_api, unique), new_member(authed_api, unique)
    books = [new_book(authed_api, unique) for _ in range(4)]
    loans = [new_loan(authed_api, member["id"], book["id"]) for book in books[:3]]
    give_back(authed_api, loans[1]["id"])
    new_loan(authed_api, other["id"], books[3]["id"])
    for params in ({}, {"open": "true"}, {"open": "false"}, {"limit": 1, "offset": 1}):
        own = api.get(f"/v1/members/{member['id']}/loans", params=params)
        assert own.status_code == 200, own.text
        assert (
            own.json() == api.get("/v1/loans", params={"member_id": member["id"], **params}).json()
        )
    everything = loan_ids(api.get(f"/v1/members/{member['id']}/loans"))
    assert everything == [loans[2]["id"], loans[1]["id"], loans[0]["id"]]
    assert_error(api.get(f"/v1/members/{MISSING_ID}/loans"), 404, "not_found")
    gone = new_member(authed_api, unique)
    authed_api.delete(f"/v1/members/{gone['id']}")
    assert_error(api.get(f"/v1/members/{gone['id']}/loans"), 404, "not_found")
