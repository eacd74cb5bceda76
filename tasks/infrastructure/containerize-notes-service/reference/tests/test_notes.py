from fastapi.testclient import TestClient


def create(client: TestClient, auth: dict[str, str], **fields: object) -> dict:
    response = client.post("/notes", json={"title": "a note", **fields}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def test_create_returns_the_stored_note(client: TestClient, auth: dict[str, str]) -> None:
    note = create(client, auth, title="groceries", body="milk, eggs", tags=["home"])
    assert note["title"] == "groceries"
    assert note["body"] == "milk, eggs"
    assert note["tags"] == ["home"]
    assert isinstance(note["id"], int)
    assert client.get(f"/notes/{note['id']}").json() == note


def test_create_keeps_each_tag_once_in_order(client: TestClient, auth: dict[str, str]) -> None:
    note = create(client, auth, tags=["b", "a", "b"])
    assert note["tags"] == ["b", "a"]


def test_create_needs_the_secret(client: TestClient) -> None:
    assert client.post("/notes", json={"title": "x"}).status_code == 401
    wrong = {"Authorization": "Bearer not-the-secret"}
    assert client.post("/notes", json={"title": "x"}, headers=wrong).status_code == 401
    assert client.get("/notes").json() == []


def test_create_refuses_an_empty_title(client: TestClient, auth: dict[str, str]) -> None:
    assert client.post("/notes", json={"title": ""}, headers=auth).status_code == 422


def test_get_unknown_note_is_404(client: TestClient) -> None:
    assert client.get("/notes/999999").status_code == 404


def test_list_is_newest_first(client: TestClient, auth: dict[str, str]) -> None:
    first = create(client, auth, title="first")
    second = create(client, auth, title="second")
    assert [n["id"] for n in client.get("/notes").json()] == [second["id"], first["id"]]


def test_list_by_tag_returns_only_notes_with_that_tag(
    client: TestClient, auth: dict[str, str]
) -> None:
    work = create(client, auth, title="standup", tags=["work"])
    create(client, auth, title="groceries", tags=["home"])
    both = create(client, auth, title="taxes", tags=["home", "work"])
    listed = client.get("/notes", params={"tag": "work"}).json()
    assert [n["id"] for n in listed] == [both["id"], work["id"]]


def test_list_limit(client: TestClient, auth: dict[str, str]) -> None:
    for i in range(3):
        create(client, auth, title=f"n{i}")
    assert len(client.get("/notes", params={"limit": 2}).json()) == 2
    assert client.get("/notes", params={"limit": 0}).status_code == 422


def test_delete_removes_the_note(client: TestClient, auth: dict[str, str]) -> None:
    note = create(client, auth)
    assert client.delete(f"/notes/{note['id']}", headers=auth).status_code == 204
    assert client.get(f"/notes/{note['id']}").status_code == 404
    assert client.delete(f"/notes/{note['id']}", headers=auth).status_code == 404


def test_delete_needs_the_secret(client: TestClient, auth: dict[str, str]) -> None:
    note = create(client, auth)
    assert client.delete(f"/notes/{note['id']}").status_code == 401
    assert client.get(f"/notes/{note['id']}").status_code == 200
