"""Members: the existing behaviour, and what open loans change about deleting them."""

from __future__ import annotations

import pytest
from library_requests import (
    MEMBER_KEYS,
    assert_error,
    available,
    give_back,
    new_book,
    new_loan,
    new_member,
)


def register(authed_api, name: str, email: str):
    return authed_api.post("/v1/members", json={"name": name, "email": email})


def stored(db, email: str) -> int:
    return db.scalar("SELECT count(*) FROM members WHERE email = %s", (email,))


@pytest.mark.rules("member-create", "member-get", "existing-behaviour")
def test_a_member_is_registered_and_can_be_read(api, authed_api, unique):
    email = f"{unique('ada')}@library.test"
    response = register(authed_api, "Ada Reader", email)
    assert response.status_code == 201, response.text
    member = response.json()
    assert set(member) == MEMBER_KEYS
    assert (member["name"], member["email"]) == ("Ada Reader", email)
    assert isinstance(member["id"], int) and member["id"] >= 1
    fetched = api.get(f"/v1/members/{member['id']}")
    assert fetched.status_code == 200 and fetched.json() == member


@pytest.mark.rules("member-create", "validation-422")
def test_member_fields_are_checked(authed_api, unique, db):
    tag = unique("shape")[-12:]
    refused = [
        f"{tag}.library.test",
        f"{tag}@x@library.test",
        f"{tag} x@library.test",
        f"@{tag}",
        f"{tag}@",
        f"{tag}@lib\trary.test",
        "a" * (255 - len(f"@{tag}.t")) + f"@{tag}.t",
    ]
    for email in refused:
        assert_error(register(authed_api, "N", email), 422, "validation_error")
        assert stored(db, email) == 0
    for name in ("", "n" * 201, None):
        assert_error(register(authed_api, name, f"{unique('n')}@l.t"), 422, "validation_error")
    assert_error(authed_api.post("/v1/members", json={"name": "N"}), 422, "validation_error")
    longest = "a" * (254 - len(f"@{tag}.t")) + f"@{tag}.t"
    shortest = f"{tag[:1]}@{tag[1:2]}"  # 3 characters; may already be taken by an earlier run
    for email in (longest, f"{unique('ok')}@localhost"):
        assert register(authed_api, "ü" * 200, email).status_code == 201, email
    assert register(authed_api, "N", shortest).status_code in (201, 409)


@pytest.mark.rules("member-email-unique", "refused-changes-nothing", "existing-behaviour")
def test_an_email_is_registered_to_one_member_only(authed_api, unique, db):
    email = f"{unique('once')}@library.test"
    assert register(authed_api, "First", email).status_code == 201
    assert_error(register(authed_api, "Second", email), 409, "conflict")
    assert stored(db, email) == 1


@pytest.mark.rules("member-email-case-sensitive")
def test_emails_differing_in_case_are_different_emails(authed_api, unique):
    email = f"{unique('case')}@library.test"
    assert register(authed_api, "Lower", email).status_code == 201
    assert register(authed_api, "Upper", email.upper()).status_code == 201


@pytest.mark.rules("member-list-order", "existing-behaviour")
def test_members_are_listed_by_id(api, authed_api, unique):
    made = [new_member(authed_api, unique) for _ in range(3)]
    total = api.get("/v1/members", params={"limit": 1}).json()["total"]
    # the members just registered are the newest: the last three by id
    last = api.get("/v1/members", params={"offset": total - 3, "limit": 3}).json()
    assert last["items"] == made


@pytest.mark.rules("member-delete", "not-found-404", "existing-behaviour")
def test_deleting_a_member_answers_204_and_removes_them(api, authed_api, unique):
    member = new_member(authed_api, unique)
    response = authed_api.delete(f"/v1/members/{member['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert_error(api.get(f"/v1/members/{member['id']}"), 404, "not_found")
    assert_error(authed_api.delete(f"/v1/members/{member['id']}"), 404, "not_found")


@pytest.mark.rules("member-delete-open-loans", "refused-changes-nothing")
def test_a_member_with_an_open_loan_is_not_deleted(api, authed_api, unique):
    member = new_member(authed_api, unique)
    first, second = new_book(authed_api, unique), new_book(authed_api, unique)
    returned = new_loan(authed_api, member["id"], first["id"])
    give_back(authed_api, returned["id"])
    still_open = new_loan(authed_api, member["id"], second["id"])
    assert_error(authed_api.delete(f"/v1/members/{member['id']}"), 409, "member_has_open_loans")
    assert api.get(f"/v1/members/{member['id']}").json() == member
    assert api.get(f"/v1/loans/{returned['id']}").status_code == 200
    assert api.get(f"/v1/loans/{still_open['id']}").json()["returned_at"] is None
    assert available(api, second["id"]) is False


@pytest.mark.rules("member-delete-returned-loans", "member-delete")
def test_a_member_is_deleted_with_their_returned_loans(api, authed_api, unique):
    member = new_member(authed_api, unique)
    books = [new_book(authed_api, unique) for _ in range(2)]
    loans = [new_loan(authed_api, member["id"], book["id"]) for book in books]
    for loan in loans:
        assert give_back(authed_api, loan["id"]).status_code == 200
    assert authed_api.delete(f"/v1/members/{member['id']}").status_code == 204
    for loan, book in zip(loans, books, strict=True):
        assert_error(api.get(f"/v1/loans/{loan['id']}"), 404, "not_found")
        listed = api.get("/v1/loans", params={"book_id": book["id"]}).json()
        assert (listed["items"], listed["total"]) == ([], 0)
        assert available(api, book["id"]) is True
    assert api.get("/v1/loans", params={"member_id": member["id"]}).json()["total"] == 0
