"""Products: single products and the listing, checked against the tables themselves."""

from __future__ import annotations

import random

import pytest
from catalog_api import (
    PRODUCT_FIELDS,
    assert_average,
    assert_error,
    assert_product,
    assert_products,
    count_products,
    expected_product,
    expected_products,
    missing_product_id,
    random_category,
    random_product,
)

NO_REVIEWS = "WHERE NOT EXISTS (SELECT 1 FROM reviews r WHERE r.product_id = p.id)"
# a mean whose third decimal is not 0 (2/3, 1/7, ...): rounding it to two decimals shows
THIRDS = (
    "WHERE p.id IN (SELECT product_id FROM reviews GROUP BY product_id "
    "HAVING mod(count(*), 3) = 0 AND mod(sum(rating), 3) <> 0)"
)


def list_products(api, **params):
    response = api.get("/v1/products", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) >= {"items", "total", "limit", "offset"}, body
    return body


@pytest.mark.rules("health-ok")
def test_health_returns_ok(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("get-product", "product-fields", "product-values", "reads-public")
def test_get_product_returns_its_row_with_category_name_and_review_figures(api, db):
    for product_id in (random_product(db), random_product(db, "WHERE p.id < 1000")):
        response = api.get(f"/v1/products/{product_id}")
        assert response.status_code == 200, response.text
        assert_product(response.json(), expected_product(db, product_id))


@pytest.mark.rules("unknown-product-404")
def test_get_unknown_product_is_404_not_found(api, db):
    assert_error(api.get(f"/v1/products/{missing_product_id(db)}"), 404, "not_found")


@pytest.mark.rules("average-null", "product-values")
def test_a_product_without_reviews_has_count_0_and_null_average(api, db):
    product_id = random_product(db, NO_REVIEWS)
    product = api.get(f"/v1/products/{product_id}").json()
    assert product["review_count"] == 0, product
    assert product["average_rating"] is None, product
    sku = product["sku"]
    [listed] = list_products(api, sku=sku)["items"]
    assert listed["review_count"] == 0 and listed["average_rating"] is None, listed


@pytest.mark.rules("average-rounded")
def test_average_rating_is_the_mean_rounded_to_two_decimals(api, db):
    for _ in range(3):
        product_id = random_product(db, THIRDS)
        want = expected_product(db, product_id)
        got = api.get(f"/v1/products/{product_id}").json()
        assert_average(got["average_rating"], want["exact_average"], got)
        [listed] = list_products(api, sku=want["sku"])["items"]
        assert_average(listed["average_rating"], want["exact_average"], listed)


@pytest.mark.rules(
    "list-category-filter", "list-order", "list-total", "product-fields", "product-values"
)
def test_list_by_category_returns_its_products_by_id_with_their_figures(api, db):
    category = random_category(db)
    where, params = "WHERE p.category_id = %s", (category,)
    total = count_products(db, where, params)
    offset = random.randint(0, total - 100)  # noqa: S311
    body = list_products(api, category=category, limit=100, offset=offset)
    assert body["total"] == total
    assert (body["limit"], body["offset"]) == (100, offset)
    assert_products(body["items"], expected_products(db, where, params, 100, offset))
    assert all(set(p) >= set(PRODUCT_FIELDS) for p in body["items"])


@pytest.mark.rules("list-order", "list-total", "list-limit", "list-offset", "list-echo")
def test_list_without_filters_pages_through_every_product_by_id(api, db):
    total = count_products(db)
    first = list_products(api)
    assert (first["total"], first["limit"], first["offset"]) == (total, 20, 0)
    assert_products(first["items"], expected_products(db, limit=20))
    offset = random.randint(1, total - 7)  # noqa: S311
    page = list_products(api, limit=7, offset=offset)
    assert (page["total"], page["limit"], page["offset"]) == (total, 7, offset)
    assert_products(page["items"], expected_products(db, limit=7, offset=offset))


@pytest.mark.rules("list-limit", "list-offset", "list-total", "list-echo", "list-page-size")
def test_list_pagination_limit_offset_and_total(api, db):
    category = random_category(db)
    where, params = "WHERE p.category_id = %s", (category,)
    total = count_products(db, where, params)
    default = list_products(api, category=category)
    assert (default["limit"], default["offset"], default["total"]) == (20, 0, total)
    assert len(default["items"]) == 20
    for limit, offset in ((1, 0), (100, 0), (5, 3), (10, total - 4), (10, total), (10, 10**19)):
        body = list_products(api, category=category, limit=limit, offset=offset)
        assert (body["limit"], body["offset"], body["total"]) == (limit, offset, total), body
        want = expected_products(db, where, params, limit, min(offset, total))
        assert [p["id"] for p in body["items"]] == [p["id"] for p in want], (limit, offset)


@pytest.mark.rules("list-category-filter")
@pytest.mark.parametrize("category", [-1, 0, 2147483647, 2147483648, 10**20])
def test_list_of_a_category_no_one_has_is_empty(api, db, category):
    assert not db.scalar("SELECT 1 FROM categories WHERE id = %s", (category,))
    body = list_products(api, category=category)
    assert (body["items"], body["total"]) == ([], 0)


@pytest.mark.rules("list-sku-filter")
def test_list_sku_filter_is_exact_whole_and_case_sensitive(api, db):
    product_id = random_product(db)
    want = expected_product(db, product_id)
    sku = want["sku"]  # e.g. KIT-123456
    body = list_products(api, sku=sku)
    assert body["total"] == 1
    assert_products(body["items"], [want])
    for other in (sku.lower(), sku[:-1], sku[1:], f"{sku} ", f"{sku[:3]}%", f"{sku[:-1]}_", ""):
        body = list_products(api, sku=other)
        assert (body["items"], body["total"]) == ([], 0), other


@pytest.mark.rules("list-filters-and")
def test_list_filters_combine_with_and(api, db):
    want = expected_product(db, random_product(db))
    same = list_products(api, sku=want["sku"], category=want["category_id"])
    assert same["total"] == 1
    assert_products(same["items"], [want])
    other_category = want["category_id"] % 40 + 1
    other = list_products(api, sku=want["sku"], category=other_category)
    assert (other["items"], other["total"]) == ([], 0)


@pytest.mark.rules("list-422", "error-422")
@pytest.mark.parametrize(
    "query",
    [
        "limit=0", "limit=101", "limit=-1", "limit=abc", "limit=2.5", "offset=-1",
        "offset=abc", "category=abc", "category=1.5", "category=",
    ],
)  # fmt: skip
def test_list_refuses_invalid_query_parameters_with_422(api, query):
    assert_error(api.get(f"/v1/products?{query}"), 422, "validation_error")


@pytest.mark.rules("list-limit")
def test_list_accepts_limit_1_and_100(api, db):
    category = random_category(db)
    assert len(list_products(api, category=category, limit=1)["items"]) == 1
    assert len(list_products(api, category=category, limit=100)["items"]) == 100
