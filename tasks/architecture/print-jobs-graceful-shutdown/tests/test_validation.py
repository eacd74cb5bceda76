"""What a create accepts and refuses: a refused create is 422 and stores nothing."""

from __future__ import annotations

import json

import pytest
from jobs_api import JOBS, assert_error, assert_stored_whole, stored_jobs


def post_raw(client_factory, auth_headers, content: bytes, content_type: str = "application/json"):
    """POST on a connection of its own, closed after."""
    with client_factory(headers={**auth_headers, "Content-Type": content_type}) as client:
        return client.post(JOBS, content=content)


@pytest.mark.rules("pages-integer", "error-422", "refused-stores-nothing")
@pytest.mark.parametrize("pages", [0, 11, -1, 2.0, 2.5, "2", True, None, [2], 10**30])
def test_pages_must_be_an_integer_from_1_to_10(authed_api, db, unique, pages):
    document = unique("pages")
    response = authed_api.post(JOBS, json={"document": document, "pages": pages})
    assert_error(response, 422, "validation_error")
    assert stored_jobs(db, document) == []


@pytest.mark.rules("document-text", "error-422", "refused-stores-nothing")
@pytest.mark.parametrize("document", ["", 7, None, ["a"], "x" * 101])
def test_document_must_be_a_string_of_1_to_100_characters(authed_api, db, document):
    before = db.scalar("SELECT count(*) FROM print_jobs")
    response = authed_api.post(JOBS, json={"document": document, "pages": 1})
    assert_error(response, 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM print_jobs") == before


@pytest.mark.rules("document-text")
def test_a_document_of_100_characters_counts_characters_not_bytes(authed_api, db, unique):
    document = unique("é")
    document = document + "é" * (100 - len(document))
    assert len(document) == 100 and len(document.encode()) > 100
    response = authed_api.post(JOBS, json={"document": document, "pages": 1})
    assert response.status_code == 201, response.text
    assert_stored_whole(db, document, 1)


@pytest.mark.rules("document-text", "refused-stores-nothing")
@pytest.mark.parametrize("raw", ['"a\\u0000b"', '"\\u0000"', '"doc\\ud800"', '"\\udfff-doc"'])
def test_a_document_with_nul_or_a_lone_surrogate_is_422(client_factory, auth_headers, db, raw):
    before = db.scalar("SELECT count(*) FROM print_jobs")
    content = f'{{"document": {raw}, "pages": 1}}'.encode()
    assert_error(post_raw(client_factory, auth_headers, content), 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM print_jobs") == before


@pytest.mark.rules("body-object", "refused-stores-nothing")
@pytest.mark.parametrize("body", [{}, {"document": "x"}, {"pages": 1}, [], ["x", 1], "x", 3, None])
def test_a_body_that_is_not_a_whole_job_object_is_422(authed_api, db, body):
    before = db.scalar("SELECT count(*) FROM print_jobs")
    assert_error(authed_api.post(JOBS, json=body), 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM print_jobs") == before


@pytest.mark.rules("malformed-body", "refused-stores-nothing")
@pytest.mark.parametrize("kind", ["not-utf8", "not-json", "empty"])
def test_a_body_that_is_not_utf8_json_is_422(client_factory, auth_headers, db, unique, kind):
    document = unique("raw")
    content = {
        "not-utf8": b'{"document": "' + document.encode() + b'\xff", "pages": 1}',
        "not-json": json.dumps({"document": document, "pages": 1}).encode()[:-3],
        "empty": b"",
    }[kind]
    assert_error(post_raw(client_factory, auth_headers, content), 422, "validation_error")
    assert stored_jobs(db, document) == []
    assert stored_jobs(db, document + "\ufffd") == []


@pytest.mark.rules("content-type")
def test_another_content_type_is_refused_or_read_as_json(client_factory, auth_headers, db, unique):
    document = unique("ctype")
    content = json.dumps({"document": document, "pages": 1}).encode()
    response = post_raw(client_factory, auth_headers, content, "text/plain")
    if response.status_code == 201:
        assert_stored_whole(db, document, 1)
    else:
        assert response.status_code in (415, 422), response.text
        assert stored_jobs(db, document) == []


@pytest.mark.rules("body-size")
def test_a_body_over_1_mib_stores_nothing(client_factory, auth_headers, db, unique):
    document = unique("big")
    content = json.dumps({"document": document, "pages": 1, "pad": "x" * (2 * 1024 * 1024)})
    response = post_raw(client_factory, auth_headers, content.encode())
    if response.status_code == 201:
        assert_stored_whole(db, document, 1)
    else:
        assert response.status_code in (413, 422), response.status_code
        assert stored_jobs(db, document) == []
