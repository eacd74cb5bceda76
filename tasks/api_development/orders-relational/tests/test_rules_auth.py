"""Bearer authentication on every operation, checked before anything else, changing nothing."""

import pytest

# every operation but GET /health; {customer}, {product} and {order} are ids that exist
OPERATIONS = [
    ("GET", "/customers", None),
    ("POST", "/customers", "customer"),
    ("GET", "/customers/{customer}", None),
    ("DELETE", "/customers/{customer}", None),
    ("GET", "/customers/{customer}/orders", None),
    ("GET", "/products", None),
    ("POST", "/products", "product"),
    ("GET", "/products/{product}", None),
    ("POST", "/orders", "order"),
    ("GET", "/orders/{order}", None),
]


def error_code(response):
    return response.json()["error"]["code"]


def assert_unauthorized(response):
    assert response.status_code == 401, (
        response.request.method,
        response.request.url,
        response.text,
    )
    body = response.json()
    assert body["error"]["code"] == "unauthorized"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


@pytest.fixture
def world(authed_api, unique):
    """A customer who has no order, a second one who has, and the product of that order."""
    spare = authed_api.post(
        "/customers", json={"email": f"{unique('auth')}@example.com", "name": "Spare"}
    )
    buyer = authed_api.post(
        "/customers", json={"email": f"{unique('auth')}@example.com", "name": "Buyer"}
    )
    product = authed_api.post("/products", json={"name": unique("auth"), "price": 2.5, "stock": 10})
    assert spare.status_code == buyer.status_code == product.status_code == 201
    order = authed_api.post(
        "/orders",
        json={
            "customer_id": buyer.json()["id"],
            "items": [{"product_id": product.json()["id"], "quantity": 1}],
        },
    )
    assert order.status_code == 201, order.text
    return {
        "customer": spare.json()["id"],
        "buyer": buyer.json()["id"],
        "product": product.json()["id"],
        "order": order.json()["id"],
    }


def bad_credentials(secret):
    return [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {secret}x"},
        {"Authorization": f"Bearer {secret[:-1]}"},
        {"Authorization": secret},
        {"Authorization": f"Basic {secret}"},
    ]


@pytest.mark.rules("auth-required", "auth-first", "error-body")
@pytest.mark.parametrize("method,path,body", OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_operation_refuses_missing_or_wrong_token(
    method, path, body, world, api, authed_api, app_secret, unique
):
    email = f"{unique('anon')}@example.com"
    name = unique("anon")
    bodies = {
        "customer": {"email": email, "name": "Anonymous"},
        "product": {"name": name, "price": 1, "stock": 1},
        "order": {
            "customer_id": world["customer"],
            "items": [{"product_id": world["product"], "quantity": 1}],
        },
    }
    url = path.format(**world)
    for headers in bad_credentials(app_secret):
        kwargs = {"headers": headers}
        if body:
            kwargs["json"] = bodies[body]
        assert_unauthorized(api.request(method, url, **kwargs))
    # the refused requests changed nothing
    assert authed_api.get(f"/customers/{world['customer']}").status_code == 200
    assert authed_api.get(f"/customers/{world['customer']}/orders").json()["total"] == 0
    assert authed_api.get(f"/products/{world['product']}").json()["stock"] == 9
    assert authed_api.get("/products", params={"name": name}).json()["total"] == 0
    assert authed_api.post("/customers", json={"email": email, "name": "Real"}).status_code == 201


@pytest.mark.rules("auth-first", "auth-required")
def test_token_is_checked_before_validation_and_lookup(api, world):
    refused = [
        api.post("/customers", content=b"{not json", headers={"Content-Type": "application/json"}),
        api.post("/customers", json={"email": "not-an-email", "name": ""}),
        api.post("/products", json={"name": "", "price": -1, "stock": -1}),
        api.post("/orders", json={"customer_id": "x", "items": []}),
        api.post(
            "/orders",
            json={
                "customer_id": 2_000_000_000,
                "items": [{"product_id": 2_000_000_000, "quantity": 1}],
            },
        ),
        api.get("/customers", params={"limit": 0}),
        api.get("/products", params={"offset": -1, "name": "x" * 300}),
        api.get("/customers/not-an-id"),
        api.get("/customers/2000000000/orders"),
        api.delete("/customers/0"),
        api.get("/products/-5"),
        api.get("/orders/2000000000"),
    ]
    for response in refused:
        assert_unauthorized(response)


@pytest.mark.rules("health-open")
def test_health_answers_ok_without_token(api):
    r = api.get("/health")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}
    r = api.get("/health", headers={"Authorization": "Bearer wrong-token"})
    assert r.status_code == 200
