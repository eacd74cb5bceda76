"""What the shopping-cart tests share: new skus and client ids, the error body check, and a
shop: clients of the main instance and of a second one, and the operations the tests repeat."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

SEARCH_LIMIT = 20  # searches of a client id per window
MAX_LINES = 10


def new_sku(prefix: str = "S") -> str:
    """A sku no other test or run uses (upper-case letters, digits and '-', 24 characters)."""
    return f"{prefix}-{uuid.uuid4().hex[:22].upper()}"


def new_key() -> str:
    return f"key_{uuid.uuid4().hex}"


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response has `status` and the body {"error": {"code": code, "message": <text>}}."""
    assert response.status_code == status, (
        response.request.method, str(response.request.url), response.status_code,
        response.text[:300],
    )  # fmt: skip
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body
    return body


def line(sku: str, name: str, quantity: int, price: int) -> dict[str, Any]:
    return {"sku": sku, "name": name, "quantity": quantity, "unit_price_cents": price,
            "line_total_cents": quantity * price}  # fmt: skip


@dataclass
class Cart:
    id: int
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Cart-Token": self.token}


class Shop:
    """Clients of the main instance (`main`) and, once `second()` started it, of another
    instance on the same database and Redis (`other`); staff clients send the secret."""

    def __init__(self, factory: Callable[..., httpx.Client], server: Any, secret: str) -> None:
        self.factory = factory
        self.server = server
        self.staff_headers = {"Authorization": f"Bearer {secret}"}
        self.main = factory()
        self.other: httpx.Client | None = None

    def second(self) -> httpx.Client:
        """A client of a second instance (started on first use)."""
        if self.other is None:
            instance = self.server.start_instance()
            self.other = self.factory(base_url=instance.base_url)
        return self.other

    def put_product(self, sku: str, name: str, price: int, client: httpx.Client | None = None,
                    expect: int | None = None) -> httpx.Response:  # fmt: skip
        response = (client or self.main).put(
            f"/v1/products/{sku}", json={"name": name, "price_cents": price},
            headers=self.staff_headers,
        )  # fmt: skip
        if expect is not None:
            assert response.status_code == expect, response.text[:300]
        return response

    def product(self, name: str | None = None, price: int = 250) -> tuple[str, str, int]:
        sku = new_sku()
        name = name or f"Product {sku.lower()}"
        self.put_product(sku, name, price, expect=201)
        return sku, name, price

    def cart(self, client: httpx.Client | None = None) -> Cart:
        response = (client or self.main).post("/v1/carts")
        assert response.status_code == 201, response.text[:300]
        body = response.json()
        assert body["status"] == "open" and body["items"] == [] and body["total_cents"] == 0, body
        return Cart(int(body["id"]), str(body["token"]))

    def read(self, cart: Cart, client: httpx.Client | None = None) -> httpx.Response:
        return (client or self.main).get(f"/v1/carts/{cart.id}", headers=cart.headers)

    def set(self, cart: Cart, sku: str, quantity: Any, client: httpx.Client | None = None,
            headers: dict[str, str] | None = None) -> httpx.Response:  # fmt: skip
        return (client or self.main).put(
            f"/v1/carts/{cart.id}/items/{sku}", json={"quantity": quantity},
            headers=cart.headers if headers is None else headers,
        )  # fmt: skip

    def remove(self, cart: Cart, sku: str, client: httpx.Client | None = None) -> httpx.Response:
        return (client or self.main).delete(f"/v1/carts/{cart.id}/items/{sku}",
                                            headers=cart.headers)  # fmt: skip

    def checkout(self, cart: Cart, key: str | None, client: httpx.Client | None = None,
                 token: str | None = None) -> httpx.Response:  # fmt: skip
        headers = {"X-Cart-Token": cart.token if token is None else token}
        if key is not None:
            headers["Idempotency-Key"] = key
        return (client or self.main).post(f"/v1/carts/{cart.id}/checkout", headers=headers)

    def search(self, client_id: str | None, q: str | None = None,
               client: httpx.Client | None = None) -> httpx.Response:  # fmt: skip
        headers = {} if client_id is None else {"X-Client-Id": client_id}
        params = {} if q is None else {"q": q}
        return (client or self.main).get("/v1/products", headers=headers, params=params)


@pytest.fixture
def shop(client_factory, server, app_secret) -> Iterator[Shop]:
    yield Shop(client_factory, server, app_secret)


def wait_for_lock_waiters(db: Any, count: int, timeout: float = 6.0) -> int:
    """Wait until `count` sessions of the database wait for a lock (the requests a test holds
    back with a row lock); the number seen last."""
    deadline = time.monotonic() + timeout
    waiting = 0
    while time.monotonic() < deadline:
        waiting = int(db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        ))  # fmt: skip
        if waiting >= count:
            return waiting
        time.sleep(0.05)
    return waiting


@contextmanager
def cart_row_locked(db: Any, cart_id: int) -> Iterator[None]:
    """Hold a lock on the cart's row in `carts` (which a checkout must change) until the block
    ends: requests that touch the row wait meanwhile."""
    db.execute("BEGIN")
    try:
        db.execute("SELECT 1 FROM carts WHERE id = %s FOR UPDATE", (cart_id,))
        yield
    finally:
        db.execute("COMMIT")
