"""Writes: new events and mark-as-read, each with its call to the push gateway."""

from __future__ import annotations

import time

import pytest
from feed_api import (
    PUSH,
    SLACK,
    add_event,
    assert_error,
    assert_event,
    count_events,
    event_row,
    new_event,
    new_user,
    parse_stamp,
    random_user,
    unread,
    user_events,
)

MAX_ID = 2**63 - 1


def timed(call, *args, **kwargs):
    started = time.perf_counter()
    response = call(*args, **kwargs)
    return response, time.perf_counter() - started


@pytest.mark.rules("event-create", "delivered-after-push", "push-wait", "event-fields")
def test_a_new_event_is_stored_delivered_and_answered_201(api, authed_api, db, unique):
    user_id = new_user(db, unique)
    old = add_event(db, user_id)
    body = new_event(kind="mention", actor=unique("actor"), message=unique("message"))
    response, seconds = timed(authed_api.post, f"/v1/users/{user_id}/events", json=body)
    assert response.status_code == 201, response.text
    assert seconds >= PUSH.total_seconds(), f"answered after {seconds:.3f} s"
    got = response.json()
    assert (got["user_id"], got["kind"], got["actor"], got["message"]) == (
        user_id, "mention", body["actor"], body["message"],
    )  # fmt: skip
    assert got["id"] > old
    assert got["read_at"] is None
    created, delivered = parse_stamp(got["created_at"]), parse_stamp(got["delivered_at"])
    assert delivered is not None, "the answer comes after the push: delivered_at is set"
    assert delivered - created >= PUSH - SLACK, (created, delivered)
    row = event_row(db, got["id"])
    assert row is not None
    assert_event(got, row)
    assert_event(api.get(f"/v1/events/{got['id']}").json(), row)
    first = api.get(f"/v1/users/{user_id}/events").json()["items"][0]
    assert_event(first, row)
    assert api.get(f"/v1/users/{user_id}/unread").json()["unread"] == 2


@pytest.mark.rules("event-validation", "error-422", "rejected-changes-nothing")
@pytest.mark.parametrize(
    "fields",
    [
        {"kind": "likes"}, {"kind": None}, {"kind": 1}, {"actor": ""}, {"actor": "a" * 101},
        {"actor": 7}, {"message": ""}, {"message": "m" * 501}, {"message": ["m"]},
    ],
)  # fmt: skip
def test_an_invalid_event_is_422_and_stores_nothing(authed_api, db, unique, fields):
    user_id = new_user(db, unique)
    response = authed_api.post(f"/v1/users/{user_id}/events", json=new_event(**fields))
    assert_error(response, 422, "validation_error")
    assert count_events(db, user_id) == 0


@pytest.mark.rules("event-validation", "rejected-changes-nothing")
def test_an_event_without_a_required_field_or_body_object_is_422(authed_api, db, unique):
    user_id = new_user(db, unique)
    for missing in ("kind", "actor", "message"):
        body = new_event()
        del body[missing]
        response = authed_api.post(f"/v1/users/{user_id}/events", json=body)
        assert_error(response, 422, "validation_error")
    for body in ([new_event()], "event", None):
        response = authed_api.post(f"/v1/users/{user_id}/events", json=body)
        assert_error(response, 422, "validation_error")
    # the longest values allowed are stored whole
    body = new_event(actor="a" * 100, message="m" * 500)
    response = authed_api.post(f"/v1/users/{user_id}/events", json=body)
    assert response.status_code == 201, response.text
    assert count_events(db, user_id) == 1


@pytest.mark.rules("unknown-fields-ignored", "event-create")
def test_unknown_fields_of_a_new_event_are_ignored(authed_api, db, unique):
    user_id = new_user(db, unique)
    other = new_user(db, unique)
    body = new_event(
        id=1, user_id=other, created_at="2001-01-01T00:00:00Z", delivered_at=None,
        read_at="2001-01-01T00:00:00Z", colour="blue",
    )  # fmt: skip
    response = authed_api.post(f"/v1/users/{user_id}/events", json=body)
    assert response.status_code == 201, response.text
    got = response.json()
    assert got["id"] != 1 and got["user_id"] == user_id and got["read_at"] is None
    assert parse_stamp(got["created_at"]).year >= 2025
    assert count_events(db, other) == 0
    assert_event(got, event_row(db, got["id"]))


