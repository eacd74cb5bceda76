"""The conventions every endpoint follows: authentication of writes, errors, ids, paging."""

from __future__ import annotations

import pytest
from library_requests import (
    MISSING_ID,
    PAGE_KEYS,
    assert_error,
    available,
    new_book,
    new_loan,
    new_member,
)


def bad_credentials(secret: str) -> list[dict[str, str]]:
    return [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": f"Bearer {secret}x"},
        {"Authorization": f"Bearer {secret[:-1]}"},
        {"Authorization": secret},
        {"Authorization": f"Basic {secret}"},
        {"Authorization": "Bearer"},
    ]


def members_with_email(db, email: str) -> int:
    return db.scalar("SELECT count(*) FROM members WHERE email = %s", (email,))


@pytest.mark.rules("health")
def test_health_answers_ok_without_a_token(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("auth-writes", "refused-changes-nothing", "error-body")
def test_every_write_refuses_a_missing_or_wrong_token_and_changes_nothing(
    api, authed_api, app_secret, unique, db
):
    member = new_member(authed_api, unique)
    book = new_book(authed_api, unique)
    lent = new_book(authed_api, unique)
    loan = new_loan(authed_api, member["id"], lent["id"])
    author, email = unique("noauth"), f"{unique('noauth')}@library.test"
    for headers in bad_credentials(app_secret):
        writes = [
            api.post(
                "/v1/books", headers=headers, json={"title": "T", "author": author, "year": 2000}
            ),
            api.post("/v1/members", headers=headers, json={"name": "N", "email": email}),
            api.post(
                "/v1/loans",
                headers=headers,
                json={"member_id": member["id"], "book_id": book["id"]},
            ),
            api.post(f"/v1/loans/{loan['id']}/return", headers=headers),
            api.delete(f"/v1/members/{member['id']}", headers=headers),
            # an invalid body is still a 401 first
            api.post("/v1/books", headers=headers, json={"title": ""}),
            api.post("/v1/loans", headers=headers, json={"member_id": "x"}),
        ]
        for response in writes:
            assert_error(response, 401, "unauthorized")
    assert api.get("/v1/books", params={"author": author}).json()["total"] == 0
    assert members_with_email(db, email) == 0
    assert available(api, book["id"]) is True
    assert api.get(f"/v1/loans/{loan['id']}").json()["returned_at"] is None
    assert api.get(f"/v1/members/{member['id']}").status_code == 200


@pytest.mark.rules("reads-public")
def test_reads_need_no_token(api, authed_api, unique):
    member = new_member(authed_api, unique)
    book = new_book(authed_api, unique)
    loan = new_loan(authed_api, member["id"], book["id"])
    for path in (
        "/v1/books",
        f"/v1/books/{book['id']}",
        "/v1/members",
        f"/v1/members/{member['id']}",
        f"/v1/members/{member['id']}/loans",
        "/v1/loans",
        f"/v1/loans/{loan['id']}",
    ):
        response = api.get(path)
        assert response.status_code == 200, (path, response.text)


@pytest.mark.rules("not-found-404", "error-body")
def test_an_id_that_names_nothing_is_404_not_found(api, authed_api):
    for response in (
        api.get(f"/v1/books/{MISSING_ID}"),
        api.get(f"/v1/members/{MISSING_ID}"),
        api.get(f"/v1/members/{MISSING_ID}/loans"),
        api.get(f"/v1/loans/{MISSING_ID}"),
        authed_api.post(f"/v1/loans/{MISSING_ID}/return"),
        authed_api.delete(f"/v1/members/{MISSING_ID}"),
    ):
        assert_error(response, 404, "not_found")


@pytest.mark.rules("validation-422", "error-body", "refused-changes-nothing")
def test_invalid_bodies_and_query_parameters_are_422_validation_error(api, authed_api, unique):
    author = unique("invalid")
    for body in (
        {"title": "T", "author": author},  # a missing field
        {"title": "T", "author": author, "year": "2000"},  # a wrong type
        {"title": "T", "author": author, "year": 2101},  # out of range
        {"title": ["T"], "author": author, "year": 2000},
    ):
        assert_error(authed_api.post("/v1/books", json=body), 422, "validation_error")
    for body in ({"name": "N"}, {"name": 5, "email": "a@b.c"}, {"name": "N", "email": None}):
        assert_error(authed_api.post("/v1/members", json=body), 422, "validation_error")
    for path in ("/v1/books?limit=zero", "/v1/loans?member_id=x", "/v1/members?offset=1.5"):
        assert_error(api.get(path), 422, "validation_error")
    # the author filter's maxLength is 200, as a book's author is
    assert_error(api.get("/v1/books", params={"author": "a" * 201}), 422, "validation_error")
    assert api.get("/v1/books", params={"author": author}).json()["total"] == 0


@pytest.mark.rules("unknown-fields-ignored")
def test_unknown_fields_in_a_body_are_ignored(api, authed_api, unique):
    author = unique("extra")
    response = authed_api.post(
        "/v1/books",
        json={
            "title": "T",
            "author": author,
            "year": 2000,
            "id": -7,
            "available": False,
            "isbn": "x",
        },
    )
    assert response.status_code == 201, response.text
    book = response.json()
    assert book["id"] != -7 and book["available"] is True
    member = authed_api.post(
        "/v1/members", json={"name": "N", "email": f"{unique('x')}@library.test", "role": "admin"}
    )
    assert member.status_code == 201, member.text
    loan = authed_api.post(
        "/v1/loans",
        json={
            "member_id": member.json()["id"],
            "book_id": book["id"],
            "returned_at": "2020-01-01T00:00:00+00:00",
            "id": -3,
        },
    )
    assert loan.status_code == 201, loan.text
    assert loan.json()["returned_at"] is None and loan.json()["id"] != -3


def paging_endpoints(member_id: int) -> list[str]:
    return ["/v1/books", "/v1/members", "/v1/loans", f"/v1/members/{member_id}/loans"]


@pytest.mark.rules("list-paging")
def test_lists_page_and_count_every_match(api, authed_api, unique):
    author = unique("paged")
    made = [
        new_book(authed_api, unique, title=f"Volume {n}", author=author)["id"] for n in range(5)
    ]
    page = api.get("/v1/books", params={"author": author, "limit": 2, "offset": 1}).json()
    assert set(page) == PAGE_KEYS
    assert (page["total"], page["limit"], page["offset"]) == (5, 2, 1)
    assert [book["id"] for book in page["items"]] == made[1:3]
    past = api.get("/v1/books", params={"author": author, "offset": 5}).json()
    assert (past["items"], past["total"]) == ([], 5)
    member = new_member(authed_api, unique)
    loans = [new_loan(authed_api, member["id"], book_id)["id"] for book_id in made[:3]]
    for path, params in (
        (f"/v1/members/{member['id']}/loans", {}),
        ("/v1/loans", {"member_id": member["id"]}),
    ):
        page = api.get(path, params={**params, "limit": 1, "offset": 1}).json()
        assert (page["total"], page["limit"], page["offset"]) == (3, 1, 1), path
        assert [loan["id"] for loan in page["items"]] == [loans[1]], path
    for path in paging_endpoints(member["id"]):
        page = api.get(path).json()
        assert (page["limit"], page["offset"]) == (20, 0), path
        assert len(page["items"]) == min(20, page["total"]), path


@pytest.mark.rules("list-paging-bounds", "validation-422")
def test_limit_and_offset_out_of_range_are_422(api, authed_api, unique):
    member = new_member(authed_api, unique)
    for path in paging_endpoints(member["id"]):
        for query in ("limit=0", "limit=101", "offset=-1", "limit=ten", "offset=1.5"):
            assert_error(api.get(f"{path}?{query}"), 422, "validation_error")
        assert api.get(f"{path}?limit=100&offset=0").status_code == 200
        assert api.get(f"{path}?limit=1").json()["limit"] == 1
