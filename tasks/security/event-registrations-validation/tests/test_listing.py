"""GET /v1/events: paging, sorting, the filters, and every query parameter validated."""

from __future__ import annotations

import pytest
from events_api import assert_invalid, create_event


def listing(client, query):
    """(ids, total) of a listing with a raw query string."""
    response = client.get(f"/v1/events?{query}")
    assert response.status_code == 200, (query, response.text)
    body = response.json()
    return [e["id"] for e in body["items"]], body["total"]


@pytest.mark.rules("list-shape", "list-paging", "list-sort")
def test_the_list_pages_and_sorts_with_ties_broken_by_id(authed_api, unique):
    token = unique("page")
    specs = [("2027-03-01T10:00:00Z", 500), ("2027-01-01T10:00:00Z", 100),
             ("2027-02-01T10:00:00Z", 500), ("2027-01-01T10:00:00Z", 300),
             ("2027-04-01T10:00:00+05:00", 0)]  # fmt: skip
    made = [create_event(authed_api, f"{token} {i}", starts_at=s, price_cents=p)
            for i, (s, p) in enumerate(specs)]  # fmt: skip
    a, b, c, d, e = (m["id"] for m in made)
    q = f"q={token}"
    assert listing(authed_api, q) == ([b, d, c, a, e], 5)  # default: starts_at, then id
    assert listing(authed_api, f"{q}&sort=starts_at") == ([b, d, c, a, e], 5)
    assert listing(authed_api, f"{q}&sort=-starts_at") == ([e, a, c, b, d], 5)
    assert listing(authed_api, f"{q}&sort=price_cents") == ([e, b, d, a, c], 5)
    assert listing(authed_api, f"{q}&sort=-price_cents") == ([a, c, d, b, e], 5)
    assert listing(authed_api, f"{q}&sort=id") == ([a, b, c, d, e], 5)
    assert listing(authed_api, f"{q}&sort=-id") == ([e, d, c, b, a], 5)
    assert listing(authed_api, f"{q}&sort=id&limit=2") == ([a, b], 5)
    assert listing(authed_api, f"{q}&sort=id&limit=2&offset=2") == ([c, d], 5)
    assert listing(authed_api, f"{q}&sort=id&limit=100&offset=4") == ([e], 5)
    assert listing(authed_api, f"{q}&offset=5") == ([], 5)
    assert listing(authed_api, f"{q}&offset=100000") == ([], 5)
    assert listing(authed_api, f"{q}&sort=id&limit=002&offset=001") == ([b, c], 5)
    response = authed_api.get(f"/v1/events?{q}&sort=id&limit=1")
    assert response.json()["items"] == [made[0]]


@pytest.mark.rules("list-limit-default")
def test_the_default_page_is_20_and_a_page_holds_at_most_100(authed_api, unique):
    token = unique("many")
    made = [create_event(authed_api, f"{token} {i}")["id"] for i in range(23)]
    ids, total = listing(authed_api, f"q={token}&sort=id")
    assert (ids, total) == (made[:20], 23)
    assert listing(authed_api, f"q={token}&sort=id&limit=100") == (made, 23)


