import uuid

import pytest


@pytest.fixture
def new_headers(auth_headers, unique):
    """A factory of auth headers, each with a never-used client id (a fresh budget)."""
    return lambda: {**auth_headers, "X-Client-Id": unique("test")}


@pytest.fixture
def headers(new_headers):
    """Auth headers with a client id private to this test (20 requests available)."""
    return new_headers()


@pytest.mark.rules("health-ok", "health-open", "health-not-limited")
def test_health_is_open_and_not_rate_limited(api):
    for _ in range(25):
        r = api.get("/health")
        assert r.status_code == 200
        assert r.json() == {"status": "ok"}


@pytest.mark.rules("auth-required", "error-body")
def test_requests_without_valid_bearer_token_are_rejected(api):
    client_hdr = {"X-Client-Id": f"test-{uuid.uuid4().hex}"}
    cases = [
        ("GET", "/v1/notes", client_hdr),
        ("GET", "/v2/notes", client_hdr),
        ("GET", "/v1/notes", {**client_hdr, "Authorization": "Bearer wrong-secret"}),
        ("GET", "/v2/notes/1", {**client_hdr, "Authorization": "Bearer wrong-secret"}),
    ]
    for method, path, hdrs in cases:
        r = api.request(method, path, headers=hdrs)
        assert r.status_code == 401, (method, path, hdrs)
        assert r.json()["error"]["code"] == "unauthorized"
    r = api.post("/v2/notes", headers=client_hdr, json={"title": "x", "content": "y"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "unauthorized"


@pytest.mark.rules("client-id-required", "error-body")
def test_missing_client_id_is_rejected(api, headers):
    auth_only = {"Authorization": headers["Authorization"]}
    for path in ("/v1/notes", "/v2/notes"):
        r = api.get(path, headers=auth_only)
        assert r.status_code == 400, path
        body = r.json()
        assert body["error"]["code"] == "missing_client_id"
        assert isinstance(body["error"]["message"], str)
    r = api.post("/v1/notes", headers=auth_only, json={"title": "t", "body": "b"})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "missing_client_id"
    r = api.get("/v2/notes", headers={**auth_only, "X-Client-Id": ""})
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "missing_client_id"


@pytest.mark.rules("not-found-404", "error-body")
def test_unknown_note_returns_not_found(api, headers):
    missing = 2_000_000_000 + uuid.uuid4().int % 100_000_000
    # any integer that names no note, one past PostgreSQL's bigint too
    for note_id in (missing, 0, 2**63):
        for version in ("v1", "v2"):
            r = api.get(f"/{version}/notes/{note_id}", headers=headers)
            assert r.status_code == 404, (version, note_id)
            assert r.json()["error"]["code"] == "not_found"


@pytest.mark.rules("validation-422", "title-length", "list-paging", "error-body")
def test_invalid_input_is_rejected_with_validation_error(api, headers):
    bad_requests = [
        ("POST", "/v1/notes", {"title": "", "body": "b"}),
        ("POST", "/v1/notes", {"title": "x" * 201, "body": "b"}),
        ("POST", "/v1/notes", {"title": "no body"}),
        ("POST", "/v2/notes", {"title": 123, "content": "c"}),
        ("POST", "/v2/notes", {"title": "t", "content": "c", "tags": "not-a-list"}),
        ("GET", "/v1/notes?limit=0", None),
        ("GET", "/v2/notes?limit=101", None),
        ("GET", "/v2/notes?offset=-1", None),
    ]
    for method, path, body in bad_requests:
        r = api.request(method, path, headers=headers, json=body)
        assert r.status_code == 422, (method, path, body, r.text)
        err = r.json()["error"]
        assert err["code"] == "validation_error"
        assert isinstance(err["message"], str)
    ok = api.post("/v1/notes", headers=headers, json={"title": "x" * 200, "body": ""})
    assert ok.status_code == 201
