"""Products: validation at both edges, money format, the name filter, paging."""

import pytest

BAD_IDS = ["0", "-1", "abc", "1.5", "99999999999999999999999", "2000000000"]


def assert_error(response, status, code):
    assert response.status_code == status, (
        response.request.method,
        response.request.url,
        response.text,
    )
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def new_product(api, name, price=1, stock=1):
    r = api.post("/products", json={"name": name, "price": price, "stock": stock})
    assert r.status_code == 201, r.text
    return r.json()


def matching(api, name, **params):
    r = api.get("/products", params={"name": name, **params})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.mark.rules("product-create", "product-price", "money-format", "product-get", "ids-positive")
def test_product_price_edges_are_accepted_and_returned_with_two_decimals(authed_api, unique):
    for price, shown in (
        (0.01, "0.01"),
        (12.5, "12.50"),
        (3, "3.00"),
        (1000000, "1000000.00"),
        (999999.99, "999999.99"),
        (0.1, "0.10"),
        (7.0, "7.00"),
    ):
        name = unique("price")
        product = new_product(authed_api, name, price=price, stock=4)
        assert isinstance(product["id"], int) and product["id"] >= 1
        assert product == {"id": product["id"], "name": name, "price": shown, "stock": 4}, price
        assert authed_api.get(f"/products/{product['id']}").json() == product
        assert matching(authed_api, name)["items"] == [product]


@pytest.mark.rules("product-price", "validation-422", "error-body")
def test_product_price_out_of_range_or_too_precise_is_422(authed_api, unique):
    name = unique("badprice")
    for price in (
        0,
        -0.01,
        -5,
        1000000.01,
        2000000,
        1.005,
        0.001,
        12.345,
        None,
        [1],
        {"amount": 1},
    ):
        r = authed_api.post("/products", json={"name": name, "price": price, "stock": 1})
        assert_error(r, 422, "validation_error")
    assert_error(
        authed_api.post("/products", json={"name": name, "stock": 1}), 422, "validation_error"
    )
    assert matching(authed_api, name)["total"] == 0


@pytest.mark.rules("product-stock", "validation-422")
def test_product_stock_is_checked_at_both_edges(authed_api, unique):
    for stock in (0, 1, 1000000):
        assert new_product(authed_api, unique("stock"), stock=stock)["stock"] == stock
    name = unique("badstock")
    for stock in (-1, 1000001, 1.5, "3", None, [1]):
        r = authed_api.post("/products", json={"name": name, "price": 1, "stock": stock})
        assert_error(r, 422, "validation_error")
    assert_error(
        authed_api.post("/products", json={"name": name, "price": 1}), 422, "validation_error"
    )
    assert matching(authed_api, name)["total"] == 0


@pytest.mark.rules("product-name", "validation-422")
def test_product_name_is_checked_at_both_edges(authed_api, unique):
    token = unique("pname")
    long_name = token + "n" * (200 - len(token))
    assert new_product(authed_api, long_name)["name"] == long_name
    assert new_product(authed_api, "Q")["name"] == "Q"
    for name in ("", "   ", "\t\n", long_name + "n", None, 5):
        assert_error(
            authed_api.post("/products", json={"name": name, "price": 1, "stock": 1}),
            422,
            "validation_error",
        )
    assert matching(authed_api, token)["total"] == 1
    assert_error(
        authed_api.post(
            "/products",
            content=b'{"name": "x", "price": 1,',
            headers={"Content-Type": "application/json"},
        ),
        422,
        "validation_error",
    )


@pytest.mark.rules("product-filter", "product-total", "product-list")
def test_name_filter_is_a_case_insensitive_substring(authed_api, unique):
    token = unique("Filter").replace("-", "")
    made = [
        new_product(authed_api, name)
        for name in (f"alpha {token} omega", f"{token.upper()}", f"x{token.lower()}y")
    ]
    new_product(authed_api, unique("unrelated"))
    middle = token[3:-3]
    for query in (token, token.upper(), token.lower(), middle.swapcase()):
        page = matching(authed_api, query)
        assert page["total"] == 3, query
        assert page["items"] == made
    assert matching(authed_api, token + "zz")["total"] == 0


@pytest.mark.rules("product-filter-literal", "parameterized-sql")
def test_name_filter_matches_wildcards_and_quotes_literally(authed_api, unique):
    token = unique("lit").replace("-", "")
    names = {
        "percent": f"{token} 50%off",
        "plain": f"{token} 50xoff",
        "underscore": f"{token} a_c",
        "abc": f"{token} abc",
        "backslash": f"{token} c\\d",
        "quote": f"{token} o'clock",
        "dots": f"{token} a.*c",
    }
    ids = {key: new_product(authed_api, name)["id"] for key, name in names.items()}
    for query, expected in (
        (f"{token} 50%", ["percent"]),
        ("50%off", ["percent"]),
        (f"{token} a_c", ["underscore"]),
        (f"{token} c\\d", ["backslash"]),
        (f"{token} o'clock", ["quote"]),
        (f"{token} a.*c", ["dots"]),
        (f"{token} %", []),
        (f"{token} _", []),
    ):
        page = authed_api.get("/products", params={"name": query, "limit": 100}).json()
        found = [p["id"] for p in page["items"] if p["name"].startswith(token)]
        assert found == [ids[key] for key in expected], query
        if query.startswith(token):
            assert page["total"] == len(expected), query


@pytest.mark.rules("product-filter")
def test_empty_name_filter_is_no_filter(authed_api, unique):
    new_product(authed_api, unique("empty"))
    everything = authed_api.get("/products", params={"limit": 5}).json()
    assert everything["total"] >= 1
    assert authed_api.get("/products", params={"name": "", "limit": 5}).json() == everything


@pytest.mark.rules("product-filter-length", "validation-422")
def test_name_filter_of_200_characters_is_accepted_and_201_refused(authed_api, unique):
    token = unique("flen")
    name = token + "f" * (200 - len(token))
    product = new_product(authed_api, name)
    assert matching(authed_api, name)["items"] == [product]
    assert_error(authed_api.get("/products", params={"name": name + "f"}), 422, "validation_error")


@pytest.mark.rules("product-list", "product-total", "product-paging")
def test_product_pages_are_by_id_with_defaults_50_and_0(authed_api, unique):
    token = unique("page")
    made = [new_product(authed_api, f"{token}-{n:02d}") for n in range(51)]
    page = matching(authed_api, token)
    assert page["total"] == 51
    assert page["items"] == made[:50]
    page = matching(authed_api, token, offset=50)
    assert page == {"items": made[50:], "total": 51}
    page = matching(authed_api, token, limit=3, offset=10)
    assert page == {"items": made[10:13], "total": 51}
    assert matching(authed_api, token, offset=51) == {"items": [], "total": 51}


@pytest.mark.rules("product-get", "path-id-404", "error-body")
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_product_id_that_names_no_row_is_404(authed_api, bad_id):
    assert_error(authed_api.get(f"/products/{bad_id}"), 404, "not_found")
