"""The CORS policy: the exact allow-list, the headers of every answer, and the preflights."""

from __future__ import annotations

import pytest
from bookmarks_api import (
    ALLOWED_ORIGINS,
    NEAR_MISSES,
    assert_allowed,
    assert_error,
    assert_no_cors,
    cors_headers,
    new_bookmark,
    preflight,
    read_bookmark,
    tokens,
    varies_on_origin,
)

PREFLIGHT_PATHS = ["/v1/bookmarks", "/v1/bookmarks/1", "/health", "/v1/no-such-route"]


def assert_preflight_accepted(response, origin):
    """204, empty body, and exactly the stated values."""
    assert response.status_code == 204, (response.status_code, response.text)
    assert response.content == b""
    h = response.headers
    assert h.get("access-control-allow-origin") == origin, dict(h)
    assert h.get("access-control-allow-credentials") == "true", dict(h)
    assert tokens(h.get("access-control-allow-methods"), lower=False) == {"GET", "POST", "DELETE"}
    assert tokens(h.get("access-control-allow-headers")) == {"authorization", "content-type"}
    assert h.get("access-control-max-age") == "600", dict(h)
    assert varies_on_origin(response), dict(h)


def assert_preflight_refused(response):
    assert_error(response, 403, "cors_rejected")
    assert_no_cors(response)


@pytest.mark.rules("allowed-origins", "allowed-answer-headers")
@pytest.mark.parametrize("origin", ALLOWED_ORIGINS)
def test_allowed_origins_are_echoed_with_credentials_on_every_operation(
    api, authed_api, unique, origin
):
    headers = {"Origin": origin}
    bookmark = new_bookmark(authed_api, unique)
    created = authed_api.post(
        "/v1/bookmarks", json={"url": "https://x.example/", "title": unique("t")}, headers=headers
    )
    assert created.status_code == 201
    for response in (
        api.get("/health", headers=headers),
        api.get("/v1/bookmarks", headers=headers),
        api.get(f"/v1/bookmarks/{bookmark['id']}", headers=headers),
        created,
        authed_api.delete(f"/v1/bookmarks/{bookmark['id']}", headers=headers),
    ):
        assert_allowed(response, origin)
        assert response.headers["access-control-allow-origin"] != "*"


@pytest.mark.rules("allowed-answer-headers", "allowed-on-errors")
def test_allowed_origin_headers_are_on_error_answers_too(api, authed_api):
    origin = ALLOWED_ORIGINS[1]
    headers = {"Origin": origin}
    unauthorized = api.post("/v1/bookmarks", json={"url": "https://x.example", "title": "t"},
                            headers=headers)  # fmt: skip
    assert_error(unauthorized, 401, "unauthorized")
    assert_allowed(unauthorized, origin)
    missing = api.get("/v1/bookmarks/3999999999", headers=headers)
    assert_error(missing, 404, "not_found")
    assert_allowed(missing, origin)
    invalid = authed_api.post("/v1/bookmarks", json={"url": "ftp://x", "title": "t"},
                              headers=headers)  # fmt: skip
    assert_error(invalid, 422, "validation_error")
    assert_allowed(invalid, origin)
    bad_limit = api.get("/v1/bookmarks?limit=0", headers=headers)
    assert_error(bad_limit, 422, "validation_error")
    assert_allowed(bad_limit, origin)


@pytest.mark.rules("allowed-origins", "foreign-no-cors-headers")
@pytest.mark.parametrize("origin", NEAR_MISSES)
def test_a_near_miss_origin_gets_no_cors_header(api, authed_api, unique, origin):
    headers = {"Origin": origin}
    bookmark = new_bookmark(authed_api, unique)
    assert_no_cors(api.get("/v1/bookmarks", headers=headers))
    assert_no_cors(api.get(f"/v1/bookmarks/{bookmark['id']}", headers=headers))
    assert_no_cors(api.get("/health", headers=headers))
    created = authed_api.post(
        "/v1/bookmarks", json={"url": "https://x.example/", "title": unique("t")}, headers=headers
    )
    assert created.status_code == 201
    assert_no_cors(created)
    assert_no_cors(api.delete(f"/v1/bookmarks/{bookmark['id']}", headers=headers))


@pytest.mark.rules("foreign-no-cors-headers")
def test_a_request_without_origin_gets_no_cors_header(api, authed_api, unique):
    bookmark = new_bookmark(authed_api, unique)
    assert_no_cors(api.get("/v1/bookmarks"))
    assert_no_cors(api.get(f"/v1/bookmarks/{bookmark['id']}"))
    assert_no_cors(api.get("/v1/bookmarks/3999999999"))
    response = authed_api.delete(f"/v1/bookmarks/{bookmark['id']}")
    assert response.status_code == 204
    assert_no_cors(response)


@pytest.mark.rules("foreign-served-same", "write-401-any-body")
@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://app.example.com"])
def test_a_foreign_origin_is_served_as_without_origin(api, authed_api, unique, origin):
    headers = {"Origin": origin}
    bookmark = new_bookmark(authed_api, unique)
    url = f"/v1/bookmarks/{bookmark['id']}"
    assert api.get(url, headers=headers).json() == api.get(url).json() == bookmark
    # a write with the token is served; one without it is refused, as without an Origin
    title = unique("foreign")
    created = authed_api.post("/v1/bookmarks", json={"url": "https://x.example/", "title": title},
                              headers=headers)  # fmt: skip
    assert created.status_code == 201, created.text
    assert read_bookmark(api, created.json()["id"])["title"] == title
    assert_error(api.delete(url, headers=headers), 401, "unauthorized")
    assert read_bookmark(api, bookmark["id"]) == bookmark
    deleted = authed_api.delete(url, headers=headers)
    assert deleted.status_code == 204 and deleted.content == b""
    assert read_bookmark(api, bookmark["id"]) is None


