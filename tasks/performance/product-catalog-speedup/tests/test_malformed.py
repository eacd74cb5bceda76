"""Malformed requests: what the prompt settles for path ids, NUL, bytes, sizes and content types."""

from __future__ import annotations

import json

import pytest
from catalog_api import (
    assert_error,
    assert_product,
    expected_product,
    new_review,
    random_category,
    random_product,
    review_count,
)

MAX_ID = 2**63 - 1  # the largest bigint: the largest id a product can have
# not a whole number from 1 to 2**63 - 1: each names no product
MALFORMED_IDS = ["abc", "1.5", "null%2Cnull", "0", "-1", "9223372036854775808", "1e3"]
MiB = 1024 * 1024
# the products a sloppy id parser would post to instead (1.5 as 1 or 15, -1 as 1, 1e3 as 1000)
SLOPPY_TARGETS = "SELECT count(*) FROM reviews WHERE product_id IN (1, 15, 1000)"


def assert_no_such_product(response):
    """404 not_found or 422 validation_error: the prompt accepts either."""
    assert response.status_code in (404, 422), (response.request.url, response.text)
    code = "not_found" if response.status_code == 404 else "validation_error"
    assert_error(response, response.status_code, code)


@pytest.mark.rules("malformed-path-id", "rejected-changes-nothing")
@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_a_malformed_path_id_names_no_product(api, authed_api, db, bad_id):
    reviews = db.scalar(SLOPPY_TARGETS)
    assert_no_such_product(api.get(f"/v1/products/{bad_id}"))
    assert_no_such_product(api.get(f"/v1/products/{bad_id}/reviews"))
    assert_no_such_product(authed_api.post(f"/v1/products/{bad_id}/reviews", json=new_review()))
    assert db.scalar(SLOPPY_TARGETS) == reviews


def remove_largest(db):
    """Remove the product with the largest id, and its reviews, if there is one."""
    db.execute("DELETE FROM reviews WHERE product_id = %s", (MAX_ID,))
    db.execute("DELETE FROM products WHERE id = %s", (MAX_ID,))


@pytest.mark.rules("get-product", "reflects-database", "review-create", "malformed-path-id")
def test_the_ids_1_and_2_63_minus_1_name_products(api, authed_api, db):
    """Both ends of the range are ids: the seeded product 1, and one another program writes with
    the largest bigint (removed after, leftovers of an aborted run before)."""
    remove_largest(db)
    db.execute(
        "INSERT INTO products (id, sku, name, description, category_id, price_cents, stock) "
        "VALUES (%s, 'TST-9223372036854775807', 'Largest Id Box', 'Imported.', %s, 999, 3)",
        (MAX_ID, random_category(db)),
    )
    try:
        for product_id in (1, MAX_ID):
            response = api.get(f"/v1/products/{product_id}")
            assert response.status_code == 200, response.text
            assert_product(response.json(), expected_product(db, product_id))
            reviews = api.get(f"/v1/products/{product_id}/reviews")
            assert reviews.status_code == 200, reviews.text
            assert reviews.json()["total"] == review_count(db, product_id)
        response = authed_api.post(f"/v1/products/{MAX_ID}/reviews", json=new_review())
        assert response.status_code == 201, response.text
        assert response.json()["product_id"] == MAX_ID
        assert review_count(db, MAX_ID) == 1
    finally:
        remove_largest(db)


@pytest.mark.rules("nul-is-422", "rejected-changes-nothing")
def test_a_nul_character_in_a_query_or_body_value_is_422(api, authed_api, db):
    assert_error(api.get("/v1/products?sku=%00"), 422, "validation_error")
    assert_error(api.get("/v1/products?sku=KIT-1%0023"), 422, "validation_error")
    product_id = random_product(db)
    count = review_count(db, product_id)
    for fields in ({"author": "a\x00b"}, {"body": "\x00"}):
        response = authed_api.post(f"/v1/products/{product_id}/reviews", json=new_review(**fields))
        assert_error(response, 422, "validation_error")
    assert review_count(db, product_id) == count


@pytest.mark.rules("invalid-utf8-query")
def test_a_query_value_that_is_not_utf8_is_refused_or_read_with_replacements(api):
    response = api.get("/v1/products?sku=%FF%FE")
    if response.status_code != 200:
        assert_error(response, 422, "validation_error")
    else:
        body = response.json()
        assert (body["items"], body["total"]) == ([], 0), body  # no SKU holds U+FFFD
    # read with replacement characters, no such value is a number: a 422 either way
    assert_error(api.get("/v1/products?limit=%FF"), 422, "validation_error")
    assert_error(api.get("/v1/products?category=%FF"), 422, "validation_error")


def post_raw(client_factory, auth_headers, product_id, content: bytes, content_type: str):
    """POST a review on a connection of its own, closed after: a server may close a connection
    whose body it did not read, and no other request may depend on it."""
    headers = {**auth_headers, "Content-Type": content_type}
    with client_factory(headers=headers) as client:
        return client.post(f"/v1/products/{product_id}/reviews", content=content)


@pytest.mark.rules("oversized-body", "rejected-changes-nothing")
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    api, client_factory, auth_headers, db
):
    product_id = random_product(db)
    count = review_count(db, product_id)
    body = json.dumps({**new_review(), "padding": "x" * (MiB + 1024)}).encode()
    response = post_raw(client_factory, auth_headers, product_id, body, "application/json")
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert review_count(db, product_id) == count + (1 if response.status_code == 201 else 0)
    assert api.get("/health").status_code == 200


@pytest.mark.rules("content-type", "rejected-changes-nothing")
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    client_factory, auth_headers, db, content_type
):
    product_id = random_product(db)
    count = review_count(db, product_id)
    body = json.dumps(new_review(author="Content Type")).encode()
    response = post_raw(client_factory, auth_headers, product_id, body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        assert response.json()["author"] == "Content Type"
    assert review_count(db, product_id) == count + (1 if response.status_code == 201 else 0)


@pytest.mark.rules("malformed-body", "error-422", "rejected-changes-nothing")
@pytest.mark.parametrize(
    "content",
    [
        b'{"rating": 4, "author": "Bad \xff Bytes", "body": "Not UTF-8."}',
        b'{"rating": 4, "author": "Cut Short", "body": "Not JSON."',
    ],
    ids=["not-utf8", "not-json"],
)
def test_a_body_that_is_not_utf8_json_is_422_and_stores_nothing(
    client_factory, auth_headers, db, content
):
    product_id = random_product(db)
    count = review_count(db, product_id)
    response = post_raw(client_factory, auth_headers, product_id, content, "application/json")
    assert_error(response, 422, "validation_error")
    assert review_count(db, product_id) == count
