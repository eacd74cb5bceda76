"""Malformed input: NUL characters, broken JSON and UTF-8, other content types, big bodies."""

from __future__ import annotations

from datetime import timedelta

import pytest
from booking_api import bookings_in, error_code, free_day, new_booking

H = timedelta(hours=1)


@pytest.mark.rules("nul-422", "rejected-changes-nothing")
def test_a_nul_character_in_a_body_or_query_value_is_422(api, authed_api, db):
    room_id, day = free_day(db)
    good = new_booking("Nul", day + 10 * H, day + 11 * H)
    for field in ("title", "booked_by", "starts_at"):
        body = {**good, field: good[field][:3] + "\x00" + good[field][3:]}
        response = authed_api.post(f"/v1/rooms/{room_id}/bookings", json=body)
        assert response.status_code == 422, field
        assert error_code(response) == "validation_error"
    for name in ("from", "to"):
        params = {"from": "2026-03-02T00:00:00Z", "to": "2026-03-03T00:00:00Z", name: "\x00"}
        response = api.get(f"/v1/rooms/{room_id}/bookings", params=params)
        assert response.status_code == 422, name
    assert bookings_in(db, room_id, day, day + 24 * H) == []


@pytest.mark.rules("malformed-body", "content-type", "oversized-body", "rejected-changes-nothing")
def test_bodies_that_are_not_json_objects_are_refused_and_store_nothing(authed_api, db):
    room_id, day = free_day(db)
    url = f"/v1/rooms/{room_id}/bookings"
    for raw in (b"{", b"not json", b'{"title": "\xff", "booked_by": "a"}', b""):
        response = authed_api.post(url, content=raw, headers={"Content-Type": "application/json"})
        assert response.status_code == 422, raw
        assert error_code(response) == "validation_error"
    import json

    text = json.dumps(new_booking("Plain", day + 10 * H, day + 11 * H))
    response = authed_api.post(url, content=text, headers={"Content-Type": "text/plain"})
    assert response.status_code in (201, 415, 422)
    stored = 1 if response.status_code == 201 else 0
    huge = new_booking("x" * (1 << 20), day + 12 * H, day + 13 * H)
    response = authed_api.post(url, json=huge)
    assert response.status_code in (413, 422)
    assert len(bookings_in(db, room_id, day, day + 24 * H)) == stored
