"""Malformed requests: what the prompt settles for bytes, sizes and content types."""

import json

import pytest

MiB = 1024 * 1024


def assert_error(response, status, code):
    assert response.status_code == status, (
        response.request.method,
        str(response.request.url),
        response.text,
    )
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def stored_members(db, email):
    return db.scalar("SELECT count(*) FROM members WHERE lower(email) = lower(%s)", (email,))


def post_member_raw(client_factory, auth_headers, content: bytes, content_type: str):
    """POST /members on a connection of its own, closed after: a server may close a connection
    whose body it did not read, and no other request may depend on it."""
    headers = {**auth_headers, "Content-Type": content_type}
    with client_factory(headers=headers) as client:
        return client.post("/members", content=content)


def assert_stored_only_if_accepted(api, db, response, email):
    """A 201 stored the member as sent; any refusal stored nothing."""
    if response.status_code == 201:
        assert response.json()["email"] == email
    assert stored_members(db, email) == (1 if response.status_code == 201 else 0)


@pytest.mark.rules("invalid-utf8-query", "validation-422", "error-body")
def test_a_query_value_that_is_not_utf8_is_refused_or_read_with_replacements(api):
    response = api.get("/organisations?name=%FF%FE")
    if response.status_code != 200:
        assert_error(response, 422, "validation_error")
    else:
        assert set(response.json()) >= {"items", "total"}
    for path in ("/organisations?limit=%FF", "/projects?offset=%FF", "/tasks?limit=%FF"):
        assert_error(api.get(path), 422, "validation_error")


@pytest.mark.rules("validation-422", "error-body", "refused-changes-nothing")
def test_malformed_json_is_422(client_factory, auth_headers, unique, db):
    email = f"{unique('broken')}@x.io"
    bodies = (
        b'{"email": "' + email.encode() + b'", "name": ',
        b'{"email": "' + email.encode() + b'", "name": "\xff\xfe"}',  # not UTF-8
        b"[]",
        b"null",
        b'"x"',
    )
    for raw in bodies:
        response = post_member_raw(client_factory, auth_headers, raw, "application/json")
        assert_error(response, 422, "validation_error")
    assert stored_members(db, email) == 0


@pytest.mark.rules("oversized-body")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    api, client_factory, auth_headers, unique, db
):
    email = f"{unique('big')}@x.io"
    body = json.dumps({"email": email, "name": "Big", "padding": "x" * (MiB + 1024)}).encode()
    response = post_member_raw(client_factory, auth_headers, body, "application/json")
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert_stored_only_if_accepted(api, db, response, email)
    assert api.get("/health").status_code == 200


@pytest.mark.rules("content-type")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    api, client_factory, auth_headers, unique, db, content_type
):
    email = f"{unique('ctype')}@x.io"
    body = json.dumps({"email": email, "name": "Typed"}).encode()
    response = post_member_raw(client_factory, auth_headers, body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert_stored_only_if_accepted(api, db, response, email)
