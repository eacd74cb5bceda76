"""Malformed requests: body size, Content-Type, bodies that are not JSON objects, and which
fault decides the answer when a request has several."""

from __future__ import annotations

import json

import pytest
from accounts_api import (
    MiB,
    accounts_named,
    assert_error,
    kit,  # noqa: F401 - a fixture
    new_name,
    new_password,
)

BODY_PATHS = ("/v1/accounts", "/v1/sessions", "/v1/sessions/refresh")


def send(kit, path, content, content_type="application/json"):
    """One raw POST on a connection of its own (closed after): a server may close a connection
    whose body it refused."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    with kit.client() as client:
        return client.post(path, content=content, headers=headers)


def padded(body, size):
    """`body` as JSON of exactly `size` bytes, filled with a padding field."""
    text = json.dumps({**body, "padding": ""})
    missing = size - len(text.encode())
    assert missing >= 0
    return json.dumps({**body, "padding": "x" * missing}).encode()


@pytest.mark.rules("body-size", "error-413", "refused-changes-nothing")
def test_a_body_over_1_mib_is_413_and_stores_nothing(kit, db):
    name = new_name()
    body = {"username": name, "password": new_password()}
    for path in BODY_PATHS:
        assert_error(send(kit, path, padded(body, MiB + 1)), 413, "payload_too_large")
    assert accounts_named(db, name) == 0
    # a body far over the limit: the answer must reach a client still sending it
    assert_error(send(kit, "/v1/accounts", padded(body, 4 * MiB)), 413, "payload_too_large")
    for size in (MiB + 1, 4 * MiB):
        chunked = padded(body, size)
        chunks = (chunked[i : i + 64 * 1024] for i in range(0, len(chunked), 64 * 1024))
        # a generator: httpx sends it with Transfer-Encoding: chunked and no Content-Length
        assert_error(send(kit, "/v1/accounts", chunks), 413, "payload_too_large")
    assert accounts_named(db, name) == 0


@pytest.mark.rules("body-size")
def test_a_body_of_exactly_1_mib_is_read_as_usual(kit, db):
    name, password = new_name(), new_password()
    body = {"username": name, "password": password}
    response = send(kit, "/v1/accounts", padded(body, MiB))
    assert response.status_code == 201, response.text[:300]
    assert accounts_named(db, name) == 1
    response = send(kit, "/v1/sessions", padded(body, MiB))
    assert response.status_code == 200, response.text[:300]


@pytest.mark.rules("content-type", "error-415", "refused-changes-nothing")
def test_a_body_sent_without_the_json_content_type_is_415(kit, db):
    member = kit.register()
    name = new_name()
    body = json.dumps({"username": name, "password": new_password()}).encode()
    login = json.dumps({"username": member.username, "password": member.password}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None,
                         "application/jsonp", "text/json"):  # fmt: skip
        assert_error(send(kit, "/v1/accounts", body, content_type), 415, "unsupported_media_type")
        assert_error(send(kit, "/v1/sessions", login, content_type), 415,
                     "unsupported_media_type")  # fmt: skip
        assert_error(send(kit, "/v1/sessions/refresh", b'{"refresh_token": "x"}', content_type),
                     415, "unsupported_media_type")  # fmt: skip
    assert accounts_named(db, name) == 0
    response = send(kit, "/v1/accounts", body, "application/json; charset=utf-8")
    assert response.status_code == 201, response.text
    response = send(kit, "/v1/sessions", login, "application/json; charset=utf-8")
    assert response.status_code == 200, response.text


@pytest.mark.rules("body-json", "error-422", "refused-changes-nothing")
def test_a_body_that_is_not_a_utf8_json_object_is_422(kit, db):
    for content in (b"{", b"", b"[]", b'["username"]', b'"username"', b"null", b"42",
                    b'{"username": "caf\xe9", "password": "123456789012"}',
                    b'{"username": "\xff\xfe"}', b"{'username': 'x'}",
                    b'{"username": "abc", "password": "123456789012",}'):  # fmt: skip
        for path in BODY_PATHS:
            assert_error(send(kit, path, content), 422, "validation_error")
    assert accounts_named(db, "abc") == 0


@pytest.mark.rules("fault-order", "not-counted")
def test_the_first_fault_in_the_stated_order_decides_the_answer(kit, db):
    member = kit.register()
    huge = padded({"username": member.username, "password": "x"}, MiB + 10)
    # the size first, before the Content-Type
    assert_error(send(kit, "/v1/sessions", huge, "text/plain"), 413, "payload_too_large")
    # then the Content-Type, before the body
    assert_error(send(kit, "/v1/sessions", b"{", "text/plain"), 415, "unsupported_media_type")
    # then the body, before the throttle: a locked name's invalid body is 422
    for n in range(5):
        kit.login(member.username, f"wrong-{n}")
    assert_error(kit.client().post("/v1/sessions", json={"username": member.username}), 422,
                 "validation_error")  # fmt: skip
    assert_error(kit.login(member.username, member.password), 429, "too_many_attempts")
    taken = json.dumps({"username": member.username, "password": 5}).encode()
    assert_error(send(kit, "/v1/accounts", taken), 422, "validation_error")
    assert accounts_named(db, member.username) == 1
