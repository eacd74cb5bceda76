"""Malformed requests: what the prompt settles for path ids, bodies, sizes and content types."""

from __future__ import annotations

import json

import pytest
from bookmarks_api import assert_error, new_bookmark, read_bookmark, rows_mentioning

MALFORMED_IDS = ["abc", "1.5", "0", "-1", "9223372036854775808", "1e3", "null%2Cnull"]
MiB = 1024 * 1024


@pytest.mark.rules("malformed-path-id")
@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_a_malformed_path_id_names_no_bookmark(api, authed_api, unique, bad_id):
    bookmark = new_bookmark(authed_api, unique)
    for response in (api.get(f"/v1/bookmarks/{bad_id}"),
                     authed_api.delete(f"/v1/bookmarks/{bad_id}")):  # fmt: skip
        assert response.status_code in (404, 422), response.text
        assert_error(response, response.status_code,
                     "not_found" if response.status_code == 404 else "validation_error")  # fmt: skip
    assert read_bookmark(api, bookmark["id"]) == bookmark


def post_raw(client_factory, auth_headers, content: bytes, content_type: str):
    """POST /v1/bookmarks on a connection of its own, closed after."""
    with client_factory(headers={**auth_headers, "Content-Type": content_type}) as client:
        return client.post("/v1/bookmarks", content=content)


@pytest.mark.rules("invalid-body", "rejected-changes-nothing")
def test_a_body_that_is_not_a_utf8_json_object_is_422(client_factory, auth_headers, unique, db):
    marker = unique("body")
    good = json.dumps({"url": "https://e.org/", "title": marker})
    for content in (b"{", b"", b"null", b"[]", b'"text"', b"42",
                    f"[{good}]".encode(),
                    b'{"url": "https://e.org/", "title": "\xff\xfe' + marker.encode() + b'"}'):  # fmt: skip
        response = post_raw(client_factory, auth_headers, content, "application/json")
        assert_error(response, 422, "validation_error")
    assert rows_mentioning(db, marker) == 0


@pytest.mark.rules("oversized-body", "rejected-changes-nothing")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    api, client_factory, auth_headers, unique, db
):
    title = unique("big")
    body = {"url": "https://e.org/", "title": title, "padding": "x" * (MiB + 1024)}
    response = post_raw(client_factory, auth_headers, json.dumps(body).encode(), "application/json")
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert rows_mentioning(db, title) == (1 if response.status_code == 201 else 0)
    assert api.get("/health").status_code == 200


@pytest.mark.rules("content-type", "rejected-changes-nothing")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    api, client_factory, auth_headers, unique, db, content_type
):
    title = unique("ctype")
    content = json.dumps({"url": "https://e.org/", "title": title}).encode()
    response = post_raw(client_factory, auth_headers, content, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert read_bookmark(api, response.json()["id"])["title"] == title
    assert rows_mentioning(db, title) == (1 if response.status_code == 201 else 0)
