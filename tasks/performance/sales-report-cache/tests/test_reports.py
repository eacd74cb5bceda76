"""Reports: their figures, months, best sellers and years, and that a sale counts at once."""

from __future__ import annotations

import random

import pytest
from report_api import (
    SEEDED_STORES,
    SEEDED_YEARS,
    assert_error,
    assert_report,
    expected_report,
    fresh_period,
    new_sale,
    record,
    report,
)


@pytest.mark.rules("health-ok")
def test_health_is_ok(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("report-figures", "report-months", "report-top-products")
def test_a_seeded_store_s_report_is_what_its_sales_give(api, db):
    for store, year in ((random.choice(SEEDED_STORES), y) for y in SEEDED_YEARS):
        got = report(api, store, year)
        want = expected_report(db, store, year)
        assert want["sales"] == 12_500  # the seeded year, whole
        assert_report(got, want)
        assert len(got["top_products"]) == 5


@pytest.mark.rules("report-empty", "report-months")
def test_a_year_without_sales_is_a_report_of_zeros(api, db):
    store, year = fresh_period(db)
    got = report(api, store, year)
    assert_report(got, expected_report(db, store, year))
    assert got["months"] == [{"month": m, "revenue_cents": 0, "sales": 0} for m in range(1, 13)]
    assert (got["revenue_cents"], got["sales"], got["units"], got["top_products"]) == (0, 0, 0, [])


@pytest.mark.rules("sale-counts-at-once", "report-figures", "report-months")
def test_a_sale_counts_in_the_very_next_report(api, authed_api, db):
    store, year = fresh_period(db)
    report(api, store, year)  # whatever a server may remember, it has seen this year now
    for month in (3, 3, 11):
        record(authed_api, store, new_sale(year, sold_at=f"{year}-{month:02d}-10T08:00:00Z"))
        assert_report(report(api, store, year), expected_report(db, store, year))
    got = report(api, store, year)
    assert [m["sales"] for m in got["months"]] == [0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0]


@pytest.mark.rules("sale-counts-everywhere")
def test_a_sale_through_one_instance_counts_in_the_next_report_of_another(
    api, authed_api, auth_headers, db, server, client_factory
):
    store, year = fresh_period(db)
    base_url = server.start_instance().base_url
    second = client_factory(base_url=base_url)
    for client in (api, second):
        assert report(client, store, year)["sales"] == 0  # each instance has read the year
    record(authed_api, store, new_sale(year))  # through the first instance
    assert report(second, store, year)["sales"] == 1
    record(client_factory(base_url=base_url, headers=auth_headers), store, new_sale(year))
    assert report(api, store, year)["sales"] == 2
    assert_report(report(api, store, year), expected_report(db, store, year))


@pytest.mark.rules("report-per-year", "sale-counts-at-once")
def test_each_year_of_a_store_has_its_own_report(api, authed_api, db):
    store, year = fresh_period(db)
    other = year + 1 if year < 2100 else year - 1
    for y in (year, other):
        report(api, store, y)
    record(authed_api, store, new_sale(year, quantity=2, unit_price_cents=100))
    assert report(api, store, year)["revenue_cents"] == 200
    assert_report(report(api, store, other), expected_report(db, store, other))
    record(authed_api, store, new_sale(other, quantity=3, unit_price_cents=100))
    assert_report(report(api, store, other), expected_report(db, store, other))
    assert report(api, store, year)["revenue_cents"] == 200
    neighbour = store + 1 if store < 60 else store - 1
    assert_report(report(api, neighbour, year), expected_report(db, neighbour, year))


@pytest.mark.rules("report-utc-month", "sale-counts-at-once")
def test_a_sale_belongs_to_the_month_and_year_of_sold_at_in_utc(api, authed_api, db):
    store, year = fresh_period(db)
    if year == 2100:
        store, year = fresh_period(db)
    nxt = year + 1
    january = report(api, store, nxt)["months"][0]["sales"]  # another test may have sold there
    report(api, store, year)
    # 23:30 at UTC-2 on 31 December is 01:30 UTC on 1 January of the next year
    record(authed_api, store, new_sale(year, sold_at=f"{year}-12-31T23:30:00-02:00"))
    # 00:30 at UTC+02 on 1 June is 22:30 UTC on 31 May
    record(authed_api, store, new_sale(year, sold_at=f"{year}-06-01T00:30:00+02:00"))
    got_year, got_next = report(api, store, year), report(api, store, nxt)
    assert got_year["sales"] == 1 and got_year["months"][4]["sales"] == 1, got_year
    assert got_next["months"][0]["sales"] == january + 1, got_next
    assert_report(got_next, expected_report(db, store, nxt))


@pytest.mark.rules("report-top-products", "sale-counts-at-once")
def test_the_top_products_are_the_five_best_by_revenue_ties_by_id(api, authed_api, db):
    store, year = fresh_period(db)
    report(api, store, year)
    # revenues: 300=600, 7=600 (tie: 7 first), 250=900, 12=100, 99=50, 45=40 (sixth, left out)
    for product, quantity, price in (
        (300, 2, 300), (7, 3, 200), (250, 1, 900), (12, 1, 100), (99, 5, 10), (45, 1, 40),
        (250, 1, 0),
    ):  # fmt: skip
        record(authed_api, store, new_sale(year, product_id=product, quantity=quantity,
                                           unit_price_cents=price))
    got = report(api, store, year)
    assert [(p["product_id"], p["revenue_cents"]) for p in got["top_products"]] == [
        (250, 900), (7, 600), (300, 600), (12, 100), (99, 50),
    ]  # fmt: skip
    assert [p["units"] for p in got["top_products"]] == [2, 3, 2, 1, 5]
    assert_report(got, expected_report(db, store, year))
    assert len(report(api, store, year)["top_products"]) == 5


@pytest.mark.rules("report-exact-revenue")
def test_revenues_are_exact_however_large(api, authed_api, db):
    store, year = fresh_period(db)
    for _ in range(3):
        record(authed_api, store, new_sale(year, quantity=1000, unit_price_cents=10_000_000))
    got = report(api, store, year)
    assert got["revenue_cents"] == 30_000_000_000
    assert got["months"][5]["revenue_cents"] == 30_000_000_000
    assert got["top_products"][0]["revenue_cents"] in (10_000_000_000, 20_000_000_000,
                                                      30_000_000_000)
    assert_report(got, expected_report(db, store, year))


@pytest.mark.rules("unknown-store-404")
def test_a_store_no_store_has_is_404(api, authed_api, db):
    missing = int(db.scalar("SELECT max(id) FROM stores")) + 1
    assert_error(api.get(f"/v1/stores/{missing}/report", params={"year": 2025}), 404,
                 "not_found")
    before = db.scalar("SELECT count(*) FROM sales")
    assert_error(authed_api.post(f"/v1/stores/{missing}/sales", json=new_sale(2025)), 404,
                 "not_found")
    assert db.scalar("SELECT count(*) FROM sales") == before


@pytest.mark.rules("year-422")
@pytest.mark.parametrize("year", [None, "1999", "2101", "2025.5", "2025.0", "abc", "", "-2025"])
def test_a_year_that_is_missing_out_of_range_or_not_an_integer_is_422(api, year):
    params = {} if year is None else {"year": year}
    assert_error(api.get(f"/v1/stores/{SEEDED_STORES[0]}/report", params=params), 422,
                 "validation_error")


@pytest.mark.rules("year-422", "report-figures")
@pytest.mark.parametrize("year", [2000, 2100])
def test_the_years_2000_and_2100_are_reports(api, db, year):
    store = random.choice(SEEDED_STORES)
    assert_report(report(api, store, year), expected_report(db, store, year))
