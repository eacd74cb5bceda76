"""The API's behaviour: rooms, bookings, windows, overlaps, cancelling, authentication."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from booking_api import (
    ROOM_FIELDS,
    assert_booking,
    booking_row,
    bookings_in,
    error_code,
    free_day,
    in_utc,
    iso,
    new_booking,
)

H = timedelta(hours=1)
M = timedelta(minutes=1)


@pytest.mark.rules("health-ok")
def test_health_answers_ok(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("get-room", "unknown-404", "malformed-path-id", "no-such-path")
def test_get_room_returns_its_row_and_unknown_rooms_are_404(api, db):
    for room_id in (1, 42, 257, 400):
        row = db.execute(
            "SELECT id, name, building, capacity FROM rooms WHERE id = %s", (room_id,)
        ).fetchone()
        response = api.get(f"/v1/rooms/{room_id}")
        assert response.status_code == 200
        assert response.json() == dict(zip(ROOM_FIELDS, row, strict=True))
    for missing in ("401", "2147483647", "999999"):
        response = api.get(f"/v1/rooms/{missing}")
        assert response.status_code == 404, missing
        assert error_code(response) == "not_found"
    for path in ("/v1/room/1", "/v1/rooms", "/v2/rooms/1", "/v1/bookings"):
        response = api.get(path)
        assert response.status_code == 404, path
        assert error_code(response) == "not_found"
    for malformed in ("abc", "1.5", "-3", "0", "2147483648", "99999999999999999999", "\u00b2",
                      "\u0664\u0662", "4" * 5000):
        response = api.get(f"/v1/rooms/{malformed}")
        assert response.status_code in (404, 422), malformed
        expected = "not_found" if response.status_code == 404 else "validation_error"
        assert error_code(response) == expected


@pytest.mark.rules("create-201", "committed", "booking-fields", "utc-out", "get-booking")
def test_create_answers_201_with_the_booking_committed_before_the_answer(authed_api, db, unique):
    room_id, day = free_day(db)
    plus2 = timezone(timedelta(hours=2))
    # 10:00 to 11:30 at UTC+02:00 is 08:00 to 09:30 UTC
    start = (day + 10 * H).replace(tzinfo=plus2)
    end = start + 90 * M
    title = unique("Planning")
    before = datetime.now(UTC)
    response = authed_api.post(
        f"/v1/rooms/{room_id}/bookings",
        json={"title": title, "booked_by": "Ana B.", "starts_at": start.isoformat(),
              "ends_at": end.isoformat(), "id": 1, "created_at": "2001-01-01T00:00:00Z"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["room_id"] == room_id
    assert (created["title"], created["booked_by"]) == (title, "Ana B.")
    assert in_utc(created["starts_at"]) == start
    assert in_utc(created["ends_at"]) == end
    assert before - timedelta(seconds=5) <= in_utc(created["created_at"])
    assert in_utc(created["created_at"]) <= datetime.now(UTC) + timedelta(seconds=5)
    assert created["id"] > 1
    # committed when answered: this other session sees it at once
    row = booking_row(db, created["id"])
    assert row is not None, "the 201 answer came before the booking was committed"
    assert_booking(created, row)
    fetched = authed_api.get(f"/v1/bookings/{created['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == created


@pytest.mark.rules("get-booking", "booking-fields", "utc-out", "unknown-404", "malformed-path-id")
def test_get_booking_shows_seeded_rows_and_unknown_ids_are_404(api, db):
    for booking_id in (1, 4242, 77_777, 145_719):
        response = api.get(f"/v1/bookings/{booking_id}")
        assert response.status_code == 200
        assert_booking(response.json(), booking_row(db, booking_id))
    for missing in ("9223372036854775807", "987654321987"):
        response = api.get(f"/v1/bookings/{missing}")
        assert response.status_code == 404
        assert error_code(response) == "not_found"
    for malformed in ("x1", "0", "-1", "9223372036854775808", "1e3", "\u00b2", "7" * 5000):
        response = api.get(f"/v1/bookings/{malformed}")
        assert response.status_code in (404, 422), malformed


@pytest.mark.rules("list-window", "list-order", "booking-fields")
def test_list_gives_the_bookings_overlapping_the_window_by_start_time(api, authed_api, db):
    room_id, day = free_day(db)
    made = {}
    for name, start, end in (
        ("late", day + 12 * H, day + 13 * H),
        ("early", day + 9 * H, day + 9 * H + 30 * M),
        ("mid", day + 10 * H, day + 11 * H),
        ("next-day", day + 24 * H + 9 * H, day + 24 * H + 10 * H),
    ):
        response = authed_api.post(f"/v1/rooms/{room_id}/bookings", json=new_booking(name, start, end))
        assert response.status_code == 201, response.text
        made[name] = response.json()

    def listed(start, end):
        response = api.get(
            f"/v1/rooms/{room_id}/bookings", params={"from": iso(start), "to": iso(end)}
        )
        assert response.status_code == 200, response.text
        return [b["title"] for b in response.json()["items"]]

    assert listed(day, day + 24 * H) == ["early", "mid", "late"]
    assert listed(day + 9 * H + 15 * M, day + 12 * H) == ["early", "mid"]  # `to` is exclusive
    assert listed(day + 9 * H + 30 * M, day + 10 * H) == []  # touching is not overlapping
    assert listed(day + 10 * H + 59 * M, day + 12 * H + M) == ["mid", "late"]
    assert listed(day + 12 * H + 30 * M, day + 48 * H) == ["late", "next-day"]
    # the offset of `from` and `to` counts: 11:00+02:00 is 09:00 UTC
    plus2 = timezone(timedelta(hours=2))
    response = api.get(
        f"/v1/rooms/{room_id}/bookings",
        params={"from": (day + 11 * H).replace(tzinfo=plus2).isoformat(),
                "to": (day + 12 * H + 30 * M).replace(tzinfo=plus2).isoformat()},
    )  # fmt: skip
    assert [b["title"] for b in response.json()["items"]] == ["early", "mid"]
    assert response.json()["items"][0] == made["early"]
    # a seeded room's busy week, as the table holds it
    start, end = datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 9, tzinfo=UTC)
    response = api.get("/v1/rooms/42/bookings", params={"from": iso(start), "to": iso(end)})
    items = response.json()["items"]
    assert [b["id"] for b in items] == bookings_in(db, 42, start, end)
    for item in items:
        assert_booking(item, booking_row(db, item["id"]))


@pytest.mark.rules("list-params", "unknown-404", "timestamps-in", "check-order")
def test_list_window_rules_and_unknown_room(api, db):
    base = "/v1/rooms/7/bookings"
    good = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-03T00:00:00Z"}
    assert api.get(base, params=good).status_code == 200
    # exactly 31 days is allowed; an offset of +hh:mm too
    ok = {"from": "2026-05-01T00:00:00+00:00", "to": "2026-06-01T00:00:00+00:00"}
    assert api.get(base, params=ok).status_code == 200
    assert api.get(base, params={"from": "1999-12-31T23:00:00-01:00", "to": "2000-01-02T00:00:00Z"}).status_code == 200
    bad = [
        {"from": good["from"]},
        {"to": good["to"]},
        {"from": good["to"], "to": good["from"]},  # to before from
        {"from": good["from"], "to": good["from"]},  # empty window
        {"from": "2026-05-01T00:00:00Z", "to": "2026-06-01T00:00:01Z"},  # 31 days and a second
        {"from": "2026-03-02T00:00:00", "to": "2026-03-03T00:00:00"},  # no offset
        {"from": "2026-03-02", "to": "2026-03-03"},  # dates
        {"from": "yesterday", "to": good["to"]},
        {"from": "1999-12-31T23:59:59Z", "to": "2000-01-01T01:00:00Z"},  # before 2000
        {"from": "2099-12-31T23:00:00Z", "to": "2100-01-01T00:00:00Z"},  # to in 2100
        {"from": "2100-01-01T00:00:00Z", "to": "2100-01-02T00:00:00Z"},
    ]
    for params in bad:
        response = api.get(base, params=params)
        assert response.status_code == 422, params
        assert error_code(response) == "validation_error"
    assert api.get(base, params={"from": "2099-12-30T00:00:00Z", "to": "2099-12-31T23:59:59Z"}).status_code == 200
    # the query is judged before the room
    assert api.get("/v1/rooms/401/bookings", params={"from": good["to"], "to": good["from"]}).status_code == 422
    missing = api.get("/v1/rooms/401/bookings", params=good)
    assert missing.status_code == 404
    assert error_code(missing) == "not_found"


@pytest.mark.rules("no-overlap", "conflict-409", "rejected-changes-nothing")
def test_an_overlapping_booking_is_409_and_stores_nothing(authed_api, db):
    room_id, day = free_day(db)
    first = authed_api.post(
        f"/v1/rooms/{room_id}/bookings", json=new_booking("Held", day + 10 * H, day + 11 * H)
    )
    assert first.status_code == 201
    for start, end in (
        (day + 10 * H, day + 11 * H),  # the same range
        (day + 10 * H + 30 * M, day + 11 * H + 30 * M),
        (day + 9 * H, day + 10 * H + M),
        (day + 10 * H + 15 * M, day + 10 * H + 45 * M),
        (day + 9 * H, day + 12 * H),
        (day + 11 * H - M, day + 11 * H),
    ):
        response = authed_api.post(
            f"/v1/rooms/{room_id}/bookings", json=new_booking("Clash", start, end)
        )
        assert response.status_code == 409, (start, end, response.text)
        assert error_code(response) == "conflict"
    assert len(bookings_in(db, room_id, day, day + 24 * H)) == 1


@pytest.mark.rules("no-overlap", "half-open", "create-201")
def test_touching_ranges_and_other_rooms_do_not_conflict(authed_api, db):
    room_id, day = free_day(db)
    other = room_id % 400 + 1
    busy = bookings_in(db, other, day, day + 24 * H)
    for room, start, end in (
        (room_id, day + 10 * H, day + 11 * H),
        (room_id, day + 11 * H, day + 12 * H),  # starts where the last ends
        (room_id, day + 9 * H, day + 10 * H),  # ends where the first starts
        (other, day + 10 * H, day + 11 * H) if not busy else (room_id, day + 13 * H, day + 14 * H),
    ):
        response = authed_api.post(f"/v1/rooms/{room}/bookings", json=new_booking("Next", start, end))
        assert response.status_code == 201, (room, start, end, response.text)
    assert len(bookings_in(db, room_id, day, day + 24 * H)) == (3 if not busy else 4)


@pytest.mark.rules("create-validation", "timestamps-in", "rejected-changes-nothing", "unknown-404", "check-order")
def test_invalid_bookings_are_422_and_unknown_rooms_404_storing_nothing(authed_api, db):
    room_id, day = free_day(db)
    start, end = day + 10 * H, day + 11 * H
    good = new_booking("Valid", start, end)
    bad = [
        {k: v for k, v in good.items() if k != "title"},
        {k: v for k, v in good.items() if k != "booked_by"},
        {k: v for k, v in good.items() if k != "starts_at"},
        {k: v for k, v in good.items() if k != "ends_at"},
        {**good, "title": ""},
        {**good, "title": "x" * 201},
        {**good, "booked_by": ""},
        {**good, "booked_by": "y" * 101},
        {**good, "title": 5},
        {**good, "booked_by": None},
        {**good, "starts_at": 1893456000},
        {**good, "ends_at": iso(start)},  # ends when it starts
        {**good, "starts_at": iso(end), "ends_at": iso(start)},
        {**good, "starts_at": "2041-03-04T10:00:00", "ends_at": "2041-03-04T11:00:00"},
        {**good, "starts_at": "2041-03-04", "ends_at": "2041-03-05"},
        {**good, "starts_at": "soon"},
        {**good, "starts_at": "1999-12-31T23:00:00Z", "ends_at": "2000-01-01T01:00:00Z"},
        {**good, "starts_at": "2099-12-31T23:00:00Z", "ends_at": "2100-01-01T00:00:00Z"},
        [good],
        "text",
    ]
    for body in bad:
        response = authed_api.post(f"/v1/rooms/{room_id}/bookings", json=body)
        assert response.status_code == 422, (body, response.text)
        assert error_code(response) == "validation_error"
    # the body is judged before the room
    assert authed_api.post("/v1/rooms/401/bookings", json={**good, "title": ""}).status_code == 422
    missing = authed_api.post("/v1/rooms/401/bookings", json=good)
    assert missing.status_code == 404
    assert error_code(missing) == "not_found"
    assert bookings_in(db, room_id, day, day + 24 * H) == []
    # the limits themselves are allowed
    edge = {**good, "title": "t" * 200, "booked_by": "b" * 100}
    assert authed_api.post(f"/v1/rooms/{room_id}/bookings", json=edge).status_code == 201
    early = new_booking("Millennium", datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 1, 0, 1, tzinfo=UTC))
    early_room = db.execute(
        "SELECT count(*) FROM bookings WHERE room_id = %s AND starts_at < '2000-01-01 00:01Z'",
        (room_id,),
    ).fetchone()[0]
    response = authed_api.post(f"/v1/rooms/{room_id}/bookings", json=early)
    assert response.status_code == (409 if early_room else 201), response.text
    if response.status_code == 201:
        db.execute("DELETE FROM bookings WHERE id = %s", (response.json()["id"],))


@pytest.mark.rules("auth-writes", "reads-public", "rejected-changes-nothing", "check-order", "method-405")
def test_writes_without_a_valid_token_are_401_and_change_nothing(api, authed_api, db, app_secret):
    room_id, day = free_day(db)
    made = authed_api.post(
        f"/v1/rooms/{room_id}/bookings", json=new_booking("Mine", day + 8 * H, day + 9 * H)
    ).json()
    body = new_booking("Sneaky", day + 10 * H, day + 11 * H)
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Basic {app_secret}"},
        {"Authorization": f"Bearer {app_secret}x"},
        {"Authorization": f"Bearer {app_secret[:-1]}"},
        {"Authorization": app_secret},
    ):
        response = api.post(f"/v1/rooms/{room_id}/bookings", json=body, headers=headers)
        assert response.status_code == 401, headers
        assert error_code(response) == "unauthorized"
        response = api.delete(f"/v1/bookings/{made['id']}", headers=headers)
        assert response.status_code == 401, headers
        assert error_code(response) == "unauthorized"
    # a method a path does not have
    for method, path in (("PUT", "/v1/rooms/1"), ("PATCH", f"/v1/bookings/{made['id']}"),
                         ("DELETE", f"/v1/rooms/{room_id}")):
        response = authed_api.request(method, path, json={})
        assert response.status_code == 405, (method, path)
        assert error_code(response) == "method_not_allowed"
    # a 401 comes first, whatever the body or the room
    assert api.post("/v1/rooms/401/bookings", json={}).status_code == 401
    assert api.delete("/v1/bookings/987654321987").status_code == 401
    assert bookings_in(db, room_id, day, day + 24 * H) == [made["id"]]
    assert api.get(f"/v1/bookings/{made['id']}").status_code == 200


@pytest.mark.rules("cancel", "unknown-404", "committed")
def test_cancel_deletes_the_booking_and_frees_its_time(authed_api, db):
    room_id, day = free_day(db)
    body = new_booking("Cancelled", day + 14 * H, day + 15 * H)
    made = authed_api.post(f"/v1/rooms/{room_id}/bookings", json=body).json()
    response = authed_api.delete(f"/v1/bookings/{made['id']}")
    assert response.status_code == 204
    assert response.content == b""
    assert booking_row(db, made["id"]) is None  # committed when answered
    assert authed_api.get(f"/v1/bookings/{made['id']}").status_code == 404
    again = authed_api.delete(f"/v1/bookings/{made['id']}")
    assert again.status_code == 404
    assert error_code(again) == "not_found"
    rebooked = authed_api.post(f"/v1/rooms/{room_id}/bookings", json=body)
    assert rebooked.status_code == 201
    assert rebooked.json()["id"] != made["id"]


@pytest.mark.rules("reflects-database")
def test_rows_written_directly_to_the_database_show_in_the_next_response(api, authed_api, db):
    room_id, day = free_day(db)
    booking_id = db.execute(
        "INSERT INTO bookings (room_id, title, booked_by, starts_at, ends_at)"
        " VALUES (%s, 'Imported', 'Calendar Sync', %s, %s) RETURNING id",
        (room_id, day + 9 * H, day + 10 * H),
    ).fetchone()[0]
    shown = api.get(f"/v1/bookings/{booking_id}")
    assert shown.status_code == 200
    assert_booking(shown.json(), booking_row(db, booking_id))
    window = {"from": iso(day), "to": iso(day + 24 * H)}
    assert [b["id"] for b in api.get(f"/v1/rooms/{room_id}/bookings", params=window).json()["items"]] == [booking_id]
    clash = authed_api.post(
        f"/v1/rooms/{room_id}/bookings", json=new_booking("Clash", day + 9 * H + 30 * M, day + 11 * H)
    )
    assert clash.status_code == 409
    db.execute("UPDATE bookings SET title = 'Renamed' WHERE id = %s", (booking_id,))
    assert api.get(f"/v1/bookings/{booking_id}").json()["title"] == "Renamed"
    db.execute("DELETE FROM bookings WHERE id = %s", (booking_id,))
    assert api.get(f"/v1/bookings/{booking_id}").status_code == 404
    assert api.get(f"/v1/rooms/{room_id}/bookings", params=window).json()["items"] == []
