"""Reads: single events, feeds and unread counts, checked against the tables themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from feed_api import (
    assert_error,
    assert_event,
    assert_events,
    add_event,
    count_events,
    event_row,
    missing_event_id,
    missing_user_id,
    new_event,
    new_user,
    random_event,
    random_user,
    unread,
    user_events,
)


def feed(api, user_id, **params):
    response = api.get(f"/v1/users/{user_id}/events", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"items", "next_before"}, body
    return body


@pytest.mark.rules("health-ok")
def test_health_returns_ok(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("get-event", "event-fields", "reads-public")
def test_get_event_returns_its_row(api, db):
    for where in ("AND read_at IS NULL", "AND read_at IS NOT NULL", ""):
        event_id = random_event(db, where)
        response = api.get(f"/v1/events/{event_id}")
        assert response.status_code == 200, response.text
        assert_event(response.json(), event_row(db, event_id))


@pytest.mark.rules("unknown-404", "rejected-changes-nothing")
def test_an_unknown_user_or_event_is_404(api, authed_api, db):
    user_id = missing_user_id(db)
    assert_error(api.get(f"/v1/events/{missing_event_id(db)}"), 404, "not_found")
    assert_error(api.get(f"/v1/users/{user_id}/events"), 404, "not_found")
    assert_error(api.get(f"/v1/users/{user_id}/unread"), 404, "not_found")
    posted = authed_api.post(f"/v1/users/{user_id}/events", json=new_event())
    assert_error(posted, 404, "not_found")
    marked = authed_api.post(f"/v1/users/{user_id}/events/read", json={"up_to": 10})
    assert_error(marked, 404, "not_found")
    assert count_events(db, user_id) == 0


@pytest.mark.rules("feed-order", "event-fields", "feed-limit", "reads-public")
def test_a_seeded_users_feed_is_their_events_newest_first(api, db):
    user_id = random_user(db, min_events=25)
    body = feed(api, user_id)
    assert len(body["items"]) == 20
    assert_events(body["items"], user_events(db, user_id, limit=20))
    assert body["next_before"] == body["items"][-1]["id"]
    middle = body["items"][7]["id"]
    page = feed(api, user_id, before=middle, limit=5)
    assert_events(page["items"], user_events(db, user_id, "AND id < %s", (middle,), limit=5))


@pytest.mark.rules("feed-order", "reflects-database")
def test_the_feed_is_ordered_by_id_not_by_created_at(api, db, unique):
    """Events imported late carry their old created_at: the newest id comes first anyway."""
    user_id = new_user(db, unique)
    start = datetime(2025, 6, 1, tzinfo=UTC)
    ids = [
        add_event(db, user_id, created_at=start - timedelta(days=n), message=f"imported {n}")
        for n in range(4)
    ]  # ids ascending, created_at descending
    body = feed(api, user_id)
    assert [e["id"] for e in body["items"]] == ids[::-1]
    assert body["next_before"] is None
    assert_events(body["items"], user_events(db, user_id))


@pytest.mark.rules("feed-pagination", "feed-next-before-null", "feed-limit")
def test_next_before_pages_through_every_event_exactly_once(api, db, unique):
    user_id = new_user(db, unique)
    ids = [add_event(db, user_id, message=f"event {n}") for n in range(13)]
    seen, before, pages = [], None, []
    while True:
        params = {"limit": 5} if before is None else {"limit": 5, "before": before}
        body = feed(api, user_id, **params)
        pages.append(len(body["items"]))
        seen += [e["id"] for e in body["items"]]
        before = body["next_before"]
        if before is None:
            break
        assert before == body["items"][-1]["id"], body
        assert len(pages) < 10
    assert pages == [5, 5, 3]
    assert seen == ids[::-1]
    # a page holding exactly the remaining events is the last one
    assert feed(api, user_id, limit=13)["next_before"] is None
    assert feed(api, user_id, limit=12)["next_before"] == ids[1]
    assert feed(api, user_id, before=ids[5], limit=5)["next_before"] is None
    assert [e["id"] for e in feed(api, user_id, before=ids[0])["items"]] == []
    assert len(feed(api, user_id, limit=1)["items"]) == 1
    assert len(feed(api, user_id, limit=100)["items"]) == 13


@pytest.mark.rules("feed-filters", "feed-actor-exact")
def test_kind_actor_and_before_filter_and_combine(api, db, unique):
    user_id = new_user(db, unique)
    made = [
        add_event(db, user_id, kind=kind, actor=actor, message=f"{actor} {kind}")
        for kind, actor in (
            ("like", "Ana"), ("comment", "Ana"), ("like", "ana"), ("like", "Ana B"),
            ("share", "Ana"), ("like", "Ana"), ("mention", "Bo"),
        )
    ]  # fmt: skip

    def ids(**params):
        return [e["id"] for e in feed(api, user_id, limit=100, **params)["items"]]

    assert ids(kind="like") == [made[5], made[3], made[2], made[0]]
    assert ids(actor="Ana") == [made[5], made[4], made[1], made[0]]
    assert ids(actor="ana") == [made[2]]
    assert ids(actor="An") == []
    assert ids(actor="Ana B") == [made[3]]
    assert ids(kind="like", actor="Ana") == [made[5], made[0]]
    assert ids(kind="like", actor="Ana", before=made[5]) == [made[0]]
    assert ids(kind="follow") == []
    assert ids(before=made[2]) == [made[1], made[0]]
    assert ids(before=1) == []
    page = feed(api, user_id, kind="like", limit=2)
    assert [e["id"] for e in page["items"]] == [made[5], made[3]]
    assert page["next_before"] == made[3]
    rest = feed(api, user_id, kind="like", limit=2, before=made[3])
    assert [e["id"] for e in rest["items"]] == [made[2], made[0]]
    assert rest["next_before"] is None


@pytest.mark.rules("feed-422", "error-422")
@pytest.mark.parametrize(
    "query",
    [
        "kind=likes", "kind=Like", "kind=", "before=0", "before=-1", "before=abc", "before=1.5",
        "before=9223372036854775808", "limit=0", "limit=101", "limit=abc", "limit=2.5",
    ],
)  # fmt: skip
def test_an_invalid_feed_query_is_422(api, db, query):
    user_id = random_user(db)
    assert_error(api.get(f"/v1/users/{user_id}/events?{query}"), 422, "validation_error")


@pytest.mark.rules("unread-count", "reflects-database")
def test_unread_counts_the_users_events_not_yet_read(api, db, unique):
    user_id = new_user(db, unique)
    assert api.get(f"/v1/users/{user_id}/unread").json() == {"user_id": user_id, "unread": 0}
    made = [add_event(db, user_id, read=n % 3 == 0) for n in range(8)]  # 3 read, 5 unread
    assert api.get(f"/v1/users/{user_id}/unread").json() == {"user_id": user_id, "unread": 5}
    db.execute("UPDATE events SET read_at = now() WHERE id = %s", (made[1],))
    assert api.get(f"/v1/users/{user_id}/unread").json()["unread"] == 4
    seeded = random_user(db)
    body = api.get(f"/v1/users/{seeded}/unread").json()
    assert body == {"user_id": seeded, "unread": unread(db, seeded)}
