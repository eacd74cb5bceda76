"""Malformed requests: what the prompt settles for path ids, NUL, bytes, sizes and content types."""

from __future__ import annotations

import json

import pytest
from feed_api import add_event, assert_error, count_events, new_event, new_user, unread

# not a whole number from 1 to 2**63 - 1: each names nothing
MALFORMED_IDS = ["abc", "1.5", "null%2Cnull", "0", "-1", "9223372036854775808", "1e3"]
MiB = 1024 * 1024
# the users a sloppy id parser would write to instead (1.5 as 1 or 15, -1 as 1, 1e3 as 1000)
SLOPPY_TARGETS = (
    "SELECT count(*), count(read_at) FROM events WHERE user_id IN (1, 15, 1000)"
)


def assert_names_nothing(response):
    """404 not_found or 422 validation_error: the prompt accepts either."""
    assert response.status_code in (404, 422), (response.request.url, response.text)
    code = "not_found" if response.status_code == 404 else "validation_error"
    assert_error(response, response.status_code, code)


@pytest.mark.rules("malformed-path-id", "rejected-changes-nothing")
@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_a_malformed_path_id_names_nothing(api, authed_api, db, bad_id):
    before = db.execute(SLOPPY_TARGETS).fetchone()
    assert_names_nothing(api.get(f"/v1/events/{bad_id}"))
    assert_names_nothing(api.get(f"/v1/users/{bad_id}/events"))
    assert_names_nothing(api.get(f"/v1/users/{bad_id}/unread"))
    assert_names_nothing(authed_api.post(f"/v1/users/{bad_id}/events", json=new_event()))
    marked = authed_api.post(f"/v1/users/{bad_id}/events/read", json={"up_to": 2**62})
    assert_names_nothing(marked)
    assert db.execute(SLOPPY_TARGETS).fetchone() == before


@pytest.mark.rules("nul-is-422", "rejected-changes-nothing")
def test_a_nul_character_in_a_query_or_body_value_is_422(api, authed_api, db, unique):
    user_id = new_user(db, unique)
    assert_error(api.get(f"/v1/users/{user_id}/events?actor=%00"), 422, "validation_error")
    assert_error(api.get(f"/v1/users/{user_id}/events?actor=An%00a"), 422, "validation_error")
    for fields in ({"actor": "a\x00b"}, {"message": "\x00"}):
        response = authed_api.post(f"/v1/users/{user_id}/events", json=new_event(**fields))
        assert_error(response, 422, "validation_error")
    assert count_events(db, user_id) == 0


def post_raw(client_factory, auth_headers, path, content: bytes, content_type: str):
    """POST on a connection of its own, closed after: a server may close a connection whose
    body it did not read, and no other request may depend on it."""
    headers = {**auth_headers, "Content-Type": content_type}
    with client_factory(headers=headers) as client:
        return client.post(path, content=content)


@pytest.mark.rules("oversized-body", "rejected-changes-nothing")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    api, client_factory, auth_headers, db, unique
):
    user_id = new_user(db, unique)
    body = json.dumps({**new_event(), "padding": "x" * (MiB + 1024)}).encode()
    response = post_raw(
        client_factory, auth_headers, f"/v1/users/{user_id}/events", body, "application/json"
    )
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert count_events(db, user_id) == (1 if response.status_code == 201 else 0)
    assert api.get("/health").status_code == 200


@pytest.mark.rules("content-type", "rejected-changes-nothing")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    client_factory, auth_headers, db, unique, content_type
):
    user_id = new_user(db, unique)
    body = json.dumps(new_event(actor="Content Type")).encode()
    response = post_raw(client_factory, auth_headers, f"/v1/users/{user_id}/events", body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert response.json()["actor"] == "Content Type"
    assert count_events(db, user_id) == (1 if response.status_code == 201 else 0)


@pytest.mark.rules("malformed-body", "error-422", "rejected-changes-nothing")
@pytest.mark.parametrize(
    "content",
    [
        b'{"kind": "like", "actor": "Bad \xff Bytes", "message": "Not UTF-8."}',
        b'{"kind": "like", "actor": "Cut Short", "message": "Not JSON."',
    ],
    ids=["not-utf8", "not-json"],
)
def test_a_body_that_is_not_utf8_json_is_422_and_stores_nothing(
    client_factory, auth_headers, db, unique, content
):
    user_id = new_user(db, unique)
    event_id = add_event(db, user_id)
    path = f"/v1/users/{user_id}/events"
    response = post_raw(client_factory, auth_headers, path, content, "application/json")
    assert_error(response, 422, "validation_error")
    assert count_events(db, user_id) == 1
    bad = b'{"up_to": ' + str(event_id).encode() + b"\xff}"
    response = post_raw(client_factory, auth_headers, f"{path}/read", bad, "application/json")
    assert_error(response, 422, "validation_error")
    assert unread(db, user_id) == 1


MAX_ID = 2**63 - 1  # the largest bigint: the largest id a user or an event can have


def remove_largest(db):
    """Remove the user and the event with the largest id, if there are (an aborted run's)."""
    db.execute("DELETE FROM events WHERE id = %s OR user_id = %s", (MAX_ID, MAX_ID))
    db.execute("DELETE FROM users WHERE id = %s", (MAX_ID,))


@pytest.mark.rules("malformed-path-id", "get-event", "unread-count", "reflects-database")
def test_the_ids_1_and_2_63_minus_1_name_a_user_and_an_event(api, authed_api, db, unique):
    """Both ends of the range are ids: the seeded user and event 1, and a user and an event
    another program writes with the largest bigint (removed after)."""
    remove_largest(db)
    db.execute("INSERT INTO users (id, handle) VALUES (%s, %s)", (MAX_ID, unique("largest")))
    db.execute(
        "INSERT INTO events (id, user_id, kind, actor, message) "
        "VALUES (%s, %s, 'share', 'Largest', 'Largest id.')",
        (MAX_ID, MAX_ID),
    )
    try:
        for user_id in (1, MAX_ID):
            response = api.get(f"/v1/users/{user_id}/events")
            assert response.status_code == 200, response.text
            assert response.json()["items"][0]["user_id"] == user_id
            response = api.get(f"/v1/users/{user_id}/unread")
            assert response.json() == {"user_id": user_id, "unread": unread(db, user_id)}
        for event_id in (1, MAX_ID):
            response = api.get(f"/v1/events/{event_id}")
            assert response.status_code == 200, response.text
            assert response.json()["id"] == event_id
        response = authed_api.post(f"/v1/users/{MAX_ID}/events/read", json={"up_to": MAX_ID})
        assert response.json() == {"user_id": MAX_ID, "marked": 1, "unread": 0}
    finally:
        remove_largest(db)
