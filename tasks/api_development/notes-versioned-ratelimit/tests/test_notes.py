import uuid
from datetime import datetime

import pytest


@pytest.fixture
def new_headers(auth_headers, unique):
    """A factory of auth headers, each with a never-used client id (a fresh budget)."""
    return lambda: {**auth_headers, "X-Client-Id": unique("test")}


@pytest.fixture
def headers(new_headers):
    """Auth headers with a client id private to this test (20 requests available)."""
    return new_headers()


@pytest.fixture
def token():
    """A unique marker to put in titles so filters only see this test's notes."""
    return uuid.uuid4().hex


def assert_timestamp(value):
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None


@pytest.mark.rules("v1-create", "v1-get", "note-id-int", "created-at-offset")
def test_v1_create_and_get_note(api, headers, token):
    payload = {"title": f"Shopping {token}", "body": "milk, eggs"}
    r = api.post("/v1/notes", headers=headers, json=payload)
    assert r.status_code == 201
    note = r.json()
    assert set(note) == {"id", "title", "body", "created_at"}
    assert isinstance(note["id"], int)
    assert note["title"] == payload["title"]
    assert note["body"] == payload["body"]
    assert_timestamp(note["created_at"])

    r = api.get(f"/v1/notes/{note['id']}", headers=headers)
    assert r.status_code == 200
    assert r.json() == note


@pytest.mark.rules("v1-list-array", "list-q", "list-order", "list-paging")
def test_v1_list_is_bare_array_filtered_by_title_ignoring_case(api, headers, token):
    titles = [f"alpha {token} one", f"ALPHA {token.upper()} two", f"Alpha {token} three"]
    ids = []
    for title in titles:
        r = api.post("/v1/notes", headers=headers, json={"title": title, "body": "b"})
        assert r.status_code == 201
        ids.append(r.json()["id"])
    other = api.post("/v1/notes", headers=headers, json={"title": f"beta {token}", "body": "b"})
    assert other.status_code == 201

    r = api.get("/v1/notes", headers=headers, params={"q": f"alpha {token.lower()}"})
    assert r.status_code == 200
    body = r.json()
    assert isinstance(body, list)
    assert [n["id"] for n in body] == ids
    assert all(set(n) == {"id", "title", "body", "created_at"} for n in body)

    r = api.get("/v1/notes", headers=headers, params={"q": token, "limit": 2, "offset": 1})
    assert r.status_code == 200
    assert [n["id"] for n in r.json()] == [ids[1], ids[2]]


@pytest.mark.rules("v2-create", "v2-get", "v2-tags-order", "note-id-int", "created-at-offset")
def test_v2_create_and_get_note(api, headers, token):
    payload = {"title": f"Trip {token}", "content": "pack bags", "tags": ["travel", "todo"]}
    r = api.post("/v2/notes", headers=headers, json=payload)
    assert r.status_code == 201
    note = r.json()
    assert set(note) == {"id", "title", "content", "tags", "created_at", "version"}
    assert isinstance(note["id"], int)
    assert note["title"] == payload["title"]
    assert note["content"] == payload["content"]
    assert note["tags"] == ["travel", "todo"]
    assert note["version"] == 2
    assert_timestamp(note["created_at"])

    r = api.get(f"/v2/notes/{note['id']}", headers=headers)
    assert r.status_code == 200
    assert r.json() == note

    r = api.post("/v2/notes", headers=headers, json={"title": f"t {token}", "content": "c"})
    assert r.status_code == 201
    assert r.json()["tags"] == []


@pytest.mark.rules("v2-list-envelope", "v2-meta-total", "list-q", "list-order")
def test_v2_list_wraps_data_with_meta(api, headers, token):
    ids = []
    for i in range(3):
        r = api.post(
            "/v2/notes",
            headers=headers,
            json={"title": f"Report {token} #{i}", "content": f"c{i}", "tags": [f"t{i}"]},
        )
        assert r.status_code == 201
        ids.append(r.json()["id"])
    api.post("/v2/notes", headers=headers, json={"title": "unrelated", "content": token})

    r = api.get("/v2/notes", headers=headers, params={"q": f"REPORT {token.upper()}"})
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"data", "meta"}
    assert body["meta"] == {"total": 3, "limit": 20, "offset": 0}
    assert [n["id"] for n in body["data"]] == ids
    assert body["data"][0]["tags"] == ["t0"]
    assert all(n["version"] == 2 for n in body["data"])

    r = api.get("/v2/notes", headers=headers, params={"q": token, "limit": 1, "offset": 2})
    assert r.status_code == 200
    body = r.json()
    assert body["meta"] == {"total": 3, "limit": 1, "offset": 2}
    assert [n["id"] for n in body["data"]] == [ids[2]]


@pytest.mark.rules("shared-store", "v1-seen-in-v2", "v2-seen-in-v1", "list-order")
def test_notes_are_shared_between_v1_and_v2(api, headers, token):
    r = api.post("/v1/notes", headers=headers, json={"title": f"v1 {token}", "body": "from v1"})
    assert r.status_code == 201
    v1_note = r.json()
    r = api.get(f"/v2/notes/{v1_note['id']}", headers=headers)
    assert r.status_code == 200
    seen = r.json()
    assert seen["content"] == "from v1"
    assert seen["tags"] == []
    assert seen["version"] == 2
    assert seen["title"] == v1_note["title"]

    r = api.post(
        "/v2/notes",
        headers=headers,
        json={"title": f"v2 {token}", "content": "from v2", "tags": ["x"]},
    )
    assert r.status_code == 201
    v2_note = r.json()
    r = api.get(f"/v1/notes/{v2_note['id']}", headers=headers)
    assert r.status_code == 200
    seen = r.json()
    assert set(seen) == {"id", "title", "body", "created_at"}
    assert (seen["id"], seen["title"], seen["body"]) == (v2_note["id"], v2_note["title"], "from v2")
    assert datetime.fromisoformat(seen["created_at"]) == datetime.fromisoformat(
        v2_note["created_at"]
    )

    r = api.get("/v2/notes", headers=headers, params={"q": token})
    assert r.status_code == 200
    assert [n["id"] for n in r.json()["data"]] == [v1_note["id"], v2_note["id"]]
    r = api.get("/v1/notes", headers=headers, params={"q": token})
    assert [n["body"] for n in r.json()] == ["from v1", "from v2"]
