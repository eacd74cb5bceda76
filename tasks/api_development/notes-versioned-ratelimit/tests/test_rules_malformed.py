"""Malformed requests: what the prompt settles for path ids, bytes, sizes and content types.

Every test uses client ids of its own, far below the 20 requests of a window."""

import json

import pytest

# not a whole number from 1 to 2**63 - 1: each names no note ({id} is a note that exists)
MALFORMED_IDS = [
    "abc", "1.5", "null%2Cnull", "0", "-1", "9223372036854775808", "1e3", "{id}.5", "{id}abc",
]  # fmt: skip
MiB = 1024 * 1024
BODIES = {
    "v1": lambda title: {"title": title, "body": "b"},
    "v2": lambda title: {"title": title, "content": "c", "tags": ["t"]},
}


@pytest.fixture
def fresh(auth_headers, unique):
    """fresh() -> headers with a never-used client id (a full budget of 20)."""
    return lambda: {**auth_headers, "X-Client-Id": unique("client")}


def assert_error(response, status, code):
    assert response.status_code == status, (response.request.url, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)


def assert_no_such_note(response):
    """404 not_found or 422 validation_error: the prompt accepts either."""
    assert response.status_code in (404, 422), (response.request.url, response.text)
    code = "not_found" if response.status_code == 404 else "validation_error"
    assert_error(response, response.status_code, code)


def total_titled(api, fresh, title):
    r = api.get("/v2/notes", headers=fresh(), params={"q": title})
    assert r.status_code == 200, r.text
    return r.json()["meta"]["total"]


@pytest.mark.rules("malformed-path-id")
@pytest.mark.parametrize("bad_id", MALFORMED_IDS)
def test_a_malformed_path_id_names_no_note(api, fresh, unique, bad_id):
    headers = fresh()
    created = api.post("/v2/notes", headers=headers, json=BODIES["v2"](unique("id")))
    assert created.status_code == 201, created.text
    bad_id = bad_id.format(id=created.json()["id"])
    for version in ("v1", "v2"):
        assert_no_such_note(api.get(f"/{version}/notes/{bad_id}", headers=headers))


@pytest.mark.rules("invalid-utf8-query", "list-paging", "validation-422")
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_query_value_that_is_not_utf8_is_refused_or_read_with_replacements(api, fresh, version):
    headers = fresh()
    response = api.get(f"/{version}/notes?q=%FF%FE", headers=headers)
    if response.status_code != 200:
        assert_error(response, 422, "validation_error")
    elif version == "v1":
        assert isinstance(response.json(), list)
    else:
        assert set(response.json()) == {"data", "meta"}
    # read with replacement characters, no limit or offset is an integer: a 422 either way
    assert_error(api.get(f"/{version}/notes?limit=%FF", headers=headers), 422, "validation_error")
    assert_error(api.get(f"/{version}/notes?offset=%FF", headers=headers), 422, "validation_error")


def post_raw(client_factory, headers, version, content: bytes, content_type: str):
    """POST /{version}/notes on a connection of its own, closed after: a server may close a
    connection whose body it did not read, and no other request may depend on it."""
    with client_factory(headers={**headers, "Content-Type": content_type}) as client:
        return client.post(f"/{version}/notes", content=content)


@pytest.mark.rules("oversized-body", "invalid-not-created")
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_a_body_over_1_mib_is_refused_or_handled_like_any_other(
    api, client_factory, fresh, unique, version
):
    title = unique("big")
    # a valid note padded with whitespace: still valid JSON, just over 1 MiB
    body = json.dumps(BODIES[version](title)).encode() + b" " * (MiB + 1024)
    response = post_raw(client_factory, fresh(), version, body, "application/json")
    assert response.status_code in (201, 413, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    assert total_titled(api, fresh, title) == (1 if response.status_code == 201 else 0)
    assert api.get("/health").status_code == 200


@pytest.mark.rules("content-type", "invalid-not-created", "v1-get", "v2-get")
@pytest.mark.parametrize("version", ["v1", "v2"])
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_json_body_of_another_content_type_is_refused_or_read_as_json(
    api, client_factory, fresh, unique, version, content_type
):
    title = unique("ctype")
    body = json.dumps(BODIES[version](title)).encode()
    response = post_raw(client_factory, fresh(), version, body, content_type)
    assert response.status_code in (201, 415, 422), response.text[:300]
    if response.status_code == 422:
        assert_error(response, 422, "validation_error")
    if response.status_code == 201:
        stored = api.get(f"/{version}/notes/{response.json()['id']}", headers=fresh())
        assert stored.status_code == 200 and stored.json() == response.json()
        assert stored.json()["title"] == title
    assert total_titled(api, fresh, title) == (1 if response.status_code == 201 else 0)
