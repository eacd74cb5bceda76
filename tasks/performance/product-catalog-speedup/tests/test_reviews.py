"""Reviews: the list of a product's reviews, posting one, and what a new one changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from catalog_api import (
    assert_error,
    assert_product,
    assert_review,
    expected_product,
    expected_reviews,
    missing_product_id,
    new_review,
    random_product,
    review_count,
)

MANY_REVIEWS = "WHERE p.id IN (SELECT product_id FROM reviews GROUP BY 1 HAVING count(*) >= 6)"


def post_review(authed_api, product_id, **fields):
    return authed_api.post(f"/v1/products/{product_id}/reviews", json=new_review(**fields))


@pytest.mark.rules("reviews-list", "review-fields", "reads-public")
def test_reviews_list_is_newest_first_with_limit_offset_and_total(api, db):
    product_id = random_product(db, MANY_REVIEWS)
    total = review_count(db, product_id)
    first = api.get(f"/v1/products/{product_id}/reviews").json()
    assert (first["total"], first["limit"], first["offset"]) == (total, 20, 0)
    want = expected_reviews(db, product_id, limit=20)
    assert [r["id"] for r in first["items"]] == [r["id"] for r in want]
    for got, row in zip(first["items"], want, strict=True):
        assert_review(got, row)
    for limit, offset in ((2, 0), (2, 3), (100, 1), (5, total)):
        page = api.get(
            f"/v1/products/{product_id}/reviews", params={"limit": limit, "offset": offset}
        ).json()
        assert (page["total"], page["limit"], page["offset"]) == (total, limit, offset)
        want = expected_reviews(db, product_id, limit, offset)
        assert [r["id"] for r in page["items"]] == [r["id"] for r in want], (limit, offset)


@pytest.mark.rules("reviews-list")
@pytest.mark.parametrize("query", ["limit=0", "limit=101", "offset=-1", "limit=x"])
def test_reviews_list_refuses_invalid_limit_or_offset_with_422(api, db, query):
    product_id = random_product(db)
    response = api.get(f"/v1/products/{product_id}/reviews?{query}")
    assert_error(response, 422, "validation_error")


@pytest.mark.rules("review-create", "review-fields")
def test_post_review_answers_201_with_the_stored_review(authed_api, db):
    product_id = random_product(db)
    before = datetime.now(UTC)
    response = post_review(authed_api, product_id, rating=5, author="Ana K.", body="Great mug.")
    assert response.status_code == 201, response.text
    review = response.json()
    assert isinstance(review["id"], int)
    assert (review["product_id"], review["rating"], review["author"], review["body"]) == (
        product_id, 5, "Ana K.", "Great mug.",
    )  # fmt: skip
    created = datetime.fromisoformat(review["created_at"].replace("Z", "+00:00"))
    assert created.utcoffset() is not None, review
    assert before - timedelta(minutes=5) <= created <= datetime.now(UTC) + timedelta(minutes=5), (
        review
    )
    [stored] = [r for r in expected_reviews(db, product_id, limit=100) if r["id"] == review["id"]]
    assert_review(review, stored)


@pytest.mark.rules("review-visible", "product-values")
def test_a_new_review_counts_at_once_everywhere(api, authed_api, db):
    product_id = random_product(db)
    before = api.get(f"/v1/products/{product_id}").json()
    response = post_review(authed_api, product_id, rating=1)
    assert response.status_code == 201, response.text
    review = response.json()
    want = expected_product(db, product_id)
    assert want["review_count"] == before["review_count"] + 1
    assert_product(api.get(f"/v1/products/{product_id}").json(), want)
    [listed] = api.get("/v1/products", params={"sku": want["sku"]}).json()["items"]
    assert_product(listed, want)
    page = api.get(
        "/v1/products",
        params={"category": want["category_id"], "limit": 1, "offset": category_rank(db, want)},
    ).json()
    assert_product(page["items"][0], want)
    reviews = api.get(f"/v1/products/{product_id}/reviews").json()
    assert reviews["items"][0]["id"] == review["id"]
    assert reviews["total"] == want["review_count"]


def category_rank(db, product):
    """How many products of its category come before it (its offset in the category list)."""
    return int(
        db.scalar(
            "SELECT count(*) FROM products WHERE category_id = %s AND id < %s",
            (product["category_id"], product["id"]),
        )
    )


@pytest.mark.rules("review-validation", "rejected-changes-nothing", "error-422")
@pytest.mark.parametrize(
    "fields",
    [
        {"rating": 0}, {"rating": 6}, {"rating": -1}, {"rating": 2.5}, {"rating": "3"},
        {"rating": True}, {"rating": None}, {"author": ""}, {"author": "a" * 101},
        {"author": 7}, {"author": None}, {"body": ""}, {"body": "b" * 2001}, {"body": ["x"]},
    ],
)  # fmt: skip
def test_post_review_with_an_invalid_field_is_422_and_stores_nothing(authed_api, db, fields):
    product_id = random_product(db)
    count = review_count(db, product_id)
    assert_error(post_review(authed_api, product_id, **fields), 422, "validation_error")
    assert review_count(db, product_id) == count


@pytest.mark.rules("review-validation", "rejected-changes-nothing")
@pytest.mark.parametrize("missing", ["rating", "author", "body"])
def test_post_review_without_a_required_field_is_422(authed_api, db, missing):
    product_id = random_product(db)
    count = review_count(db, product_id)
    body = new_review()
    del body[missing]
    response = authed_api.post(f"/v1/products/{product_id}/reviews", json=body)
    assert_error(response, 422, "validation_error")
    for not_an_object in ([body], "review", 4):
        response = authed_api.post(f"/v1/products/{product_id}/reviews", json=not_an_object)
        assert_error(response, 422, "validation_error")
    assert review_count(db, product_id) == count


@pytest.mark.rules("review-validation")
def test_post_review_accepts_the_boundaries_counted_in_characters(authed_api, db):
    product_id = random_product(db)
    for fields in (
        {"rating": 1, "author": "é" * 100, "body": "ü" * 2000},
        {"rating": 5, "author": "x", "body": "y"},
    ):
        response = post_review(authed_api, product_id, **fields)
        assert response.status_code == 201, response.text
        review = response.json()
        assert (review["rating"], review["author"], review["body"]) == (
            fields["rating"], fields["author"], fields["body"],
        )  # fmt: skip


@pytest.mark.rules("unknown-fields-ignored")
def test_post_review_ignores_unknown_fields(authed_api, db):
    product_id = random_product(db)
    other = random_product(db, "WHERE p.id <> %s", (product_id,))
    body = new_review(id=1, product_id=other, created_at="2001-01-01T00:00:00Z", helpful=True)
    response = authed_api.post(f"/v1/products/{product_id}/reviews", json=body)
    assert response.status_code == 201, response.text
    review = response.json()
    assert review["product_id"] == product_id
    assert review["id"] != 1
    assert not review["created_at"].startswith("2001")
    [stored] = [r for r in expected_reviews(db, product_id, limit=100) if r["id"] == review["id"]]
    assert stored["product_id"] == product_id


@pytest.mark.rules("unknown-product-404", "rejected-changes-nothing")
def test_reviews_of_an_unknown_product_are_404(api, authed_api, db):
    product_id = missing_product_id(db)
    assert_error(api.get(f"/v1/products/{product_id}/reviews"), 404, "not_found")
    assert_error(post_review(authed_api, product_id), 404, "not_found")
    assert review_count(db, product_id) == 0


@pytest.mark.rules("writes-need-token", "error-401", "rejected-changes-nothing")
def test_post_review_without_a_valid_token_is_401_and_stores_nothing(
    client_factory, app_secret, db
):
    product_id = random_product(db)
    count = review_count(db, product_id)
    for header in (
        None, "", f"Bearer {app_secret}x", f"Bearer x{app_secret}", "Bearer",
        f"Basic {app_secret}", app_secret, f"Token {app_secret}",
    ):  # fmt: skip
        headers = {} if header is None else {"Authorization": header}
        with client_factory(headers=headers) as client:
            for body in (new_review(), {"rating": 9}):
                response = client.post(f"/v1/products/{product_id}/reviews", json=body)
                assert_error(response, 401, "unauthorized")
    with client_factory() as client:
        response = client.post(f"/v1/products/{missing_product_id(db)}/reviews", json=new_review())
        assert_error(response, 401, "unauthorized")
    assert review_count(db, product_id) == count
