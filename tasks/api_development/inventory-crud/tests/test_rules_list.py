"""Listing: page shape, limits and offsets on both sides, filters, every sort and its ties."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from items_api import assert_error, new_item, price_band, six_fields

SORTS = ("price", "-price", "name", "-name", "created_at", "-created_at")


def page(api: httpx.Client, **params: Any) -> dict[str, Any]:
    response = api.get("/v1/items", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert set(body) >= {"items", "total", "limit", "offset"}, body
    return body


def ids(body: dict[str, Any]) -> list[int]:
    return [item["id"] for item in body["items"]]


def band(base: float) -> dict[str, float]:
    return {"min_price": base, "max_price": base + 100}


@pytest.mark.rules("list-shape", "list-limit", "list-offset", "list-echo", "item-six-fields")
def test_list_defaults_to_limit_20_offset_0(api, authed_api, unique):
    new_item(authed_api, unique)
    body = page(api)
    assert (body["limit"], body["offset"]) == (20, 0)
    assert 1 <= len(body["items"]) <= 20
    assert body["total"] >= len(body["items"])
    for item in body["items"]:
        six_fields(item)


@pytest.mark.rules("list-limit", "list-echo", "list-page-size", "list-total")
def test_list_limit_1_and_100_are_accepted_and_echoed(api, authed_api, unique):
    base = price_band()
    made = [new_item(authed_api, unique, price=base + i)["id"] for i in range(3)]
    one = page(api, limit=1, sort="price", **band(base))
    assert (one["limit"], one["offset"], one["total"]) == (1, 0, 3)
    assert ids(one) == made[:1]
    hundred = page(api, limit=100, sort="price", **band(base))
    assert (hundred["limit"], hundred["total"]) == (100, 3)
    assert ids(hundred) == made


@pytest.mark.rules("list-offset", "list-total", "list-echo", "list-page-size")
def test_list_offset_skips_matches_and_total_ignores_the_page(api, authed_api, unique):
    base = price_band()
    made = [new_item(authed_api, unique, price=base + i)["id"] for i in range(5)]
    for offset, limit in ((0, 2), (2, 2), (4, 2), (3, 10), (5, 3), (9, 3)):
        body = page(api, limit=limit, offset=offset, sort="price", **band(base))
        assert (body["total"], body["limit"], body["offset"]) == (5, limit, offset)
        assert ids(body) == made[offset : offset + limit], (offset, limit)


@pytest.mark.rules("list-422", "error-422", "list-limit", "list-offset")
def test_list_rejects_limit_and_offset_out_of_range_or_not_integers(api):
    for params in (
        {"limit": 0},
        {"limit": 101},
        {"limit": -5},
        {"offset": -1},
        {"limit": "ten"},
        {"offset": "x"},
    ):
        assert_error(api.get("/v1/items", params=params), 422, "validation_error")


@pytest.mark.rules("list-422", "error-422", "list-price-filter")
def test_list_rejects_non_numeric_price_bounds(api):
    for params in ({"min_price": "cheap"}, {"max_price": "dear"}, {"min_price": "1", "max_price": "x"}):
        assert_error(api.get("/v1/items", params=params), 422, "validation_error")


@pytest.mark.rules("list-422", "error-422", "list-sort")
def test_list_rejects_every_other_sort_value(api):
    for sort in ("quantity", "id", "Price", "PRICE", "price,name", "--price", "-quantity", "name "):
        assert_error(api.get("/v1/items", params={"sort": sort}), 422, "validation_error")


@pytest.mark.rules("list-name-filter", "list-total")
def test_list_name_filter_is_exact_whole_and_case_sensitive(api, authed_api, unique):
    name = unique("Exact")
    target = new_item(authed_api, unique, name=name)
    for other in (name + "-longer", "pre-" + name, name.lower(), name.upper(), name[:-1]):
        new_item(authed_api, unique, name=other)
    body = page(api, name=name)
    assert (body["total"], ids(body)) == (1, [target["id"]])
    for probe in (name.lower(), name[:-1], name[5:], name + " "):
        expected = 1 if probe in (name.lower(), name[:-1]) else 0
        assert page(api, name=probe)["total"] == expected, probe


@pytest.mark.rules("list-name-filter")
def test_list_name_filter_treats_wildcards_literally(api, authed_api, unique):
    stem = unique("wild")
    literal = new_item(authed_api, unique, name=stem + "_%")
    new_item(authed_api, unique, name=stem + "ab")
    new_item(authed_api, unique, name=stem + "_%tail")
    body = page(api, name=stem + "_%")
    assert (body["total"], ids(body)) == (1, [literal["id"]])


@pytest.mark.rules("list-price-filter", "list-filters-and", "list-total")
def test_list_price_bounds_are_inclusive_alone_and_together(api, authed_api, unique):
    base = price_band()
    prices = [base + 1, base + 2.5, base + 4, base + 5.75]
    made = [new_item(authed_api, unique, price=p)["id"] for p in prices]
    top = base + 100
    cases = [
        ({"min_price": base + 2.5, "max_price": top}, made[1:]),
        ({"min_price": base, "max_price": base + 4}, made[:3]),
        ({"min_price": base + 2.5, "max_price": base + 4}, made[1:3]),
        ({"min_price": base + 4, "max_price": base + 4}, made[2:3]),
        ({"min_price": base + 4.01, "max_price": base + 5.74}, []),
    ]
    for params, expected in cases:
        body = page(api, sort="price", **params)
        assert (body["total"], ids(body)) == (len(expected), expected), params
    # one bound alone: the nearest match at that bound comes first
    assert ids(page(api, min_price=base + 5.75, sort="price", limit=1)) == [made[3]]
    assert ids(page(api, max_price=base + 1, sort="-price", limit=1)) == [made[0]]


@pytest.mark.rules("list-filters-and", "list-name-filter", "list-price-filter")
def test_list_name_and_price_filters_combine_with_and(api, authed_api, unique):
    base = price_band()
    item = new_item(authed_api, unique, price=base + 10)
    assert page(api, name=item["name"], min_price=base + 10, max_price=base + 10)["total"] == 1
    assert page(api, name=item["name"], min_price=base + 11)["total"] == 0
    assert page(api, name=item["name"], max_price=base + 9)["total"] == 0


@pytest.mark.rules("list-sort", "list-sort-default")
def test_list_sorts_by_every_key_in_both_directions(api, authed_api, unique):
    base = price_band()
    stem = unique("sort")
    # created in the order b, c, a: names, prices and creation times give three orders
    b = new_item(authed_api, unique, name=stem + "-b", price=base + 3)["id"]
    c = new_item(authed_api, unique, name=stem + "-c", price=base + 1)["id"]
    a = new_item(authed_api, unique, name=stem + "-a", price=base + 2)["id"]
    expected = {
        "price": [c, a, b],
        "-price": [b, a, c],
        "name": [a, b, c],
        "-name": [c, b, a],
        "created_at": [b, c, a],
        "-created_at": [a, c, b],
    }
    for sort in SORTS:
        assert ids(page(api, sort=sort, **band(base))) == expected[sort], sort
    assert ids(page(api, **band(base))) == expected["created_at"]


@pytest.mark.rules("list-sort-ties", "list-sort")
def test_list_price_ties_are_broken_by_id_ascending_in_both_directions(api, authed_api, unique):
    base = price_band()
    low = new_item(authed_api, unique, price=base + 1)["id"]
    tied = [new_item(authed_api, unique, price=base + 5)["id"] for _ in range(4)]
    high = new_item(authed_api, unique, price=base + 9)["id"]
    assert ids(page(api, sort="price", **band(base))) == [low, *tied, high]
    assert ids(page(api, sort="-price", **band(base))) == [high, *tied, low]
    for offset in range(1, 5):
        one = page(api, sort="-price", limit=1, offset=offset, **band(base))
        assert ids(one) == [tied[offset - 1]]
