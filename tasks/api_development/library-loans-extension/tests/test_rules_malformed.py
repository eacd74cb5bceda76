"""Malformed requests: what the prompt settles for path ids, NUL characters, bytes, sizes and
content types."""

from __future__ import annotations

import json

import pytest
from library_requests import assert_error, new_book, new_member

MiB = 1024 * 1024
NOT_IDS = ("abc", "1.5", "0", "-1", "9223372036854775808", "null%2Cnull", "1e3")


def assert_names_nothing(response) -> None:
    """A path id that is not a whole number in range: 404 not_found or 422 validation_error."""
    assert response.status_code in (404, 422), (str(response.request.url), response.text[:200])
    assert_error(
        response, response.status_code,
        "not_found" if response.status_code == 404 else "validation_error",
    )  # fmt: skip


def stored_members(db, email: str) -> int:
    return db.scalar("SELECT count(*) FROM members WHERE email = %s", (email,))


def post_member_raw(client_factory, auth_headers, content: bytes, content_type: str):
    """POST /v1/members on a connection of its own, closed after: a server may close a
    connection whose body it did not read, and no other request may depend on it."""
    headers = {**auth_headers, "Content-Type": content_type}
    with client_factory(headers=headers) as client:
        return client.post("/v1/members", content=content)


def assert_stored_only_if_accepted(api, db, response, email: str) -> None:
    """A 201 stored the member as sent; any refusal stored nothing."""
    if response.status_code == 201:
        member = response.json()
        assert member["email"] == email
        assert api.get(f"/v1/members/{member['id']}").json() == member
    assert stored_members(db, email) == (1 if response.status_code == 201 else 0)


@pytest.mark.rules("malformed-path-id")
@pytest.mark.parametrize("raw", NOT_IDS)
def test_a_path_id_that_is_not_a_whole_number_in_range_names_nothing(api, authed_api, raw):
    for response in (
        api.get(f"/v1/books/{raw}"),
        api.get(f"/v1/members/{raw}"),
        api.get(f"/v1/members/{raw}/loans"),
        api.get(f"/v1/loans/{raw}"),
        authed_api.post(f"/v1/loans/{raw}/return"),
        authed_api.delete(f"/v1/members/{raw}"),
    ):
        assert_names_nothing(response)


@pytest.mark.rules("nul-text", "validation-422")
def test_text_with_a_nul_character_is_422(api, authed_api, unique, db):
    assert_error(api.get("/v1/books?author=%00"), 422, "validation_error")
    assert_error(api.get("/v1/books?author=a%00b"), 422, "validation_error")
    author = unique("nul")
    for body in (
        {"title": "a\x00b", "author": author, "year": 2000},
        {"title": "T", "author": author + "\x00", "year": 2000},
    ):
        assert_error(authed_api.post("/v1/books", json=body), 422, "validation_error")
    assert api.get("/v1/books", params={"author": author}).json()["total"] == 0
    email = f"{unique('nul')}@library.test"
    for body in ({"name": "N\x00", "email": email}, {"name": "N", "email": "\x00" + email}):
        assert_error(authed_api.post("/v1/members", json=body), 422, "validation_error")
    assert stored_members(db, email) == 0


@pytest.mark.rules("invalid-utf8-query", "validation-422")
def test_a_query_value_that_is_not_utf8_is_refused_or_read_with_replacements(authed_api, unique):
    member = new_member(authed_api, unique)
    response = authed_api.get("/v1/books?author=%FF%FE")
    if response.status_code != 200:
        assert_error(response, 422, "validation_error")
    else:
        assert response.json()["total"] == 0  # no author is named "\ufffd\ufffd" by a test
    # read with replacement characters, none of these is valid: a 422 either way
    for path in (
        "/v1/books?limit=%FF",
        "/v1/books?available=%FF",
        "/v1/members?offset=%FF",
        "/v1/loans?open=%FF",
        "/v1/loans?member_id=%FF",
        f"/v1/members/{member['id']}/loans?limit=%FF",
    ):
        assert_error(authed_api.get(path), 422, "validation_error")


@pytest.mark.rules("malformed-json-body", "validation-422", "refused-changes-nothing")
def test_a_body_that_is_not_valid_json_is_422_and_stores_nothing(
    client_factory, auth_headers, unique, db
):
    email = f"{unique('notjson')}@library.test"
    body = json.dumps({"name": "Raw", "email": email}).encode()
    for broken in (body[:-1], body.replace(b'"Raw"', b'"R\xffw"')):  # cut short; not UTF-8
        response = post_member_raw(client_factory, auth_headers, broken, "application/json")
        assert_error(response, 422, "validation_error")
    assert stored_members(db, email) == 0


@pytest.mark.rules("oversized-body", "refused-changes-nothing")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    api, client_factory, auth_headers, unique, db
):
    email = f"{unique('big')}@library.test"
    body = json.dumps({"name": "Big", "email": email, "padding": "x" * (MiB + 1024)}).encode()
    response = post_member_raw(client_factory, auth_headers, body, "application/json")
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert_stored_only_if_accepted(api, db, response, email)
    assert api.get("/health").status_code == 200


@pytest.mark.rules("content-type", "refused-changes-nothing")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    api, client_factory, auth_headers, unique, db, content_type
):
    email = f"{unique('ctype')}@library.test"
    body = json.dumps({"name": "Typed", "email": email}).encode()
    response = post_member_raw(client_factory, auth_headers, body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert_stored_only_if_accepted(api, db, response, email)
    # a book too, whose loans then work as for any other
    book = new_book(client_factory(headers=auth_headers), unique)
    assert book["available"] is True
