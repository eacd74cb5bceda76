"""Malformed form posts: Content-Type, size, bytes that are not UTF-8, repeated fields, and
which fault decides."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from board import (
    FORM,
    MiB,
    PASSWORD,
    parse,
    posts_titled,
    stamp,
    users_named,
    visitors,  # noqa: F401 - a fixture
)


def padded(fields, size):
    """The form of `fields` as exactly `size` bytes, filled with a padding field."""
    text = urlencode({**fields, "padding": ""})
    return (text + "x" * (size - len(text))).encode()


@pytest.mark.rules("content-type", "refused-changes-nothing", "error-page")
def test_a_form_post_of_another_content_type_is_415(visitors, db):
    alice = visitors.member("ct")
    token = alice.token()
    title = f"Json {stamp()}"
    for content_type in ("application/json", "text/plain", "multipart/form-data; boundary=x", None):
        headers = {"Content-Type": content_type} if content_type else {}
        body = urlencode({"title": title, "body": "b", "csrf_token": token}).encode()
        response = alice.client.post("/posts", content=body, headers=headers)
        assert response.status_code == 415, (content_type, response.status_code)
        parse(response)
    assert posts_titled(db, title) == 0
    name = visitors.unique("json")
    response = visitors.anonymous().client.post(
        "/signup", json={"username": name, "password": PASSWORD}
    )
    assert response.status_code == 415 and users_named(db, name) == 0
    response = alice.client.post(
        "/posts", content=urlencode({"title": title, "body": "b", "csrf_token": token}),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )  # fmt: skip
    assert response.status_code == 303 and posts_titled(db, title) == 1


@pytest.mark.rules("body-size", "refused-changes-nothing")
def test_a_form_over_1_mib_is_413(visitors, db, client_factory):
    alice = visitors.member("big")
    token = alice.token()
    title = f"Huge {stamp()}"
    body = padded({"title": title, "body": "b", "csrf_token": token}, MiB + 1)
    response = alice.client.post("/posts", content=body, headers=FORM)
    assert response.status_code == 413, response.status_code
    assert posts_titled(db, title) == 0
    # sent in chunks without a Content-Length: the same
    chunks = (body[i : i + 65536] for i in range(0, len(body), 65536))
    response = alice.client.post("/posts", content=chunks, headers=FORM)
    assert response.status_code == 413, response.status_code
    assert posts_titled(db, title) == 0
    exact = padded({"title": title, "body": "b", "csrf_token": token}, MiB)
    assert alice.client.post("/posts", content=exact, headers=FORM).status_code == 303
    assert client_factory().get("/health").status_code == 200


@pytest.mark.rules("form-utf8", "form-repeated", "refused-changes-nothing")
def test_bytes_that_are_not_utf8_and_repeated_fields_are_400(visitors, db):
    alice = visitors.member("bytes")
    token = alice.token()
    tag = stamp()
    bodies = [
        f"title=T{tag}%FF&body=b&csrf_token={token}".encode(),
        f"title=T{tag}&body=%C3%28&csrf_token={token}".encode(),
        f"title=T{tag}&body=\xff&csrf_token={token}".encode("latin-1"),
        f"title=T{tag}&title=T{tag}&body=b&csrf_token={token}".encode(),
        f"title=T{tag}&body=b&body=c&csrf_token={token}".encode(),
        f"title=T{tag}&body=b&%FF=1&csrf_token={token}".encode(),
    ]
    for body in bodies:
        response = alice.client.post("/posts", content=body, headers=FORM)
        assert response.status_code == 400, (body[:60], response.status_code)
        parse(response)
    assert db.scalar("SELECT count(*) FROM posts WHERE title LIKE %s", (f"T{tag}%",)) == 0
    name = visitors.unique("dup")
    response = visitors.anonymous().client.post(
        "/signup", content=f"username={name}&username={name}x&password={PASSWORD}", headers=FORM
    )
    assert response.status_code == 400 and users_named(db, name) == 0


@pytest.mark.rules("fault-order", "refused-changes-nothing")
def test_the_first_fault_decides_size_then_type_then_token_then_fields(visitors, db):
    alice = visitors.member("order")
    token = alice.token()
    big = padded({"title": "", "body": ""}, MiB + 1)
    # too big and the wrong type, no token, bad fields: 413
    assert (
        alice.client.post("/posts", content=big, headers={"Content-Type": "text/plain"}).status_code
        == 413
    )
    # the wrong type, no token, bad fields: 415
    response = alice.client.post(
        "/posts", content=b"title=", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    # no token and bad fields: 403
    assert alice.send_post(token=None, title="", body="").status_code == 403
    assert alice.send_post(token="wrong", title="t" * 201, body="b").status_code == 403
    # the token and bad fields: 400
    assert alice.send_post(token=token, title="", body="b").status_code == 400
    assert alice.send_post(token=token, title="t" * 201).status_code == 400
