"""Malformed requests: what the prompt settles for path ids, bytes, sizes and content types."""

from __future__ import annotations

import json

import pytest
from items_api import assert_error, count_named, new_item, read_item

# not a whole number from 1 to 2**63 - 1: each names no item
MALFORMED_IDS = ["abc", "1.5", "null%2Cnull", "0", "-1", "9223372036854775808", "1e3"]
MiB = 1024 * 1024


def assert_no_such_item(response):
    """404 not_found or 422 validation_error: the prompt accepts either."""
    assert response.status_code in (404, 422), (response.request.url, response.text)
    code = "not_found" if response.status_code == 404 else "validation_error"
    assert_error(response, response.status_code, code)


@pytest.mark.rules("malformed-path-id")
@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_a_malformed_path_id_names_no_item(api, authed_api, unique, bad_id):
    item = new_item(authed_api, unique)
    assert_no_such_item(api.get(f"/v1/items/{bad_id}"))
    assert_no_such_item(authed_api.patch(f"/v1/items/{bad_id}", json={"quantity": 9}))
    assert_no_such_item(authed_api.delete(f"/v1/items/{bad_id}"))
    assert read_item(api, item["id"]) == item


@pytest.mark.rules("invalid-utf8-query")
def test_a_query_value_that_is_not_utf8_is_refused_or_read_with_replacements(api):
    response = api.get("/v1/items?name=%FF%FE")
    if response.status_code != 200:
        assert_error(response, 422, "validation_error")
    else:
        assert set(response.json()) >= {"items", "total", "limit", "offset"}
    # read with replacement characters, no sort value is valid: a 422 either way
    assert_error(api.get("/v1/items?sort=%FF"), 422, "validation_error")
    assert_error(api.get("/v1/items?limit=%FF"), 422, "validation_error")


def post_raw(client_factory, auth_headers, content: bytes, content_type: str):
    """POST /v1/items on a connection of its own, closed after: a server may close a connection
    whose body it did not read, and no other request may depend on it."""
    headers = {**auth_headers, "Content-Type": content_type}
    with client_factory(headers=headers) as client:
        return client.post("/v1/items", content=content)


@pytest.mark.rules("oversized-body", "rejected-changes-nothing")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    api, client_factory, auth_headers, unique
):
    name = unique("big")
    body = {"name": name, "price": 2.5, "quantity": 1, "padding": "x" * (MiB + 1024)}
    response = post_raw(client_factory, auth_headers, json.dumps(body).encode(), "application/json")
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert count_named(api, name) == (1 if response.status_code == 201 else 0)
    assert api.get("/health").status_code == 200


@pytest.mark.rules("content-type", "rejected-changes-nothing")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    api, client_factory, auth_headers, unique, content_type
):
    name = unique("ctype")
    body = json.dumps({"name": name, "price": 3.5, "quantity": 2}).encode()
    response = post_raw(client_factory, auth_headers, body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert read_item(api, response.json()["id"])["name"] == name
    assert count_named(api, name) == (1 if response.status_code == 201 else 0)
