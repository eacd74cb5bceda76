"""Malformed requests: what the prompt settles for path ids, NUL, bytes, sizes and content types."""

from __future__ import annotations

import json

import pytest
from readings_api import (
    BATCH,
    active_sensor,
    assert_error,
    batch,
    future_instant,
    reading,
    readings_at,
)

MALFORMED_IDS = ["abc", "1.5", "null%2Cnull", "0", "-1", "9223372036854775808", "1e3"]
MiB = 1024 * 1024


def assert_no_such_sensor(response):
    """404 not_found or 422 validation_error: the prompt accepts either."""
    assert response.status_code in (404, 422), (response.request.url, response.text)
    code = "not_found" if response.status_code == 404 else "validation_error"
    assert_error(response, response.status_code, code)


@pytest.mark.rules("malformed-path-id")
@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_a_malformed_path_id_names_no_sensor(api, bad_id):
    assert_no_such_sensor(api.get(f"/v1/sensors/{bad_id}"))
    assert_no_such_sensor(api.get(f"/v1/sensors/{bad_id}/readings"))


def post_raw(client_factory, auth_headers, content: bytes, content_type: str):
    """POST a batch on a connection of its own, closed after: a server may close a connection
    whose body it did not read, and no other request may depend on it."""
    headers = {**auth_headers, "Content-Type": content_type}
    with client_factory(headers=headers) as client:
        return client.post(BATCH, content=content)


@pytest.mark.rules("gateway-text", "rejected-changes-nothing")
@pytest.mark.parametrize("gateway", ['"gw\\u0000a"', '"\\u0000"', '"gw\\ud800"', '"\\udfff-gw"'])
def test_a_gateway_with_nul_or_a_lone_surrogate_is_422(client_factory, auth_headers, db, gateway):
    at = future_instant()
    readings = json.dumps([reading(active_sensor(db), at, 1.0)])
    content = f'{{"gateway": {gateway}, "readings": {readings}}}'.encode()
    response = post_raw(client_factory, auth_headers, content, "application/json")
    assert_error(response, 422, "validation_error")
    assert readings_at(db, [at]) == 0


@pytest.mark.rules("malformed-body", "rejected-changes-nothing")
@pytest.mark.parametrize("kind", ["not-utf8", "not-json"])
def test_a_body_that_is_not_utf8_json_is_422_and_stores_nothing(
    client_factory, auth_headers, db, kind
):
    at = future_instant()
    good = json.dumps(batch([reading(active_sensor(db), at, 1.0)], "gw-bytes")).encode()
    content = good.replace(b"gw-bytes", b"gw-\xff") if kind == "not-utf8" else good[:-2]
    response = post_raw(client_factory, auth_headers, content, "application/json")
    assert_error(response, 422, "validation_error")
    assert readings_at(db, [at]) == 0


@pytest.mark.rules("oversized-body", "rejected-changes-nothing")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    api, client_factory, auth_headers, db
):
    at = future_instant()
    body = {**batch([reading(active_sensor(db), at, 1.0)]), "padding": "x" * (MiB + 1024)}
    response = post_raw(client_factory, auth_headers, json.dumps(body).encode(), "application/json")
    assert response.status_code in (200, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert readings_at(db, [at]) == (1 if response.status_code == 200 else 0)
    assert api.get("/health").status_code == 200


@pytest.mark.rules("content-type", "rejected-changes-nothing")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    client_factory, auth_headers, db, content_type
):
    at = future_instant()
    body = json.dumps(batch([reading(active_sensor(db), at, 1.0)])).encode()
    response = post_raw(client_factory, auth_headers, body, content_type)
    assert response.status_code in (200, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert readings_at(db, [at]) == (1 if response.status_code == 200 else 0)