@pytest.mark.rules("vary-origin")
@pytest.mark.parametrize("origin", [None, ALLOWED_ORIGINS[0], "https://evil.example", "null"])
def test_every_answer_varies_on_origin(api, authed_api, unique, origin):
    headers = {"Origin": origin} if origin else {}
    bookmark = new_bookmark(authed_api, unique)
    answers = [
        api.get("/health", headers=headers),
        api.get("/v1/bookmarks", headers=headers),
        api.get(f"/v1/bookmarks/{bookmark['id']}", headers=headers),
        api.get("/v1/bookmarks/3999999999", headers=headers),
        api.post("/v1/bookmarks", json={}, headers=headers),
        authed_api.post("/v1/bookmarks", json={"url": "https://x.example", "title": unique("v")},
                        headers=headers),  # fmt: skip
        authed_api.delete(f"/v1/bookmarks/{bookmark['id']}", headers=headers),
        preflight(api, "/v1/bookmarks", origin, "POST"),
        preflight(api, "/v1/bookmarks", origin, "PUT"),
    ]
    for response in answers:
        assert varies_on_origin(response), (response.request.method, response.request.url,
                                            response.status_code, dict(response.headers))  # fmt: skip


@pytest.mark.rules("preflight-accepted", "preflight-any-path")
@pytest.mark.parametrize("origin", ALLOWED_ORIGINS)
@pytest.mark.parametrize("method", ["GET", "POST", "DELETE"])
def test_a_preflight_of_an_allowed_origin_and_method_is_accepted_on_any_path(api, origin, method):
    for path in PREFLIGHT_PATHS:
        assert_preflight_accepted(preflight(api, path, origin, method), origin)


@pytest.mark.rules("preflight-accepted", "preflight-request-headers")
@pytest.mark.parametrize(
    "request_headers",
    [None, "", "Authorization", "content-type", "Content-Type,Authorization",
     "AUTHORIZATION ,  content-TYPE", "authorization,authorization"],
)  # fmt: skip
def test_preflight_request_headers_are_compared_case_insensitively(api, request_headers):
    origin = ALLOWED_ORIGINS[0]
    response = preflight(api, "/v1/bookmarks", origin, "POST", request_headers)
    assert_preflight_accepted(response, origin)


@pytest.mark.rules("preflight-refused-origin", "allowed-origins")
@pytest.mark.parametrize("origin", NEAR_MISSES)
def test_a_preflight_from_any_other_origin_is_refused(api, origin):
    for method in ("GET", "POST", "DELETE"):
        assert_preflight_refused(preflight(api, "/v1/bookmarks", origin, method))
    assert_preflight_refused(preflight(api, "/v1/bookmarks/1", origin, "DELETE"))


@pytest.mark.rules("preflight-refused-method")
@pytest.mark.parametrize("method", ["PUT", "PATCH", "HEAD", "TRACE", "CONNECT", "PROPFIND"])
def test_a_preflight_for_another_method_is_refused(api, method):
    for origin in ALLOWED_ORIGINS:
        assert_preflight_refused(preflight(api, "/v1/bookmarks/1", origin, method))
        assert_preflight_refused(preflight(api, "/v1/bookmarks", origin, method, None))


@pytest.mark.rules("preflight-refused-header")
@pytest.mark.parametrize(
    "request_headers",
    ["x-requested-with", "authorization, x-custom", "content-type,cookie", "authorization-x",
     "x-authorization", "content-type, content-length"],
)  # fmt: skip
def test_a_preflight_for_another_request_header_is_refused(api, request_headers):
    for origin in ALLOWED_ORIGINS:
        response = preflight(api, "/v1/bookmarks", origin, "POST", request_headers)
        assert_preflight_refused(response)


@pytest.mark.rules("preflight-no-credentials")
def test_a_preflight_needs_no_credentials_and_changes_nothing(api, client_factory, authed_api, unique):
    bookmark = new_bookmark(authed_api, unique)
    path = f"/v1/bookmarks/{bookmark['id']}"
    origin = ALLOWED_ORIGINS[0]
    wrong = client_factory(headers={"Authorization": "Bearer not-the-secret"})
    for client in (api, wrong, authed_api):
        assert_preflight_accepted(preflight(client, path, origin, "DELETE"), origin)
        assert_preflight_accepted(preflight(client, "/v1/bookmarks", origin, "POST"), origin)
    assert read_bookmark(api, bookmark["id"]) == bookmark


@pytest.mark.rules("options-not-preflight")
def test_an_options_request_that_is_not_a_preflight_is_405(api):
    # without Access-Control-Request-Method: the headers of any other answer
    allowed = preflight(api, "/v1/bookmarks", ALLOWED_ORIGINS[0], None, None)
    assert_error(allowed, 405, "method_not_allowed")
    assert_allowed(allowed, ALLOWED_ORIGINS[0])
    foreign = preflight(api, "/v1/bookmarks", "https://evil.example", None, None)
    assert_error(foreign, 405, "method_not_allowed")
    assert_no_cors(foreign)
    # without Origin
    bare = preflight(api, "/v1/bookmarks/1", None, "DELETE")
    assert_error(bare, 405, "method_not_allowed")
    assert cors_headers(bare) == {}
    assert varies_on_origin(bare)
