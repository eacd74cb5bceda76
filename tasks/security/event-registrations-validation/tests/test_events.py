"""Events: each field's type, length, enum and format, trimming, text, null and unknown fields,
and what is stored as well as what is answered."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from events_api import (
    INTEGER_IMPOSTORS,
    MALFORMED_IDS,
    assert_error,
    assert_invalid,
    create_event,
    event_body,
    events_like,
    events_titled,
    raw_json,
    register,
    send_raw,
    stored_event,
    utc,
)


@pytest.mark.rules("health")
def test_health_answers_ok_without_a_token(api):
    response = api.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.rules("db-tables")
def test_the_tables_hold_the_stated_columns_and_foreign_key(authed_api, db, unique):
    create_event(authed_api, unique("tables"))  # the server has started and made its schema
    events, regs = db.columns("events"), db.columns("registrations")
    whole, text = {"integer", "bigint"}, {"text", "character varying"}
    assert events.get("id") in whole and events.get("capacity") in whole, events
    assert events.get("price_cents") in whole, events
    for name in ("title", "description", "category", "currency", "website"):
        assert events.get(name) in text, (name, events)
    for name in ("starts_at", "ends_at", "created_at"):
        assert events.get(name) == "timestamp with time zone", (name, events)
    assert events.get("tags") == "ARRAY", events
    assert regs.get("id") in whole and regs.get("event_id") in whole, regs
    assert regs.get("seats") in whole and regs.get("created_at") == "timestamp with time zone"
    for name in ("email", "name", "ticket_type", "status"):
        assert regs.get(name) in text, (name, regs)
    assert ("registrations", "events") in db.foreign_keys()


@pytest.mark.rules("event-create", "ids-server", "date-time-utc", "event-defaults",
                   "created-at-server")  # fmt: skip
def test_create_event_answers_201_with_every_field_as_stored(authed_api, db, unique):
    title = unique("Launch party")
    before = datetime.now(UTC).replace(microsecond=0)
    full = event_body(
        title, description="Line one\n\tLine two", ends_at="2027-05-01T22:00:00Z",
        capacity=120, category="conference", tags=["python", "web-dev"], price_cents=2500,
        currency="USD", website="https://events.example.com:8443/launch?ref=a#top",
    )  # fmt: skip
    response = authed_api.post("/v1/events", json=full)
    assert response.status_code == 201, response.text
    event = response.json()
    assert isinstance(event["id"], int) and event["id"] >= 1, event
    assert event == {
        "id": event["id"], "title": title, "description": "Line one\n\tLine two",
        "starts_at": "2027-05-01T16:30:00Z", "ends_at": "2027-05-01T22:00:00Z",
        "capacity": 120, "category": "conference", "tags": ["python", "web-dev"],
        "price_cents": 2500, "currency": "USD",
        "website": "https://events.example.com:8443/launch?ref=a#top", "seats_taken": 0,
        "created_at": event["created_at"],
    }  # fmt: skip
    assert before <= utc(event["created_at"]) <= datetime.now(UTC), event
    assert stored_event(db, event["id"]) == {
        "title": title, "description": "Line one\n\tLine two",
        "starts_at": utc("2027-05-01T16:30:00Z"), "ends_at": utc("2027-05-01T22:00:00Z"),
        "capacity": 120, "category": "conference", "tags": ["python", "web-dev"],
        "price_cents": 2500, "currency": "USD",
        "website": "https://events.example.com:8443/launch?ref=a#top",
    }  # fmt: skip
    # the optional fields left out take their defaults
    plain = create_event(authed_api, unique("Plain"))
    assert plain["description"] == "" and plain["ends_at"] is None and plain["tags"] == []
    assert plain["price_cents"] == 0 and plain["website"] is None, plain
    stored = stored_event(db, plain["id"])
    assert stored is not None and stored["website"] is None and stored["ends_at"] is None
    assert stored["tags"] == [] and stored["price_cents"] == 0 and stored["description"] == ""


@pytest.mark.rules("event-get", "seats-taken")
def test_get_event_answers_the_event_with_its_seats_taken(authed_api, unique):
    event = create_event(authed_api, unique("Read me"), capacity=10)
    response = authed_api.get(f"/v1/events/{event['id']}")
    assert response.status_code == 200 and response.json() == event, response.text
    assert register(authed_api, event["id"], seats=2).status_code == 201
    assert register(authed_api, event["id"], seats=3).status_code == 201
    again = authed_api.get(f"/v1/events/{event['id']}").json()
    assert again == {**event, "seats_taken": 5}, again


@pytest.mark.rules("not-found", "path-id", "error-404")
def test_an_unknown_or_malformed_event_id_is_404(authed_api, db, unique):
    for raw in [*MALFORMED_IDS, "9223372036854775807"]:
        assert_error(authed_api.get(f"/v1/events/{raw}"), 404, "not_found")
        title = unique("ghost")
        assert_error(authed_api.patch(f"/v1/events/{raw}", json={"title": title}), 404,
                     "not_found")  # fmt: skip
        response = register(authed_api, raw, name=title)  # type: ignore[arg-type]
        assert_error(response, 404, "not_found")
        assert events_titled(db, title) == 0
        assert db.scalar("SELECT count(*) FROM registrations WHERE name = %s", (title,)) == 0


@pytest.mark.rules("title-trim", "title-length", "text-codepoints", "error-fields")
def test_the_title_is_trimmed_of_spaces_then_1_to_120_characters(authed_api, db, unique):
    token = unique("trim")
    longest = token + "\u00e9" * (120 - len(token))  # 120 characters, more bytes
    cases = {
        f"  {longest}  ": longest,  # 124 characters before trimming, 120 after
        f"   {token} middle  spaces ": f"{token} middle  spaces",
        f"\u00a0{token}\u00a0": f"\u00a0{token}\u00a0",  # only U+0020 is trimmed
    }
    for sent, kept in cases.items():
        event = create_event(authed_api, sent)
        assert event["title"] == kept, event
        stored = stored_event(db, event["id"])
        assert stored is not None and stored["title"] == kept, stored
    for title in ("", " ", "     ", longest + "x", f" {longest}x "):
        assert_invalid(authed_api.post("/v1/events", json=event_body(title)), "title")
    assert events_like(db, token) == 3


@pytest.mark.rules("text-control", "description-rules", "refused-changes-nothing")
def test_text_refuses_control_characters_but_a_description_keeps_newlines_and_tabs(
    authed_api, db, unique
):
    token = unique("ctl")
    for bad in ("\u0000", "\u0001", "\u0007", "\u001b[31m", "\t", "\n", "\r", "\u007f",
                "\u0085", "\u009f"):  # fmt: skip
        assert_invalid(authed_api.post("/v1/events", json=event_body(f"{token}{bad}x")), "title")
        body = event_body(f"{token} desc", description=f"a{bad}b")
        if bad in ("\t", "\n"):
            continue
        assert_invalid(authed_api.post("/v1/events", json=body), "description")
    assert events_like(db, token) == 0
    event = create_event(authed_api, f"{token} ok", description="  one\n\ttwo \u00a0 ")
    assert event["description"] == "  one\n\ttwo \u00a0 "  # not trimmed
    stored = stored_event(db, event["id"])
    assert stored is not None and stored["description"] == "  one\n\ttwo \u00a0 "
    longest = "\u00e9" * 2000
    assert create_event(authed_api, f"{token} long", description=longest)["description"] == longest
    body = event_body(f"{token} longer", description=longest + "x")
    assert_invalid(authed_api.post("/v1/events", json=body), "description")
    assert events_like(db, token) == 2


@pytest.mark.rules("text-unicode")
def test_a_lone_surrogate_escape_is_refused(authed_api, db, unique):
    token = unique("surrogate")
    for escape in ("\\ud800", "\\udfff", "x\\ud83d", "\\ude00y"):
        content = (
            '{"title": "%s %s", "starts_at": "2027-05-01T18:30:00Z", "capacity": 5, '
            '"category": "meetup", "currency": "EUR"}' % (token, escape)
        ).encode()
        assert_invalid(send_raw(authed_api, "POST", "/v1/events", content), "title")
    paired = (
        '{"title": "%s \\ud83d\\ude00", "starts_at": "2027-05-01T18:30:00Z", "capacity": 5, '
        '"category": "meetup", "currency": "EUR"}' % token
    ).encode()
    response = send_raw(authed_api, "POST", "/v1/events", paired)
    assert response.status_code == 201, response.text
    assert response.json()["title"] == f"{token} \U0001f600"
    # the code points just outside the surrogates are ordinary characters
    for edge in ("\ud7ff", "\ue000", "\uffff"):
        event = create_event(authed_api, f"{token} {edge}")
        assert event["title"] == f"{token} {edge}"
    assert events_like(db, token) == 4


VALID_TIMES = {
    "2027-05-01T18:30:00+02:00": "2027-05-01T16:30:00Z",
    "2027-05-01T18:30:00-05:30": "2027-05-02T00:00:00Z",
    "2027-12-31T23:30:00-01:00": "2028-01-01T00:30:00Z",
    "2028-02-29T00:00:00Z": "2028-02-29T00:00:00Z",
    "2027-01-01T00:00:00+23:59": "2026-12-31T00:01:00Z",
    "1900-01-01T12:00:00Z": "1900-01-01T12:00:00Z",
    "2999-12-31T23:59:59Z": "2999-12-31T23:59:59Z",
}
INVALID_TIMES = [
    "2027-05-01T18:30:00", "2027-05-01t18:30:00Z", "2027-05-01T18:30:00z",
    "2027-05-01T18:30:00.5Z", "2027-05-01 18:30:00Z", "2027-05-01", "18:30:00Z",
    "2027-02-29T00:00:00Z", "2027-04-31T00:00:00Z", "2027-13-01T00:00:00Z",
    "2027-00-10T00:00:00Z", "2027-05-00T00:00:00Z", "2027-05-01T24:00:00Z",
    "2027-05-01T23:60:00Z", "2027-05-01T23:59:60Z", "2027-05-01T18:30:00+24:00",
    "2027-05-01T18:30:00+05:60", "2027-05-01T18:30:00+0200", "2027-5-1T18:30:00Z",
    " 2027-05-01T18:30:00Z", "2027-05-01T18:30:00Z ", "1899-12-31T23:59:59Z",
    "3000-01-01T00:00:00Z", "0999-01-01T00:00:00Z", "+2027-05-01T18:30:00Z", "",
    "2027-05-01T18:30Z", "2027-05-01T18:30:00GMT",
]  # fmt: skip


@pytest.mark.rules("date-time-format", "date-time-utc")
def test_starts_at_is_an_rfc3339_date_time_with_an_offset_returned_in_utc(authed_api, db, unique):
    token = unique("when")
    for sent, answered in VALID_TIMES.items():
        event = create_event(authed_api, f"{token} {sent}", starts_at=sent)
        assert event["starts_at"] == answered, (sent, event)
        stored = stored_event(db, event["id"])
        assert stored is not None and stored["starts_at"] == utc(answered), (sent, stored)
    for sent in INVALID_TIMES:
        body = event_body(f"{token} bad", starts_at=sent)
        assert_invalid(authed_api.post("/v1/events", json=body), "starts_at")
    for sent in (1777777777, 1777777777.0, ["2027-05-01T18:30:00Z"], {"at": "x"}):
        body = event_body(f"{token} bad", starts_at=sent)
        assert_invalid(authed_api.post("/v1/events", json=body), "starts_at")
    assert events_titled(db, f"{token} bad") == 0


@pytest.mark.rules("ends-at", "date-time-format")
def test_ends_at_is_optional_and_not_before_starts_at(authed_api, db, unique):
    token = unique("ends")
    # starts_at is 2027-05-01T16:30:00Z
    for ends in ("2027-05-01T16:29:59Z", "2027-05-01T18:29:59+02:00", "2026-01-01T00:00:00Z"):
        body = event_body(f"{token} bad", ends_at=ends)
        assert_invalid(authed_api.post("/v1/events", json=body), "ends_at")
    body = event_body(f"{token} bad", ends_at="2027-05-01T20:30:00")  # no offset
    assert_invalid(authed_api.post("/v1/events", json=body), "ends_at")
    assert events_titled(db, f"{token} bad") == 0
    # the same instant, written in another offset too, is allowed
    for ends in ("2027-05-01T16:30:00Z", "2027-05-01T18:30:00+02:00", "2027-05-01T16:30:01Z"):
        event = create_event(authed_api, f"{token} ok", ends_at=ends)
        assert utc(event["ends_at"]) == utc(ends), event
    assert events_titled(db, f"{token} ok") == 3


@pytest.mark.rules("integers-strict", "capacity-rules", "price-rules", "error-fields")
def test_integers_take_json_integers_in_range_only(authed_api, db, unique):
    token = unique("ints")
    for capacity in [*INTEGER_IMPOSTORS, 0, -1, 10001, 99999999999999999999999, -(2**64)]:
        body = event_body(f"{token} bad", capacity=capacity)
        assert_invalid(authed_api.post("/v1/events", json=body), "capacity")
    for price in [*INTEGER_IMPOSTORS, -1, 100000001, 2**63, 2**64 + 1]:
        body = event_body(f"{token} bad", price_cents=price)
        assert_invalid(authed_api.post("/v1/events", json=body), "price_cents")
    # numbers as written in the JSON text: an exponent, a fraction of zero, thousands of digits
    for literal in ("5e0", "1E1", "5.00", "-0.0", "9" * 40, "1" + "0" * 5000):
        content = raw_json(event_body(f"{token} bad", capacity=123456789)).replace(
            b"123456789", literal.encode()
        )
        assert_invalid(send_raw(authed_api, "POST", "/v1/events", content), "capacity")
    assert events_titled(db, f"{token} bad") == 0
    low = create_event(authed_api, f"{token} low", capacity=1, price_cents=0)
    high = create_event(authed_api, f"{token} high", capacity=10000, price_cents=100000000)
    assert (low["capacity"], low["price_cents"]) == (1, 0)
    assert (high["capacity"], high["price_cents"]) == (10000, 100000000)
    stored = stored_event(db, high["id"])
    assert stored is not None and (stored["capacity"], stored["price_cents"]) == (10000, 10**8)


@pytest.mark.rules("category-enum", "currency-enum")
def test_category_and_currency_are_enums_in_exact_case(authed_api, db, unique):
    token = unique("enum")
    for category in ("Workshop", "WORKSHOP", "workshop ", " workshop", "work shop", "talk", "",
                     "workshops", 1, None, ["workshop"]):  # fmt: skip
        body = event_body(f"{token} bad", category=category)
        assert_invalid(authed_api.post("/v1/events", json=body), "category")
    for currency in ("eur", "Eur", "EURO", "XYZ", "", "EUR ", "€", 978, None):
        body = event_body(f"{token} bad", currency=currency)
        assert_invalid(authed_api.post("/v1/events", json=body), "currency")
    assert events_titled(db, f"{token} bad") == 0
    for category in ("conference", "workshop", "meetup", "webinar"):
        for currency in ("EUR", "USD", "GBP", "JPY", "CHF"):
            event = create_event(
                authed_api, f"{token} {category} {currency}", category=category,
                currency=currency,
            )  # fmt: skip
            assert (event["category"], event["currency"]) == (category, currency)
            stored = stored_event(db, event["id"])
            assert stored is not None and (stored["category"], stored["currency"]) == (
                category, currency,
            )  # fmt: skip


@pytest.mark.rules("tags-rules")
def test_tags_are_at_most_10_unique_lowercase_slugs(authed_api, db, unique):
    token = unique("tags")
    ten = [f"t{i}" for i in range(10)]
    for tags in (["zeta", "a", "x1-2y", "b" * 30], ten, []):
        event = create_event(authed_api, f"{token} ok", tags=tags)
        assert event["tags"] == tags, event
        stored = stored_event(db, event["id"])
        assert stored is not None and stored["tags"] == tags
    for tags in ([*ten, "t10"], ["A"], ["Python"], ["a_b"], ["a--b"], ["-a"], ["a-"], [""],
                 ["a b"], ["a", "a"], ["x", "y", "x"], "a", [1], ["b" * 31], ["caf\u00e9"],
                 [None], {"a": 1}, None, ["a.b"]):  # fmt: skip
        body = event_body(f"{token} bad", tags=tags)
        assert_invalid(authed_api.post("/v1/events", json=body), "tags")
    assert events_titled(db, f"{token} bad") == 0


@pytest.mark.rules("website-format")
def test_website_is_an_http_or_https_url_only(authed_api, db, unique):
    token = unique("web")
    longest = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    for url in ("http://example.com", "https://a.example:8443/p/a-t_h?q=1&r=%20#frag",
                "https://x.example?a=b/c?d#e/f?g", "https://x.example/a(b)*,;=:@!$&~'.",
                "https://x.example#top",
                "https://x.example/", "http://127.0.0.1:8080", longest):  # fmt: skip
        event = create_event(authed_api, f"{token} ok", website=url)
        assert event["website"] == url
        stored = stored_event(db, event["id"])
        assert stored is not None and stored["website"] == url
    for url in ("javascript:alert(1)", "JAVASCRIPT:alert(1)", "javascript://example.com/%0aalert(1)",
                "data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)",
                "HTTPS://example.com", "Http://example.com", "ftp://example.com", "https://",
                "https:example.com", "//example.com", "example.com", "https://exa mple.com",
                "https://example.com/a b", "https://example.com/caf\u00e9", " https://example.com",
                "https://user@example.com", "", longest + "a", 5, ["https://example.com"],
                "https://example.com/#a#b", "https://example.com/%zz", "https://example.com/a<b",
                "https://example.com/a\"b", "https://example.com/{x}", "https://example.com:/",
                "https://example.com:123456/", "https://[::1]/", "https://example.com/a\\b",
                None):  # fmt: skip
        body = event_body(f"{token} bad", website=url)
        assert_invalid(authed_api.post("/v1/events", json=body), "website")
    assert events_titled(db, f"{token} bad") == 0


@pytest.mark.rules("null-refused", "strings-strict")
def test_null_and_wrong_json_types_are_refused_for_every_field(authed_api, db, unique):
    token = unique("null")
    for field in ("title", "description", "starts_at", "ends_at", "capacity", "category", "tags",
                  "price_cents", "currency", "website"):  # fmt: skip
        body = {**event_body(f"{token} bad"), field: None}
        assert_invalid(authed_api.post("/v1/events", json=body), field)
    for field, value in (("title", 5), ("title", ["x"]), ("title", True), ("description", 1),
                         ("description", {"a": "b"}), ("tags", "a,b"), ("website", True)):  # fmt: skip
        body = {**event_body(f"{token} bad"), field: value}
        assert_invalid(authed_api.post("/v1/events", json=body), field)
    assert events_titled(db, f"{token} bad") == 0


@pytest.mark.rules("unknown-fields", "refused-changes-nothing", "error-fields")
def test_unknown_fields_in_an_event_body_are_422_and_never_stored(authed_api, db, unique):
    token = unique("mass")
    for field, value in (("id", 987654321), ("status", "cancelled"), ("seats_taken", 999),
                         ("created_at", "2001-02-03T04:05:06Z"), ("role", "admin"),
                         ("titel", "typo"), ("owner_id", 1), ("Title", "x"), ("", 1)):  # fmt: skip
        body = {**event_body(f"{token} bad"), field: value}
        assert_invalid(authed_api.post("/v1/events", json=body), field)
    assert events_titled(db, f"{token} bad") == 0
    event = create_event(authed_api, f"{token} ok")
    for field, value in (("id", 987654321), ("seats_taken", 5), ("created_at", "2001-02-03T04:05:06Z"),
                         ("status", "cancelled")):  # fmt: skip
        response = authed_api.patch(f"/v1/events/{event['id']}", json={"title": "x", field: value})
        assert_invalid(response, field)
    assert authed_api.get(f"/v1/events/{event['id']}").json() == event


@pytest.mark.rules("error-fields", "error-fields-top-level", "error-422")
def test_a_422_names_every_offending_field_once(authed_api, db, unique):
    token = unique("many")
    response = authed_api.post("/v1/events", json={"capacity": "5", "category": "Talk"})
    assert_invalid(response, "capacity", "category", "title", "starts_at", "currency")
    body = event_body(
        f"{token} bad", tags=["ok", "Bad", "also_bad"], website="ftp://x", price_cents=-5,
        extra_one=1, extra_two=2,
    )  # fmt: skip
    assert_invalid(authed_api.post("/v1/events", json=body),
                   "tags", "website", "price_cents", "extra_one", "extra_two")  # fmt: skip
    assert_invalid(authed_api.post("/v1/events", json={}),
                   "title", "starts_at", "capacity", "category", "currency")  # fmt: skip
    assert events_titled(db, f"{token} bad") == 0


@pytest.mark.rules("duplicate-keys")
def test_a_key_given_twice_is_422_naming_it(authed_api, db, unique):
    token = unique("dup")
    content = (
        '{"title": "%s a", "starts_at": "2027-05-01T18:30:00Z", "capacity": 5, '
        '"category": "meetup", "currency": "EUR", "title": "%s b"}' % (token, token)
    ).encode()
    assert_invalid(send_raw(authed_api, "POST", "/v1/events", content), "title")
    content = (
        '{"title": "%s c", "starts_at": "2027-05-01T18:30:00Z", "capacity": 5, '
        '"category": "meetup", "currency": "EUR", "capacity": 6}' % token
    ).encode()
    assert_invalid(send_raw(authed_api, "POST", "/v1/events", content), "capacity")
    assert events_like(db, token) == 0


@pytest.mark.rules("event-patch", "title-trim")
def test_patch_changes_only_the_fields_sent(authed_api, db, unique):
    token = unique("patch")
    event = create_event(authed_api, f"{token} before", tags=["a"], website="https://a.example")
    response = authed_api.patch(f"/v1/events/{event['id']}", json={"title": f"  {token} after "})
    assert response.status_code == 200, response.text
    changed = {**event, "title": f"{token} after"}
    assert response.json() == changed
    response = authed_api.patch(f"/v1/events/{event['id']}", json={})
    assert response.status_code == 200 and response.json() == changed, response.text
    every = {
        "description": "new", "starts_at": "2027-06-01T10:00:00-02:00",
        "ends_at": "2027-06-01T13:00:00Z", "capacity": 7, "category": "webinar",
        "tags": ["b", "c"], "price_cents": 99, "currency": "CHF",
        "website": "http://b.example/x",
    }  # fmt: skip
    response = authed_api.patch(f"/v1/events/{event['id']}", json=every)
    assert response.status_code == 200, response.text
    expected = {**changed, **every, "starts_at": "2027-06-01T12:00:00Z"}
    assert response.json() == expected
    assert authed_api.get(f"/v1/events/{event['id']}").json() == expected
    stored = stored_event(db, event["id"])
    assert stored == {
        "title": f"{token} after", "description": "new", "starts_at": utc("2027-06-01T12:00:00Z"),
        "ends_at": utc("2027-06-01T13:00:00Z"), "capacity": 7, "category": "webinar",
        "tags": ["b", "c"], "price_cents": 99, "currency": "CHF",
        "website": "http://b.example/x",
    }  # fmt: skip


@pytest.mark.rules("patch-rules", "null-refused", "refused-changes-nothing")
def test_patch_follows_the_create_rules_and_refuses_null(authed_api, db, unique):
    event = create_event(authed_api, unique("strict patch"), website="https://a.example")
    for body, field in (({"title": "   "}, "title"), ({"title": None}, "title"),
                        ({"capacity": "5"}, "capacity"), ({"capacity": 5.0}, "capacity"),
                        ({"capacity": True}, "capacity"), ({"capacity": 0}, "capacity"),
                        ({"category": "Meetup"}, "category"), ({"tags": ["A"]}, "tags"),
                        ({"price_cents": -1}, "price_cents"), ({"currency": "usd"}, "currency"),
                        ({"website": None}, "website"), ({"website": "javascript:x"}, "website"),
                        ({"ends_at": None}, "ends_at"), ({"description": None}, "description"),
                        ({"starts_at": "2027-06-01T10:00:00"}, "starts_at")):  # fmt: skip
        assert_invalid(authed_api.patch(f"/v1/events/{event['id']}", json=body), field)
    assert authed_api.get(f"/v1/events/{event['id']}").json() == event
    stored = stored_event(db, event["id"])
    assert stored is not None and stored["title"] == event["title"]
    assert stored["website"] == "https://a.example" and stored["capacity"] == 50


@pytest.mark.rules("patch-ends-at", "fault-order")
def test_a_patch_keeps_ends_at_not_before_starts_at_as_they_stand_after_it(authed_api, unique):
    event = create_event(authed_api, unique("order"), starts_at="2027-05-01T10:00:00Z",
                         ends_at="2027-05-01T12:00:00Z")  # fmt: skip
    path = f"/v1/events/{event['id']}"
    assert_invalid(authed_api.patch(path, json={"ends_at": "2027-05-01T09:59:59Z"}), "ends_at")
    assert_invalid(authed_api.patch(path, json={"starts_at": "2027-05-01T12:00:01Z"}), "ends_at")
    assert authed_api.get(path).json() == event
    response = authed_api.patch(
        path, json={"starts_at": "2027-05-02T10:00:00Z", "ends_at": "2027-05-02T12:00:00Z"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["starts_at"] == "2027-05-02T10:00:00Z"
    response = authed_api.patch(path, json={"ends_at": "2027-05-02T10:00:00Z"})  # the same instant
    assert response.status_code == 200 and response.json()["ends_at"] == "2027-05-02T10:00:00Z"
    plain = create_event(authed_api, unique("no end"))  # no ends_at: any starts_at goes
    response = authed_api.patch(f"/v1/events/{plain['id']}", json={"starts_at": "2999-01-01T00:00:00Z"})
    assert response.status_code == 200 and response.json()["ends_at"] is None, response.text


@pytest.mark.rules("capacity-below-taken", "error-409")
def test_a_capacity_below_the_seats_taken_is_409(authed_api, db, unique):
    event = create_event(authed_api, unique("shrink"), capacity=10)
    assert register(authed_api, event["id"], seats=4).status_code == 201
    path = f"/v1/events/{event['id']}"
    assert_error(authed_api.patch(path, json={"capacity": 3, "title": "changed"}), 409,
                 "capacity_below_taken")  # fmt: skip
    stored = stored_event(db, event["id"])
    assert stored is not None and stored["capacity"] == 10 and stored["title"] == event["title"]
    response = authed_api.patch(path, json={"capacity": 4})
    assert response.status_code == 200 and response.json()["capacity"] == 4, response.text
    assert_error(register(authed_api, event["id"]), 409, "not_enough_seats")


@pytest.mark.rules("other-query-ignored")
def test_other_operations_ignore_their_query_string(authed_api, unique):
    response = authed_api.post("/v1/events?limit=abc&x=1", json=event_body(unique("q")))
    assert response.status_code == 201, response.text
    event = response.json()
    response = authed_api.get(f"/v1/events/{event['id']}?limit=0&sort=bad&foo")
    assert response.status_code == 200 and response.json() == event
    response = authed_api.post(f"/v1/events/{event['id']}/registrations?q=%FF",
                               json={"email": "a@b.co", "name": "A", "ticket_type": "vip"})  # fmt: skip
    assert response.status_code == 201, response.text
