"""The database: answers follow what other programs write to it, and its tables stay as given."""

from __future__ import annotations

import random

import pytest
from catalog_api import assert_product, expected_product, random_product

TABLES = {
    "categories": {"id": "integer", "name": "text"},
    "products": {
        "id": "bigint", "sku": "text", "name": "text", "description": "text",
        "category_id": "integer", "price_cents": "integer", "stock": "integer",
        "created_at": "timestamp with time zone",
    },
    "reviews": {
        "id": "bigint", "product_id": "bigint", "rating": "smallint", "author": "text",
        "body": "text", "created_at": "timestamp with time zone",
    },
}  # fmt: skip


def read_everywhere(api, product):
    """The product as its page, its SKU lookup and its reviews list show it."""
    single = api.get(f"/v1/products/{product['id']}").json()
    [listed] = api.get("/v1/products", params={"sku": product["sku"]}).json()["items"]
    reviews = api.get(f"/v1/products/{product['id']}/reviews").json()
    return single, listed, reviews


@pytest.mark.rules("reflects-database", "product-values")
def test_rows_written_directly_to_the_database_show_in_the_next_response(api, db):
    product_id = random_product(db)
    before = expected_product(db, product_id)
    read_everywhere(api, before)  # whatever a server may remember, it has seen these now
    price, stock = random.randint(1, 10**6), random.randint(0, 10**4)  # noqa: S311
    db.execute(
        "UPDATE products SET price_cents = %s, stock = %s WHERE id = %s",
        (price, stock, product_id),
    )
    review_id = db.scalar(
        "INSERT INTO reviews (product_id, rating, author, body) "
        "VALUES (%s, 1, 'Moderation Tool', 'Imported review.') RETURNING id",
        (product_id,),
    )
    after = expected_product(db, product_id)
    assert (after["price_cents"], after["stock"]) == (price, stock)
    assert after["review_count"] == before["review_count"] + 1
    single, listed, reviews = read_everywhere(api, after)
    assert_product(single, after)
    assert_product(listed, after)
    assert reviews["items"][0]["id"] == review_id
    assert reviews["total"] == after["review_count"]
    db.execute("DELETE FROM reviews WHERE id = %s", (review_id,))
    assert api.get(f"/v1/products/{product_id}").json()["review_count"] == before["review_count"]


@pytest.mark.rules("schema-unchanged")
def test_the_tables_and_their_columns_are_unchanged(db):
    assert db.tables() == sorted(TABLES)
    for table, columns in TABLES.items():
        assert db.columns(table) == columns, table
    views = db.scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('v', 'm')"
    )
    assert views == 0


# what seed.py loads: digests of the columns no test writes, over every seeded row
SEEDED_CATEGORIES = 40
SEEDED_PRODUCTS = "3ee7838504224e44a2486d00f3d82da1"
SEEDED_REVIEWS = (264_160, "cb16bbd02e9824cbe58222f7b5ca68ca")


@pytest.mark.rules("data-kept")
def test_the_seeded_catalogue_is_still_there(db):
    assert db.scalar("SELECT count(*) FROM categories") == SEEDED_CATEGORIES
    products = db.scalar(
        "SELECT md5(string_agg(concat_ws('|', id, sku, name, category_id), ',' ORDER BY id)) "
        "FROM products"
    )
    assert products == SEEDED_PRODUCTS
    last, digest = SEEDED_REVIEWS
    reviews = db.scalar(
        "SELECT md5(string_agg(concat_ws('|', id, product_id, rating), ',' ORDER BY id)) "
        "FROM reviews WHERE id <= %s",
        (last,),
    )
    assert reviews == digest
