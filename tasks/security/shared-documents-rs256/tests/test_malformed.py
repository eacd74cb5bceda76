"""Malformed requests: body size, Content-Type, bodies that are not JSON objects, and which
fault decides the answer when a request has several."""

from __future__ import annotations

import json

import pytest
from docs_api import (
    MiB,
    assert_error,
    bearer,
    documents_titled,
    people,  # noqa: F401 - a fixture
    stored_document,
    stored_shares,
)


def send(people, person, method, path, content, content_type="application/json"):
    """One raw request on a connection of its own (closed after): a server may close a
    connection whose body it refused."""
    headers = bearer(person.token) if person is not None else {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    with people.factory(headers=headers) as client:
        return client.request(method, path, content=content)


def padded(body, size):
    """`body` as JSON of exactly `size` bytes, filled with a padding field."""
    text = json.dumps({**body, "padding": ""})
    missing = size - len(text.encode())
    assert missing >= 0
    return json.dumps({**body, "padding": "x" * missing}).encode()


@pytest.mark.rules("body-size", "error-413", "refused-changes-nothing")
def test_a_body_over_1_mib_is_413_and_stores_nothing(people, db, client_factory):
    alice = people.user("alice")
    document = alice.document("Small", "b")
    title = people.unique("huge")
    response = send(people, alice, "POST", "/v1/documents", padded({"title": title}, MiB + 1))
    assert_error(response, 413, "payload_too_large")
    assert documents_titled(db, title) == 0
    response = send(
        people, alice, "PATCH", f"/v1/documents/{document['id']}",
        padded({"title": "Huge"}, 2 * MiB),
    )  # fmt: skip
    assert_error(response, 413, "payload_too_large")
    assert stored_document(db, document["id"]) == (alice.sub, "Small", "b")
    assert client_factory().get("/health").status_code == 200


@pytest.mark.rules("body-size", "error-413", "refused-changes-nothing")
def test_a_body_over_1_mib_sent_in_chunks_without_a_length_is_413_and_stores_nothing(people, db):
    alice = people.user("alice")
    title = people.unique("chunked")
    body = padded({"title": title}, MiB + 1)
    chunks = (body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024))
    # a generator: httpx sends it with Transfer-Encoding: chunked and no Content-Length
    response = send(people, alice, "POST", "/v1/documents", chunks)
    assert_error(response, 413, "payload_too_large")
    assert documents_titled(db, title) == 0


@pytest.mark.rules("body-size")
def test_a_body_of_exactly_1_mib_is_read_as_usual(people, db):
    alice = people.user("alice")
    title = people.unique("full")
    response = send(people, alice, "POST", "/v1/documents", padded({"title": title}, MiB))
    assert response.status_code == 201, response.text[:300]
    assert response.json()["title"] == title
    assert documents_titled(db, title) == 1


@pytest.mark.rules("content-type", "error-415", "refused-changes-nothing")
def test_a_body_sent_without_the_json_content_type_is_415(people, db):
    alice = people.user("alice")
    document = alice.document("Typed", "b")
    title = people.unique("typed")
    body = json.dumps({"title": title}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None,
                         "application/jsonp", "text/json"):  # fmt: skip
        response = send(people, alice, "POST", "/v1/documents", body, content_type)
        assert_error(response, 415, "unsupported_media_type")
        response = send(
            people, alice, "PATCH", f"/v1/documents/{document['id']}",
            b'{"title": "Changed", "shared_with": ["x"]}', content_type,
        )  # fmt: skip
        assert_error(response, 415, "unsupported_media_type")
    assert documents_titled(db, title) == 0
    assert stored_document(db, document["id"]) == (alice.sub, "Typed", "b")
    assert stored_shares(db, document["id"]) == []
    with_charset = send(
        people, alice, "POST", "/v1/documents", body, "application/json; charset=utf-8"
    )
    assert with_charset.status_code == 201, with_charset.text
    assert documents_titled(db, title) == 1


@pytest.mark.rules("body-json", "error-422", "refused-changes-nothing")
def test_a_body_that_is_not_a_utf8_json_object_is_422(people, db):
    alice = people.user("alice")
    document = alice.document("Intact", "b")
    for content in (b"{", b"", b"[]", b'["title"]', b'"title"', b"null", b"42",
                    b'{"title": "caf\xe9"}', b'{"title": "\xff\xfe"}', b"{'title': 'x'}",
                    b'{"title": "x",}'):  # fmt: skip
        assert_error(send(people, alice, "POST", "/v1/documents", content), 422,
                     "validation_error")  # fmt: skip
        response = send(people, alice, "PATCH", f"/v1/documents/{document['id']}", content)
        assert_error(response, 422, "validation_error")
    assert stored_document(db, document["id"]) == (alice.sub, "Intact", "b")
    assert db.scalar("SELECT count(*) FROM documents WHERE owner_id = %s", (alice.sub,)) == 1


@pytest.mark.rules("fault-order", "auth-first")
def test_the_first_fault_in_the_stated_order_decides_the_answer(people, db):
    alice, bob, carol = people.user("alice"), people.user("bob"), people.user("carol")
    document = alice.document("Ordered", "b", [carol.sub])
    path = f"/v1/documents/{document['id']}"
    huge = padded({"title": "x"}, MiB + 10)
    bad = b'{"title": 5}'
    # the token first: no token beats a huge body, a wrong type, a bad body and a bad id
    assert_error(send(people, None, "PATCH", "/v1/documents/abc", huge, "text/plain"), 401,
                 "unauthorized")  # fmt: skip
    assert_error(send(people, None, "POST", "/v1/documents", bad, None), 401, "unauthorized")
    # then the admin scope
    assert_error(send(people, alice, "GET", f"/v1/admin/users/{alice.sub}", None), 403,
                 "forbidden")  # fmt: skip
    # then the size, before the Content-Type
    assert_error(send(people, alice, "PATCH", path, huge, "text/plain"), 413, "payload_too_large")
    # then the Content-Type, before the body
    assert_error(send(people, alice, "PATCH", path, b"{", "text/plain"), 415,
                 "unsupported_media_type")  # fmt: skip
    # then the body, before the path id, the document and a reader's 403
    assert_error(send(people, alice, "PATCH", "/v1/documents/abc", bad), 422, "validation_error")
    assert_error(send(people, bob, "PATCH", path, bad), 422, "validation_error")
    assert_error(send(people, carol, "PATCH", path, bad), 422, "validation_error")
    # then the document (404 to bob), and last a reader's change (403 to carol)
    assert_error(send(people, bob, "PATCH", path, b'{"title": "Y"}'), 404, "not_found")
    assert_error(send(people, carol, "PATCH", path, b'{"title": "Y"}'), 403, "forbidden")
    assert stored_document(db, document["id"]) == (alice.sub, "Ordered", "b")
