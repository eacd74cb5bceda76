"""Shared by the hidden tests: valid bodies, creating customers, and the error shape."""

from __future__ import annotations

from typing import Any

import httpx

ADDRESS_FIELDS = ("street", "city", "postal_code", "country", "label")
ADDRESS_KEYS = {
    "id",
    "customer_id",
    "street",
    "city",
    "postal_code",
    "country",
    "label",
    "is_primary",
}
CUSTOMER_KEYS = {"id", "name", "email", "primary_address"}
OLD_FIELDS = {"street", "city", "postal_code", "country"}
SEED_DOMAIN = "@seed.example"


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The answer is `status` with the shared error body and `code`."""
    assert response.status_code == status, (
        response.request.method,
        str(response.request.url),
        response.status_code,
        response.text[:500],
    )
    body = response.json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body


def address_body(tag: str, **fields: Any) -> dict[str, Any]:
    """A valid address whose street carries `tag`, with `fields` overriding."""
    body: dict[str, Any] = {
        "street": f"{tag} 12 Rue de l'Église",
        "city": "Lyon",
        "postal_code": "69001",
        "country": "FR",
        "label": "home",
    }
    body.update(fields)
    return body


def new_customer(
    api: httpx.Client, unique: Any, address: dict[str, Any] | None = None, name: str = "Customer"
) -> dict[str, Any]:
    """Create a customer (with `address` as its primary address, when given)."""
    body: dict[str, Any] = {"name": name, "email": f"{unique('cust')}@example.com"}
    if address is not None:
        body["address"] = address
    response = api.post("/v1/customers", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def add_address(
    api: httpx.Client, customer_id: int, address: dict[str, Any], **flags: Any
) -> dict[str, Any]:
    """Add an address to a customer; 201 expected."""
    response = api.post(f"/v1/customers/{customer_id}/addresses", json={**address, **flags})
    assert response.status_code == 201, response.text
    return response.json()


def addresses_of(api: httpx.Client, customer_id: int) -> list[dict[str, Any]]:
    """GET /v1/customers/{id}/addresses, its items."""
    response = api.get(f"/v1/customers/{customer_id}/addresses")
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def assert_address(address: Any, customer_id: int, sent: dict[str, Any], primary: bool) -> None:
    """An address as the API answers it: every key, the values sent, server-assigned id."""
    assert isinstance(address, dict) and set(address) >= ADDRESS_KEYS, address
    assert isinstance(address["id"], int) and not isinstance(address["id"], bool), address
    assert address["id"] >= 1, address
    assert address["customer_id"] == customer_id, address
    for field in ADDRESS_FIELDS:
        assert address[field] == sent.get(field), (field, address, sent)
    assert address["is_primary"] is primary, address
