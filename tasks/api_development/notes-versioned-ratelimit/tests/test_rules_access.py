"""Authentication, client id, the order of the checks and the error body, on every operation."""

import pytest

MISSING_ID = 2_100_000_000

# Every operation under /v1 and /v2: (method, path, JSON body)
OPERATIONS = [
    ("POST", "/v1/notes", {"title": "t", "body": "b"}),
    ("GET", "/v1/notes", None),
    ("GET", f"/v1/notes/{MISSING_ID}", None),
    ("POST", "/v2/notes", {"title": "t", "content": "c", "tags": []}),
    ("GET", "/v2/notes", None),
    ("GET", f"/v2/notes/{MISSING_ID}", None),
]


def assert_error(response, status, code):
    assert response.status_code == status, (response.request.url, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)


def wrong_tokens(secret):
    """Authorization values that must all be refused."""
    values = [
        None,
        "",
        "Bearer",
        f"Basic {secret}",
        f"Bearer {secret}x",
        f"Bearer x{secret}",
        secret,
    ]
    if len(secret) > 1:
        values.append(f"Bearer {secret[:-1]}")
    if secret.swapcase() != secret:
        values.append(f"Bearer {secret.swapcase()}")
    return values


@pytest.mark.rules("auth-required", "error-body")
@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_every_operation_requires_the_bearer_token(api, app_secret, unique, method, path, body):
    for value in wrong_tokens(app_secret):
        headers = {"X-Client-Id": unique("client")}
        if value is not None:
            headers["Authorization"] = value
        r = api.request(method, path, headers=headers, json=body)
        assert_error(r, 401, "unauthorized")


@pytest.mark.rules("auth-required", "refused-not-created")
def test_unauthenticated_creates_store_nothing(api, authed_api, app_secret, unique):
    title = unique("unauth")
    for version, body in (
        ("v1", {"title": title, "body": "b"}),
        ("v2", {"title": title, "content": "c"}),
    ):
        for value in (None, f"Bearer {app_secret}x"):
            headers = {"X-Client-Id": unique("client")}
            if value is not None:
                headers["Authorization"] = value
            assert api.post(f"/{version}/notes", headers=headers, json=body).status_code == 401
    r = authed_api.get("/v2/notes", headers={"X-Client-Id": unique("reader")}, params={"q": title})
    assert r.status_code == 200
    assert r.json()["meta"]["total"] == 0


@pytest.mark.rules("client-id-required", "error-body", "refused-not-created")
@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_every_operation_requires_a_client_id(authed_api, unique, method, path, body):
    marked = None
    if body is not None:
        marked = {**body, "title": unique("no-client")}
    for headers in ({}, {"X-Client-Id": ""}):
        r = authed_api.request(method, path, headers=headers, json=marked)
        assert_error(r, 400, "missing_client_id")
    if marked is not None:
        reader = {"X-Client-Id": unique("reader")}
        r = authed_api.get("/v2/notes", headers=reader, params={"q": marked["title"]})
        assert r.json()["meta"]["total"] == 0


@pytest.mark.rules("check-order")
def test_authentication_is_checked_before_the_client_id(api, app_secret):
    for method, path, body in OPERATIONS:
        assert_error(api.request(method, path, json=body), 401, "unauthorized")
        wrong = {"Authorization": f"Bearer {app_secret}-not", "X-Client-Id": ""}
        assert_error(api.request(method, path, headers=wrong, json=body), 401, "unauthorized")


@pytest.mark.rules("check-order")
def test_client_id_is_checked_before_the_endpoint(authed_api):
    invalid = [
        ("POST", "/v1/notes", {"title": ""}),
        ("POST", "/v2/notes", {"title": 5, "content": None}),
        ("GET", "/v1/notes?limit=0", None),
        ("GET", "/v2/notes?offset=-1", None),
        ("GET", f"/v1/notes/{MISSING_ID}", None),
        ("GET", f"/v2/notes/{MISSING_ID}", None),
    ]
    for method, path, body in invalid:
        assert_error(authed_api.request(method, path, json=body), 400, "missing_client_id")


@pytest.mark.rules("refused-not-counted", "rl-remaining-count")
def test_refused_requests_do_not_use_the_budget(api, authed_api, app_secret, unique):
    client = unique("client")
    for method, path, body in OPERATIONS:
        for value in (None, f"Bearer {app_secret}x"):
            headers = {"X-Client-Id": client}
            if value is not None:
                headers["Authorization"] = value
            assert api.request(method, path, headers=headers, json=body).status_code == 401
    r = authed_api.get("/v1/notes", headers={"X-Client-Id": client}, params={"limit": 1})
    assert r.status_code == 200
    assert r.headers.get("X-RateLimit-Remaining") == "19"


@pytest.mark.rules("health-ok", "health-open", "health-not-limited")
def test_health_needs_no_credentials_and_is_never_limited(api, authed_api, unique):
    client = unique("client")
    for i in range(22):
        headers = {"X-Client-Id": client} if i % 2 else {}
        r = (authed_api if i % 3 else api).get("/health", headers=headers)
        assert r.status_code == 200
        assert r.json() == {"status": "ok"}
    r = authed_api.get("/v1/notes", headers={"X-Client-Id": client}, params={"limit": 1})
    assert r.headers.get("X-RateLimit-Remaining") == "19"
