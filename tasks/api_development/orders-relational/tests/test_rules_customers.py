"""Customers: validation at both edges, uniqueness, paging, deletion and the orders listing."""

import pytest

MISSING_ID = 2_000_000_000
BAD_IDS = ["0", "-1", "abc", "1.5", "1e3", "99999999999999999999999", str(MISSING_ID)]


def assert_error(response, status, code):
    assert response.status_code == status, (
        response.request.method,
        response.request.url,
        response.text,
    )
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def new_customer(api, unique, name="Customer"):
    r = api.post("/customers", json={"email": f"{unique('c')}@example.com", "name": name})
    assert r.status_code == 201, r.text
    return r.json()


def stored_emails(db, text):
    """How many customers rows hold `text` in any column (column names are the submission's)."""
    query = "SELECT count(*) FROM customers AS c WHERE strpos(lower(c::text), lower(%s)) > 0"
    return db.execute(query, (text,)).fetchone()[0]


@pytest.mark.rules("customer-create", "customer-get", "ids-positive")
def test_created_customer_is_returned_and_stored_as_sent(authed_api, unique):
    email = f"{unique('ada.love+tag')}@sub.example.co.uk"
    r = authed_api.post("/customers", json={"email": email, "name": "  Ada  Lovelace "})
    assert r.status_code == 201, r.text
    created = r.json()
    assert (
        isinstance(created["id"], int)
        and not isinstance(created["id"], bool)
        and created["id"] >= 1
    )
    assert created == {"id": created["id"], "email": email, "name": "  Ada  Lovelace "}
    assert authed_api.get(f"/customers/{created['id']}").json() == created
    other = new_customer(authed_api, unique)
    assert other["id"] != created["id"]


@pytest.mark.rules("customer-email-shape", "validation-422", "error-body", "parameterized-sql")
def test_email_shape_is_checked_at_both_edges(authed_api, unique, db):
    token = unique("e").replace("-", "")
    accepted = [
        f"{token}a@b.co",
        f"o'brien-{token}@example.com",
        f"{token}@a.b.c.d",
        f"{token}!#$%&*@x.y",
        f"{token};--@ex-ample.com",
    ]
    for email in accepted:
        r = authed_api.post("/customers", json={"email": email, "name": "Edge"})
        assert r.status_code == 201, (email, r.text)
        assert r.json()["email"] == email
    refused = [
        f"{token}",
        f"{token}@",
        f"@{token}.com",
        f"{token}@@example.com",
        f"{token}@ex@ample.com",
        f"{token}@nodot",
        f"{token}@.com",
        f"{token}@example.",
        f"{token}@.",
        f" {token}@example.com",
        f"{token}@example.com ",
        f"{token} x@example.com",
        f"{token}\t@example.com",
        f"{token}@exa\nmple.com",
        f"{token}@example.com\n",
        "",
    ]
    for email in refused:
        r = authed_api.post("/customers", json={"email": email, "name": "Bad"})
        assert_error(r, 422, "validation_error")
    assert stored_emails(db, token) == len(accepted)


@pytest.mark.rules("customer-email-length", "validation-422")
def test_email_of_254_characters_is_accepted_and_255_refused(authed_api, unique):
    domain = "@example.com"
    local = unique("len").replace("-", "")
    email_254 = local + "a" * (254 - len(local) - len(domain)) + domain
    email_255 = "b" + email_254
    assert len(email_254) == 254 and len(email_255) == 255
    assert_error(
        authed_api.post("/customers", json={"email": email_255, "name": "Long"}),
        422,
        "validation_error",
    )
    r = authed_api.post("/customers", json={"email": email_254, "name": "Long"})
    assert r.status_code == 201, r.text
    assert r.json()["email"] == email_254


@pytest.mark.rules("customer-name", "validation-422")
def test_customer_name_is_checked_at_both_edges(authed_api, unique, db):
    for name in ("x", "y" * 200, "日本語の名前"):
        email = f"{unique('name')}@example.com"
        r = authed_api.post("/customers", json={"email": email, "name": name})
        assert r.status_code == 201, (len(name), r.text)
        assert r.json()["name"] == name
    for name in ("", " ", "   \t\n", "z" * 201, None, 12, ["a"]):
        email = f"{unique('name')}@example.com"
        r = authed_api.post("/customers", json={"email": email, "name": name})
        assert_error(r, 422, "validation_error")
        assert stored_emails(db, email) == 0


@pytest.mark.rules("validation-422", "error-body")
def test_customer_body_with_wrong_shape_is_422(authed_api, unique):
    email = f"{unique('shape')}@example.com"
    for kwargs in (
        {"json": {"name": "No Email"}},
        {"json": {"email": email}},
        {"json": {"email": 12345, "name": "Number"}},
        {"json": ["not", "an", "object"]},
        {
            "content": b'{"email": "x@y.z", "name": ',
            "headers": {"Content-Type": "application/json"},
        },
    ):
        assert_error(authed_api.post("/customers", **kwargs), 422, "validation_error")


@pytest.mark.rules("customer-email-unique")
def test_duplicate_email_is_409_and_keeps_the_first_customer(authed_api, unique, db):
    email = f"{unique('dup')}@example.com"
    first = authed_api.post("/customers", json={"email": email, "name": "First"})
    assert first.status_code == 201
    assert_error(
        authed_api.post("/customers", json={"email": email, "name": "Second"}), 409, "conflict"
    )
    assert stored_emails(db, email) == 1
    assert authed_api.get(f"/customers/{first.json()['id']}").json()["name"] == "First"


