"""Registrations: the body's rules, the seats left, and unknown fields such as a status."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from events_api import (
    INTEGER_IMPOSTORS,
    assert_error,
    assert_invalid,
    create_event,
    register,
    registration_body,
    registrations_of,
    seats_of,
    utc,
)


@pytest.mark.rules("registration-create", "registration-defaults", "name-trim", "email-verbatim")
def test_a_registration_answers_201_confirmed_and_is_stored(authed_api, db, unique):
    event = create_event(authed_api, unique("reg"), capacity=20)
    before = datetime.now(UTC).replace(microsecond=0)
    response = register(authed_api, event["id"], email="Ada.Lovelace+Events@Example.COM",
                        name="  Ada  Lovelace ", ticket_type="vip", seats=3)  # fmt: skip
    assert response.status_code == 201, response.text
    reg = response.json()
    assert isinstance(reg["id"], int) and reg["id"] >= 1, reg
    assert reg == {
        "id": reg["id"], "event_id": event["id"], "email": "Ada.Lovelace+Events@Example.COM",
        "name": "Ada  Lovelace", "ticket_type": "vip", "seats": 3, "status": "confirmed",
        "created_at": reg["created_at"],
    }  # fmt: skip
    assert before <= utc(reg["created_at"]) <= datetime.now(UTC)
    plain = register(authed_api, event["id"], ticket_type="student")
    assert plain.status_code == 201 and plain.json()["seats"] == 1, plain.text
    assert registrations_of(db, event["id"]) == [
        ("Ada.Lovelace+Events@Example.COM", "Ada  Lovelace", "vip", 3, "confirmed"),
        ("ada@example.com", "Ada", "student", 1, "confirmed"),
    ]
    assert authed_api.get(f"/v1/events/{event['id']}").json()["seats_taken"] == 4


VALID_EMAILS = [
    "a@b.co", "first.last+tag@sub.example.org", "x_y%z-1@a-b.example", "UPPER@EXAMPLE.IO",
    "a" * 64 + "@example.com", "o-hara@example.com", "a@b-c.d-e.example",
    "x@" + "d" * 63 + ".com", "a.b.c@x.yz", "1@2.xn",
]  # fmt: skip
INVALID_EMAILS = [
    "a@b", "ab.co", "a b@c.de", "<script>@x.io", "a@-b.co", "a@b-.co", ".a@b.co", "a.@b.co",
    "a..b@c.co", "a@b.c", "a@b.c0", "a@@b.co", "a@b.co ", " a@b.co", "", "a" * 65 + "@b.co",
    "a@" + "d" * 64 + ".com", "\u00e9@b.co", "a@b..co", "a@.b.co", "a@b.co.", "a\"b@c.co",
    "a@b_c.co", "a(b)@c.co", "a@[127.0.0.1]", "a@b.co\n", "a@b.123", "a,b@c.co", "@b.co",
    "a;b@c.co", "a@b.co;x@y.zz",
]  # fmt: skip
# 254 characters: the longest address; one more character is too long
DOMAIN_254 = ".".join(["d" * 60, "e" * 60, "f" * 59]) + ".example"
LONGEST_EMAIL = "a" * (254 - 1 - len(DOMAIN_254)) + "@" + DOMAIN_254


@pytest.mark.rules("email-format")
def test_the_email_follows_the_stated_format(authed_api, db, unique):
    event = create_event(authed_api, unique("emails"), capacity=1000)
    for email in VALID_EMAILS:
        response = register(authed_api, event["id"], email=email)
        assert response.status_code == 201, (email, response.text)
        assert response.json()["email"] == email
    longest = LONGEST_EMAIL
    assert len(longest) == 254 and len(longest.split("@")[0]) == 64
    assert register(authed_api, event["id"], email=longest).status_code == 201
    too_long = "a" * 64 + "@g" + DOMAIN_254  # 64 + 1 + 190 = 255 characters
    assert len(too_long) == 255
    for email in [*INVALID_EMAILS, too_long, 5, None, ["a@b.co"]]:
        assert_invalid(register(authed_api, event["id"], email=email), "email")
    stored = [row[0] for row in registrations_of(db, event["id"])]
    assert stored == [*VALID_EMAILS, longest]


@pytest.mark.rules("name-trim", "text-control")
def test_the_name_is_trimmed_text_of_1_to_100_characters(authed_api, db, unique):
    event = create_event(authed_api, unique("names"), capacity=100)
    longest = "\u00e9" * 100
    for sent, kept in ((f"  {longest}  ", longest), ("Zo\u00eb", "Zo\u00eb"), (" a ", "a")):
        response = register(authed_api, event["id"], name=sent)
        assert response.status_code == 201 and response.json()["name"] == kept, response.text
    for name in ("", "   ", longest + "x", "a\u0000b", "a\nb", "a\tb", "\u001b[2J", "a\u007f",
                 5, None, ["a"]):  # fmt: skip
        assert_invalid(register(authed_api, event["id"], name=name), "name")
    assert [row[1] for row in registrations_of(db, event["id"])] == [longest, "Zo\u00eb", "a"]


@pytest.mark.rules("ticket-type-enum", "seats-rules", "integers-strict")
def test_ticket_type_and_seats_are_strict(authed_api, db, unique):
    event = create_event(authed_api, unique("tickets"), capacity=100)
    for ticket in ("standard", "vip", "student"):
        response = register(authed_api, event["id"], ticket_type=ticket, seats=10)
        assert response.status_code == 201 and response.json()["ticket_type"] == ticket
    for ticket in ("VIP", "Standard", "student ", "premium", "", 1, None):
        assert_invalid(register(authed_api, event["id"], ticket_type=ticket), "ticket_type")
    for seats in [*INTEGER_IMPOSTORS, 0, -1, 11, 2**64, None]:
        assert_invalid(register(authed_api, event["id"], seats=seats), "seats")
    assert seats_of(db, event["id"]) == 30
    for body, fields in (({}, ("email", "name", "ticket_type")),
                         (registration_body(email="x", seats="2", ticket_type="VIP"),
                          ("email", "seats", "ticket_type"))):  # fmt: skip
        response = authed_api.post(f"/v1/events/{event['id']}/registrations", json=body)
        assert_invalid(response, *fields)
    assert seats_of(db, event["id"]) == 30


@pytest.mark.rules("unknown-fields", "registration-status", "refused-changes-nothing")
def test_a_registration_body_may_not_set_status_id_or_any_other_field(authed_api, db, unique):
    event = create_event(authed_api, unique("mass reg"), capacity=10)
    for field, value in (("status", "confirmed"), ("status", "waitlisted"), ("id", 987654321),
                         ("event_id", event["id"]), ("created_at", "2001-02-03T04:05:06Z"),
                         ("paid", True), ("role", "admin"), ("Seats", 2)):  # fmt: skip
        body = {**registration_body(), field: value}
        response = authed_api.post(f"/v1/events/{event['id']}/registrations", json=body)
        assert_invalid(response, field)
    assert registrations_of(db, event["id"]) == []


@pytest.mark.rules("not-enough-seats", "error-409", "refused-changes-nothing")
def test_a_registration_for_more_seats_than_are_left_is_409(authed_api, db, unique):
    event = create_event(authed_api, unique("full"), capacity=5)
    assert register(authed_api, event["id"], seats=3).status_code == 201
    assert_error(register(authed_api, event["id"], seats=3), 409, "not_enough_seats")
    assert register(authed_api, event["id"], seats=2).status_code == 201
    assert_error(register(authed_api, event["id"], seats=1), 409, "not_enough_seats")
    assert seats_of(db, event["id"]) == 5
    assert len(registrations_of(db, event["id"])) == 2
    assert authed_api.get(f"/v1/events/{event['id']}").json()["seats_taken"] == 5
    small = create_event(authed_api, unique("small"), capacity=2)
    assert_error(register(authed_api, small["id"], seats=3), 409, "not_enough_seats")
    assert registrations_of(db, small["id"]) == []
