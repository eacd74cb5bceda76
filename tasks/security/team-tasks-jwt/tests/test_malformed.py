"""Malformed requests: body size, Content-Type, bodies that are not JSON objects, and which
fault decides the answer when a request has several."""

from __future__ import annotations

import json

import pytest
from team_api import (
    MiB,
    assert_error,
    bearer,
    people,  # noqa: F401 - a fixture
    projects_named,
    stored_task,
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
    alice = people.member("alice")
    task = alice.task(alice.project()["id"], "Small")
    name = people.unique("huge")
    response = send(people, alice, "POST", "/v1/projects", padded({"name": name}, MiB + 1))
    assert_error(response, 413, "payload_too_large")
    assert projects_named(db, name) == 0
    response = send(
        people, alice, "PATCH", f"/v1/tasks/{task['id']}", padded({"title": "Huge"}, 2 * MiB)
    )
    assert_error(response, 413, "payload_too_large")
    assert stored_task(db, task["id"]) == (task["project_id"], "Small", False)
    assert client_factory().get("/health").status_code == 200


@pytest.mark.rules("body-size", "error-413", "refused-changes-nothing")
def test_a_body_over_1_mib_sent_in_chunks_without_a_length_is_413_and_stores_nothing(people, db):
    alice = people.member("alice")
    name = people.unique("chunked")
    body = padded({"name": name}, MiB + 1)
    chunks = (body[i:i + 64 * 1024] for i in range(0, len(body), 64 * 1024))
    # a generator: httpx sends it with Transfer-Encoding: chunked and no Content-Length
    response = send(people, alice, "POST", "/v1/projects", chunks)
    assert_error(response, 413, "payload_too_large")
    assert projects_named(db, name) == 0


@pytest.mark.rules("body-size")
def test_a_body_of_exactly_1_mib_is_read_as_usual(people, db):
    alice = people.member("alice")
    name = people.unique("full")
    response = send(people, alice, "POST", "/v1/projects", padded({"name": name}, MiB))
    assert response.status_code == 201, response.text[:300]
    assert response.json()["name"] == name
    assert projects_named(db, name) == 1


@pytest.mark.rules("content-type", "error-415", "refused-changes-nothing")
def test_a_body_sent_without_the_json_content_type_is_415(people, db):
    alice = people.member("alice")
    project = alice.project()
    task = alice.task(project["id"], "Typed")
    name = people.unique("typed")
    body = json.dumps({"name": name}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None,
                         "application/jsonp", "text/json"):  # fmt: skip
        response = send(people, alice, "POST", "/v1/projects", body, content_type)
        assert_error(response, 415, "unsupported_media_type")
        response = send(
            people, alice, "PATCH", f"/v1/tasks/{task['id']}", b'{"done": true}', content_type
        )
        assert_error(response, 415, "unsupported_media_type")
        response = send(
            people, alice, "POST", f"/v1/projects/{project['id']}/tasks", b'{"title": "T"}',
            content_type,
        )  # fmt: skip
        assert_error(response, 415, "unsupported_media_type")
    assert projects_named(db, name) == 0
    assert stored_task(db, task["id"]) == (project["id"], "Typed", False)
    assert db.scalar("SELECT count(*) FROM tasks WHERE project_id = %s", (project["id"],)) == 1
    with_charset = send(people, alice, "POST", "/v1/projects", body, "application/json; charset=utf-8")
    assert with_charset.status_code == 201, with_charset.text
    assert projects_named(db, name) == 1


@pytest.mark.rules("body-json", "error-422", "refused-changes-nothing")
def test_a_body_that_is_not_a_utf8_json_object_is_422(people, db):
    alice = people.member("alice")
    project = alice.project()
    task = alice.task(project["id"], "Intact")
    for content in (b"{", b"", b"[]", b'["name"]', b'"name"', b"null", b"42",
                    b'{"name": "caf\xe9"}', b'{"name": "\xff\xfe"}', b"{'name': 'x'}",
                    b'{"name": "x",}'):  # fmt: skip
        assert_error(send(people, alice, "POST", "/v1/projects", content), 422, "validation_error")
        response = send(people, alice, "PATCH", f"/v1/tasks/{task['id']}", content)
        assert_error(response, 422, "validation_error")
    assert stored_task(db, task["id"]) == (project["id"], "Intact", False)
    assert db.scalar("SELECT count(*) FROM projects WHERE owner_id = %s", (alice.sub,)) == 1


@pytest.mark.rules("fault-order", "auth-first")
def test_the_first_fault_in_the_stated_order_decides_the_answer(people, db):
    alice, bob = people.member("alice"), people.member("bob")
    project = alice.project()
    task = alice.task(project["id"], "Ordered")
    huge = padded({"title": "x"}, MiB + 10)
    bad = b'{"title": 5}'
    # the token first: no token beats a huge body, a wrong type, a bad body and a bad id
    assert_error(send(people, None, "PATCH", "/v1/tasks/abc", huge, "text/plain"), 401,
                 "unauthorized")  # fmt: skip
    assert_error(send(people, None, "POST", "/v1/projects", bad, None), 401, "unauthorized")
    # then the admin role
    assert_error(send(people, alice, "GET", f"/v1/admin/users/{alice.sub}", None), 403,
                 "forbidden")  # fmt: skip
    # then the size, before the Content-Type
    response = send(people, alice, "PATCH", f"/v1/tasks/{task['id']}", huge, "text/plain")
    assert_error(response, 413, "payload_too_large")
    # then the Content-Type, before the body
    response = send(people, alice, "PATCH", f"/v1/tasks/{task['id']}", b"{", "text/plain")
    assert_error(response, 415, "unsupported_media_type")
    # then the body, before the path id and the object
    assert_error(send(people, alice, "PATCH", "/v1/tasks/abc", bad), 422, "validation_error")
    assert_error(send(people, bob, "PATCH", f"/v1/tasks/{task['id']}", bad), 422,
                 "validation_error")  # fmt: skip
    response = send(people, bob, "POST", f"/v1/projects/{project['id']}/tasks", bad)
    assert_error(response, 422, "validation_error")
    assert_error(send(people, bob, "PATCH", f"/v1/tasks/{task['id']}", b'{"title": "Y"}'), 404,
                 "not_found")  # fmt: skip
    assert stored_task(db, task["id"]) == (project["id"], "Ordered", False)