@pytest.mark.rules(
    "mark-read", "mark-read-keeps", "mark-read-answer", "mark-read-gateway-always", "push-wait",
    "reflects-database",
)
def test_mark_read_marks_unread_events_up_to_the_id_and_keeps_earlier_read_at(
    authed_api, api, db, unique
):
    user_id = new_user(db, unique)
    made = [add_event(db, user_id, message=f"event {n}") for n in range(6)]
    db.execute(
        "UPDATE events SET read_at = '2025-02-03T04:05:06Z' WHERE id = %s", (made[1],)
    )  # read before, by the moderation tool
    response, seconds = timed(
        authed_api.post, f"/v1/users/{user_id}/events/read", json={"up_to": made[3]}
    )
    assert response.status_code == 200, response.text
    assert seconds >= PUSH.total_seconds(), f"answered after {seconds:.3f} s"
    assert response.json() == {"user_id": user_id, "marked": 3, "unread": 2}
    rows = {r["id"]: r for r in user_events(db, user_id)}
    assert [rows[i]["read_at"] is not None for i in made] == [True] * 4 + [False] * 2
    assert rows[made[1]]["read_at"].isoformat() == "2025-02-03T04:05:06+00:00"
    assert api.get(f"/v1/users/{user_id}/unread").json()["unread"] == 2
    for event_id in (made[0], made[4]):
        assert_event(api.get(f"/v1/events/{event_id}").json(), rows[event_id])
    # again: nothing left to mark, and the gateway is called all the same
    response, seconds = timed(
        authed_api.post, f"/v1/users/{user_id}/events/read", json={"up_to": made[3]}
    )
    assert response.json() == {"user_id": user_id, "marked": 0, "unread": 2}
    assert seconds >= PUSH.total_seconds(), f"answered after {seconds:.3f} s"
    response = authed_api.post(f"/v1/users/{user_id}/events/read", json={"up_to": MAX_ID})
    assert response.json() == {"user_id": user_id, "marked": 2, "unread": 0}
    assert unread(db, user_id) == 0


@pytest.mark.rules("mark-read", "mark-read-answer")
def test_mark_read_touches_only_that_users_events(authed_api, db, unique):
    user_id, other = new_user(db, unique), new_user(db, unique)
    theirs = add_event(db, other)
    mine = add_event(db, user_id)
    response = authed_api.post(f"/v1/users/{user_id}/events/read", json={"up_to": mine})
    assert response.json() == {"user_id": user_id, "marked": 1, "unread": 0}
    assert event_row(db, theirs)["read_at"] is None
    assert unread(db, other) == 1


@pytest.mark.rules("mark-read-validation", "error-422", "rejected-changes-nothing")
@pytest.mark.parametrize(
    "body",
    [{}, {"up_to": 0}, {"up_to": -5}, {"up_to": 1.0}, {"up_to": "3"}, {"up_to": True},
     {"up_to": None}, {"up_to": MAX_ID + 1}, {"upto": 3}, [3]],
)  # fmt: skip
def test_an_invalid_mark_read_is_422_and_marks_nothing(authed_api, db, unique, body):
    user_id = new_user(db, unique)
    add_event(db, user_id)
    response = authed_api.post(f"/v1/users/{user_id}/events/read", json=body)
    assert_error(response, 422, "validation_error")
    assert unread(db, user_id) == 1


@pytest.mark.rules("writes-need-token", "error-401", "rejected-changes-nothing", "bearer-scheme")
def test_writes_without_a_valid_token_are_401_and_change_nothing(
    client_factory, app_secret, db, unique
):
    user_id = new_user(db, unique)
    event_id = add_event(db, user_id)
    wrong = [
        {}, {"Authorization": f"Basic {app_secret}"}, {"Authorization": app_secret},
        {"Authorization": f"Bearer {app_secret}x"}, {"Authorization": f"Bearer {app_secret[:-1]}"},
        {"Authorization": "Bearer"}, {"Authorization": f"Bearer {app_secret.upper()}x"},
    ]  # fmt: skip
    for headers in wrong:
        with client_factory(headers=headers) as client:
            for path, body in (
                (f"/v1/users/{user_id}/events", new_event()),
                (f"/v1/users/{user_id}/events", {"kind": "bad"}),
                (f"/v1/users/{user_id}/events/read", {"up_to": event_id}),
                (f"/v1/users/{user_id + 10**6}/events/read", {"up_to": "x"}),
            ):
                assert_error(client.post(path, json=body), 401, "unauthorized")
    assert count_events(db, user_id) == 1
    assert unread(db, user_id) == 1
    with client_factory(headers={"Authorization": f"bearer {app_secret}"}) as client:
        response = client.post(f"/v1/users/{user_id}/events/read", json={"up_to": event_id})
        assert response.status_code == 200, response.text
    assert unread(db, user_id) == 0


@pytest.mark.rules("reads-public")
def test_reads_need_no_token(api, db):
    user_id = random_user(db)
    for path in (f"/v1/users/{user_id}/events", f"/v1/users/{user_id}/unread", "/v1/events/1"):
        assert api.get(path).status_code == 200, path
