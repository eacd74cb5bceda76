"""Members: register, read, list, delete."""

from collections.abc import Callable

from fastapi.testclient import TestClient

Unique = Callable[[str], str]


def add_member(client: TestClient, auth: dict[str, str], email: str) -> dict[str, object]:
    response = client.post("/v1/members", json={"name": "Ada Reader", "email": email}, headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


def test_register_returns_the_member_and_it_can_be_read(client, auth, unique: Unique) -> None:
    email = f"{unique('ada')}@example.org"
    member = add_member(client, auth, email)
    assert (member["name"], member["email"]) == ("Ada Reader", email)
    assert client.get(f"/v1/members/{member['id']}").json() == member


def test_an_email_is_registered_once(client, auth, unique: Unique) -> None:
    email = f"{unique('twice')}@example.org"
    add_member(client, auth, email)
    again = client.post("/v1/members", json={"name": "Other", "email": email}, headers=auth)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


def test_register_refuses_an_address_without_at_sign(client, auth) -> None:
    response = client.post(
        "/v1/members", json={"name": "No Mail", "email": "not-an-address"}, headers=auth
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_list_is_by_id(client, auth, unique: Unique) -> None:
    made = [add_member(client, auth, f"{unique('list')}@example.org") for _ in range(3)]
    total = client.get("/v1/members", params={"limit": 1}).json()["total"]
    # the three just made are the newest, so the last three by id
    last = client.get("/v1/members", params={"offset": total - 3, "limit": 3}).json()
    assert [m["id"] for m in last["items"]] == [m["id"] for m in made]


def test_delete_removes_the_member(client, auth, unique: Unique) -> None:
    member = add_member(client, auth, f"{unique('gone')}@example.org")
    assert client.delete(f"/v1/members/{member['id']}").status_code == 401
    assert client.delete(f"/v1/members/{member['id']}", headers=auth).status_code == 204
    assert client.get(f"/v1/members/{member['id']}").status_code == 404
    assert client.delete(f"/v1/members/{member['id']}", headers=auth).status_code == 404
