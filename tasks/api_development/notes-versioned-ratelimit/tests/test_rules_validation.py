"""Field and query limits on both sides of every boundary; a refused create stores nothing."""

import pytest


@pytest.fixture
def fresh(auth_headers, unique):
    """fresh() -> headers with a never-used client id (a full budget of 20)."""
    return lambda: {**auth_headers, "X-Client-Id": unique("client")}


def assert_invalid(response):
    assert response.status_code == 422, (response.request.url, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == "validation_error"
    assert isinstance(body["error"]["message"], str)


def total_titled(api, fresh, title):
    r = api.get("/v2/notes", headers=fresh(), params={"q": title})
    assert r.status_code == 200
    return r.json()["meta"]["total"]


@pytest.mark.rules(
    "title-length", "text-length", "v1-create", "validation-422", "invalid-not-created"
)
def test_v1_create_field_bounds(api, fresh, unique):
    tag = unique("v1b")
    accepted = [
        {"title": "a", "body": ""},
        {"title": (tag + "x" * 200)[:200], "body": "y" * 10000},
    ]
    for payload in accepted:
        r = api.post("/v1/notes", headers=fresh(), json=payload)
        assert r.status_code == 201, (payload["title"], r.text)
        assert r.json()["body"] == payload["body"]
        assert r.json()["title"] == payload["title"]
    refused = [
        {"title": "", "body": tag},
        {"title": tag + "x" * (201 - len(tag)), "body": "b"},
        {"title": tag, "body": "y" * 10001},
        {"title": tag},
        {"body": tag},
        {"title": tag, "body": None},
        {"title": tag, "body": 5},
        {"title": tag, "body": ["b"]},
        {"title": 12, "body": tag},
        {"title": None, "body": tag},
    ]
    headers = fresh()
    for payload in refused:
        assert_invalid(api.post("/v1/notes", headers=headers, json=payload))
    assert total_titled(api, fresh, tag) == 1


@pytest.mark.rules(
    "title-length",
    "text-length",
    "tags-limits",
    "v2-create",
    "validation-422",
    "invalid-not-created",
)
def test_v2_create_field_bounds(api, fresh, unique):
    tag = unique("v2b")
    accepted = [
        {"title": "a", "content": ""},
        {"title": (tag + "x" * 200)[:200], "content": "y" * 10000, "tags": ["a", "b" * 50]},
        {"title": tag + " twenty", "content": "c", "tags": [f"t{i}" for i in range(20)]},
    ]
    for payload in accepted:
        r = api.post("/v2/notes", headers=fresh(), json=payload)
        assert r.status_code == 201, (payload["title"], r.text)
        note = r.json()
        assert note["content"] == payload["content"]
        assert note["tags"] == payload.get("tags", [])
    refused = [
        {"title": "", "content": tag},
        {"title": tag + "x" * (201 - len(tag)), "content": "c"},
        {"title": tag, "content": "y" * 10001},
        {"title": tag},
        {"content": tag},
        {"title": tag, "content": 7},
        {"title": tag, "content": "c", "tags": [f"t{i}" for i in range(21)]},
        {"title": tag, "content": "c", "tags": [""]},
        {"title": tag, "content": "c", "tags": ["x" * 51]},
        {"title": tag, "content": "c", "tags": [1]},
        {"title": tag, "content": "c", "tags": "a,b"},
        {"title": tag, "content": "c", "tags": ["ok", None]},
    ]
    headers = fresh()
    for payload in refused:
        assert_invalid(api.post("/v2/notes", headers=headers, json=payload))
    assert total_titled(api, fresh, tag) == 2


@pytest.mark.rules("validation-422", "invalid-not-created")
def test_bad_json_bodies_are_validation_errors(api, fresh, unique):
    title = unique("json")
    bodies = [
        b"{not json",
        b"",
        f'{{"title": "{title}", "body": "b"'.encode(),
        f'[{{"title": "{title}", "body": "b"}}]'.encode(),
        b'"just a string"',
    ]
    headers = {**fresh(), "Content-Type": "application/json"}
    for version in ("v1", "v2"):
        for raw in bodies:
            assert_invalid(api.post(f"/{version}/notes", headers=headers, content=raw))
    assert total_titled(api, fresh, title) == 0


@pytest.mark.rules("list-paging", "validation-422")
@pytest.mark.parametrize("version", ["v1", "v2"])
def test_list_query_bounds(api, fresh, version):
    headers = fresh()
    for params in ({"limit": 1}, {"limit": 100}, {"offset": 0}, {"limit": 100, "offset": 5}):
        r = api.get(f"/{version}/notes", headers=headers, params=params)
        assert r.status_code == 200, (params, r.text)
    headers = fresh()
    for params in (
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"limit": "ten"},
        {"limit": "2.5"},
        {"limit": ""},
        {"offset": -1},
        {"offset": "x"},
    ):
        assert_invalid(api.get(f"/{version}/notes", headers=headers, params=params))