@pytest.mark.rules("customer-list", "customer-paging")
def test_customer_list_is_by_id_with_total_before_paging(authed_api, unique):
    total_before = authed_api.get("/customers", params={"limit": 1}).json()["total"]
    mine = [new_customer(authed_api, unique, name=f"List {n}") for n in range(3)]
    first_page = authed_api.get("/customers", params={"limit": 2, "offset": total_before})
    assert first_page.status_code == 200
    page = first_page.json()
    assert page["total"] == total_before + 3
    assert page["items"] == mine[:2]
    page = authed_api.get("/customers", params={"limit": 2, "offset": total_before + 2}).json()
    assert page["items"] == mine[2:]
    assert page["total"] == total_before + 3
    assert authed_api.get("/customers", params={"offset": total_before + 3}).json()["items"] == []
    everyone = authed_api.get(
        "/customers", params={"limit": 100, "offset": max(0, total_before - 97)}
    ).json()
    ids = [c["id"] for c in everyone["items"]]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


@pytest.mark.rules("customer-paging", "customer-list")
def test_customer_list_defaults_to_50_from_offset_0(authed_api, unique):
    total = authed_api.get("/customers", params={"limit": 1}).json()["total"]
    for _ in range(max(0, 51 - total)):
        new_customer(authed_api, unique)
    default = authed_api.get("/customers").json()
    assert len(default["items"]) == 50
    assert (
        default["items"]
        == authed_api.get("/customers", params={"limit": 50, "offset": 0}).json()["items"]
    )
    assert (
        authed_api.get("/customers", params={"limit": 100}).json()["items"][:50] == default["items"]
    )


@pytest.mark.rules("customer-paging", "product-paging", "validation-422", "error-body")
@pytest.mark.parametrize("path", ["/customers", "/products"])
def test_limit_and_offset_are_checked_at_both_edges(authed_api, path):
    for params in ({"limit": 1}, {"limit": 100}, {"offset": 0}, {"limit": 1, "offset": 1}):
        r = authed_api.get(path, params=params)
        assert r.status_code == 200, (params, r.text)
        assert len(r.json()["items"]) <= params.get("limit", 50)
    for params in (
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"offset": -1},
        {"limit": "ten"},
        {"offset": "x"},
        {"limit": "1.5"},
    ):
        assert_error(authed_api.get(path, params=params), 422, "validation_error")


@pytest.mark.rules(
    "customer-get", "customer-delete", "customer-orders", "path-id-404", "error-body"
)
@pytest.mark.parametrize("bad_id", BAD_IDS)
def test_customer_paths_with_an_id_that_names_no_row_are_404(authed_api, bad_id):
    assert_error(authed_api.get(f"/customers/{bad_id}"), 404, "not_found")
    assert_error(authed_api.delete(f"/customers/{bad_id}"), 404, "not_found")
    assert_error(authed_api.get(f"/customers/{bad_id}/orders"), 404, "not_found")


@pytest.mark.rules("customer-delete")
def test_delete_customer_answers_204_without_body_and_removes_it(authed_api, unique, db):
    customer = new_customer(authed_api, unique)
    keep = new_customer(authed_api, unique)
    r = authed_api.delete(f"/customers/{customer['id']}")
    assert r.status_code == 204
    assert r.content == b""
    assert_error(authed_api.get(f"/customers/{customer['id']}"), 404, "not_found")
    assert_error(authed_api.delete(f"/customers/{customer['id']}"), 404, "not_found")
    assert stored_emails(db, customer["email"]) == 0
    assert authed_api.get(f"/customers/{keep['id']}").json() == keep
    again = authed_api.post("/customers", json={"email": customer["email"], "name": "Back"})
    assert again.status_code == 201


@pytest.mark.rules("customer-delete-conflict", "db-foreign-keys")
def test_delete_customer_with_orders_is_409_and_keeps_customer_and_orders(authed_api, unique, db):
    customer = new_customer(authed_api, unique)
    product = authed_api.post(
        "/products", json={"name": unique("del"), "price": 3, "stock": 5}
    ).json()
    order = authed_api.post(
        "/orders",
        json={
            "customer_id": customer["id"],
            "items": [{"product_id": product["id"], "quantity": 2}],
        },
    ).json()
    assert_error(authed_api.delete(f"/customers/{customer['id']}"), 409, "conflict")
    assert authed_api.get(f"/customers/{customer['id']}").json() == customer
    assert authed_api.get(f"/orders/{order['id']}").json() == order
    assert authed_api.get(f"/customers/{customer['id']}/orders").json()["items"] == [order]
    assert stored_emails(db, customer["email"]) == 1
    assert authed_api.get(f"/products/{product['id']}").json()["stock"] == 3


@pytest.mark.rules("customer-orders")
def test_customer_orders_list_holds_only_that_customers_orders(authed_api, unique):
    alice = new_customer(authed_api, unique)
    bob = new_customer(authed_api, unique)
    product = authed_api.post(
        "/products", json={"name": unique("own"), "price": 1.25, "stock": 10}
    ).json()

    def place(customer, quantity):
        r = authed_api.post(
            "/orders",
            json={
                "customer_id": customer["id"],
                "items": [{"product_id": product["id"], "quantity": quantity}],
            },
        )
        assert r.status_code == 201, r.text
        return r.json()

    alices = [place(alice, 1), place(alice, 2)]
    bobs = [place(bob, 3)]
    listed = authed_api.get(f"/customers/{alice['id']}/orders").json()
    assert listed["total"] == 2
    assert listed["items"] == list(reversed(alices))
    listed = authed_api.get(f"/customers/{bob['id']}/orders").json()
    assert listed == {"items": bobs, "total": 1}
    empty = new_customer(authed_api, unique)
    assert authed_api.get(f"/customers/{empty['id']}/orders").json() == {"items": [], "total": 0}
