"""Bearer authentication on every operation, checked before anything else, changing nothing."""

import pytest

# every operation but GET /health; {a} and {t} are an account and a transfer that exist
OPERATIONS = [
    ("POST", "/accounts", "account"),
    ("GET", "/accounts/{a}", None),
    ("GET", "/accounts/{a}/transfers", None),
    ("POST", "/transfers", "transfer"),
    ("GET", "/transfers/{t}", None),
]


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
    """Two accounts with money and one transfer between them."""
    a = authed_api.post("/accounts", json={"owner": unique("auth"), "balance": 1000})
    b = authed_api.post("/accounts", json={"owner": unique("auth"), "balance": 1000})
    assert a.status_code == b.status_code == 201, (a.text, b.text)
    t = authed_api.post(
        "/transfers",
        json={"from_account_id": a.json()["id"], "to_account_id": b.json()["id"], "amount": 10},
    )
    assert t.status_code == 201, t.text
    return {"a": a.json()["id"], "b": b.json()["id"], "t": t.json()["id"]}


def balances(db, *ids):
    rows = db.execute(
        "SELECT id, balance FROM accounts WHERE id = ANY(%s)", (list(ids),)
    ).fetchall()
    return dict(rows)


@pytest.mark.rules("health-open")
def test_health_answers_ok_without_a_token(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("auth-required", "error-body")
def test_every_operation_refuses_a_missing_or_wrong_token(
    api, client_factory, app_secret, unique, world, db
):
    intruder = unique("mallory")
    wrong = [
        {},
        {"Authorization": "Bearer wrong-" + app_secret[:4]},
        {"Authorization": f"Bearer {app_secret}x"},
        {"Authorization": app_secret},
        {"Authorization": f"Basic {app_secret}"},
    ]
    before = balances(db, world["a"], world["b"])
    for headers in wrong:
        client = client_factory(headers=headers)
        for method, path, body in OPERATIONS:
            if body == "transfer":
                body = {"from_account_id": world["a"], "to_account_id": world["b"], "amount": 1}
            elif body == "account":
                body = {"owner": intruder, "balance": 5}
            assert_unauthorized(client.request(method, path.format(**world), json=body))
    assert balances(db, world["a"], world["b"]) == before
    assert db.scalar("SELECT count(*) FROM accounts WHERE owner = %s", (intruder,)) == 0
    touching = "SELECT count(*) FROM transfers WHERE from_account_id = ANY(%(ids)s) OR to_account_id = ANY(%(ids)s)"
    assert db.scalar(touching, {"ids": [world["a"], world["b"]]}) == 1


@pytest.mark.rules("auth-first")
def test_token_is_checked_before_validation_and_lookup(api, world, db):
    before = balances(db, world["a"], world["b"])
    cases = [
        ("POST", "/accounts", {"owner": ""}),
        ("POST", "/accounts", {"owner": "x", "balance": -1}),
        ("GET", "/accounts/abc", None),
        ("GET", "/accounts/999999999999", None),
        ("GET", "/accounts/999999999999/transfers", None),
        ("GET", "/transfers/0", None),
        ("POST", "/transfers", {"from_account_id": world["a"], "to_account_id": world["a"], "amount": 1}),
        ("POST", "/transfers", {"from_account_id": world["a"], "to_account_id": 999999999999, "amount": 1}),
        ("POST", "/transfers", {"from_account_id": world["a"], "to_account_id": world["b"], "amount": 10**9}),
        ("POST", "/transfers", {"from_account_id": world["a"], "to_account_id": world["b"], "amount": 1.0}),
    ]
    for method, path, body in cases:
        assert_unauthorized(api.request(method, path, json=body))
    response = api.post("/transfers", content=b"{not json", headers={"Content-Type": "application/json"})
    assert_unauthorized(response)
    assert balances(db, world["a"], world["b"]) == before
