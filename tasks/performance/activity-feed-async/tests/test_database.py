"""The database: answers follow what other programs write to it, and its tables stay as given."""

from __future__ import annotations

import pytest
from feed_api import add_event, assert_event, event_row, new_user

TABLES = {
    "users": {"id": "bigint", "handle": "text", "created_at": "timestamp with time zone"},
    "events": {
        "id": "bigint", "user_id": "bigint", "kind": "text", "actor": "text", "message": "text",
        "created_at": "timestamp with time zone", "delivered_at": "timestamp with time zone",
        "read_at": "timestamp with time zone",
    },
}  # fmt: skip


@pytest.mark.rules("reflects-database")
def test_rows_changed_directly_in_the_database_show_in_the_next_response(api, db, unique):
    user_id = new_user(db, unique)
    event_id = add_event(db, user_id, message="before")
    api.get(f"/v1/events/{event_id}")
    api.get(f"/v1/users/{user_id}/events")
    db.execute(
        "UPDATE events SET message = 'after', read_at = now(), delivered_at = NULL WHERE id = %s",
        (event_id,),
    )
    row = event_row(db, event_id)
    assert_event(api.get(f"/v1/events/{event_id}").json(), row)
    assert_event(api.get(f"/v1/users/{user_id}/events").json()["items"][0], row)
    assert api.get(f"/v1/users/{user_id}/unread").json()["unread"] == 0
    db.execute("DELETE FROM events WHERE id = %s", (event_id,))
    assert api.get(f"/v1/events/{event_id}").status_code == 404
    assert api.get(f"/v1/users/{user_id}/events").json()["items"] == []


@pytest.mark.rules("schema-unchanged")
def test_the_tables_and_their_columns_are_unchanged(db):
    assert db.tables() == sorted(TABLES)
    for table, columns in TABLES.items():
        assert db.columns(table) == columns, table
    views = db.scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm')"
    )
    assert views == 0


# what seed.py loads: digests of the columns no write of the API changes, over every seeded row
SEEDED_USERS = "9909ab99b7572a36345eb441b2467d2a"
SEEDED_EVENTS = "46dfcd78ec66a8f1f8b12383173e7027"


@pytest.mark.rules("data-kept")
def test_the_seeded_feed_is_still_there(db):
    users = db.scalar(
        "SELECT md5(string_agg(concat_ws('|', id, handle), ',' ORDER BY id)) FROM users "
        "WHERE id <= 5000"
    )
    assert users == SEEDED_USERS
    events = db.scalar(
        "SELECT md5(string_agg(concat_ws('|', id, user_id, kind, actor, extract(epoch FROM created_at)), ',' "
        "ORDER BY id)) FROM events WHERE id <= 200000"
    )
    assert events == SEEDED_EVENTS