@pytest.mark.rules("list-filter-category", "list-filter-starts-after")
def test_the_category_and_starts_after_filters(authed_api, unique):
    token = unique("filter")
    early = create_event(authed_api, f"{token} early", starts_at="2027-01-01T09:00:00Z",
                         category="workshop")["id"]  # fmt: skip
    exact = create_event(authed_api, f"{token} exact", starts_at="2027-01-01T10:00:00Z",
                         category="meetup")["id"]  # fmt: skip
    late = create_event(authed_api, f"{token} late", starts_at="2027-01-01T10:00:01Z",
                        category="workshop")["id"]  # fmt: skip
    q = f"q={token}&sort=id"
    assert listing(authed_api, f"{q}&category=workshop") == ([early, late], 2)
    assert listing(authed_api, f"{q}&category=meetup") == ([exact], 1)
    assert listing(authed_api, f"{q}&category=webinar") == ([], 0)
    # strictly later: the same instant in another offset is not
    assert listing(authed_api, f"{q}&starts_after=2027-01-01T10:00:00Z") == ([late], 1)
    assert listing(authed_api, f"{q}&starts_after=2027-01-01T12:00:00%2B02:00") == ([late], 1)
    assert listing(authed_api, f"{q}&starts_after=2027-01-01T04:59:59-05:00") == (
        [exact, late], 2,
    )  # fmt: skip
    assert listing(authed_api, f"{q}&starts_after=2027-01-01T10:00:00Z&category=meetup") == (
        [], 0,
    )  # fmt: skip


@pytest.mark.rules("list-filter-q")
def test_q_matches_titles_containing_it_literally_and_case_sensitively(authed_api, unique):
    token = unique("lit")
    pct = create_event(authed_api, f"{token} 50% off_now")["id"]
    plain = create_event(authed_api, f"{token} 50x offXnow")["id"]
    upper = create_event(authed_api, f"{token} HELLO O'Brien")["id"]
    q = f"q={token}"
    assert listing(authed_api, f"{q}&sort=id") == ([pct, plain, upper], 3)
    assert listing(authed_api, "q=" + f"{token} 50%25 off_".replace(" ", "%20")) == ([pct], 1)
    assert listing(authed_api, "q=" + f"{token} 50_".replace(" ", "%20")) == ([], 0)
    assert listing(authed_api, "q=" + f"{token} 50%25".replace(" ", "%20")) == ([pct], 1)
    assert listing(authed_api, "q=" + f"{token} hello".replace(" ", "+")) == ([], 0)
    assert listing(authed_api, "q=" + f"{token} HELLO O'Brien".replace(" ", "+")) == ([upper], 1)
    assert listing(authed_api, f"q={token}%27%20OR%20%271%27%3D%271") == ([], 0)


@pytest.mark.rules("list-params", "query-utf8", "error-fields")
def test_every_listing_parameter_is_validated_and_named(authed_api, unique):
    create_event(authed_api, unique("params"))
    bad = {
        "limit": ["0", "101", "abc", "1.0", "-1", "", "%2B5", "5%20", "1e1", "99999999999999999999",
                  "%FF", "\u0661"],
        "offset": ["-1", "1.5", "abc", "100001", "", "%C3%28"],
        "sort": ["title", "STARTS_AT", "starts_at%20", "+starts_at", "", "created_at",
                 "id;DROP%20TABLE%20events"],
        "category": ["Meetup", "MEETUP", "talk", "", "meetup%20"],
        "starts_after": ["2027-01-01T00:00:00", "2027-01-01T00:00:00+01:00",
                         "2027-02-29T00:00:00Z", "2027-01-01", "now", ""],
        "q": ["", "a%00b", "a%0Ab", "a%1Bb", "x" * 101, "%FF", "%ED%A0%80"],
    }  # fmt: skip
    for name, values in bad.items():
        for value in values:
            assert_invalid(authed_api.get(f"/v1/events?{name}={value}"), name)
    assert_invalid(authed_api.get("/v1/events?limit"), "limit")
    for query, names in (("foo=1", ["foo"]), ("limit=5&limit=6", ["limit"]),
                         ("Limit=5", ["Limit"]), ("page=2&per_page=5", ["page", "per_page"]),
                         ("limit=0&sort=x&q=", ["limit", "sort", "q"]),
                         ("category=a&category=meetup", ["category"])):  # fmt: skip
        assert_invalid(authed_api.get(f"/v1/events?{query}"), *names)
    for shortest_and_longest in ("x", "\u00e9" * 100):
        response = authed_api.get("/v1/events", params={"q": shortest_and_longest})
        assert response.status_code == 200, response.text
