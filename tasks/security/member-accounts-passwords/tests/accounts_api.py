"""What the member-accounts tests share: names and passwords, clients bound to a loopback
address of their own (the throttle counts per client address), the error body check, and
searches of the database and Redis for a secret."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from backbench.testkit.plugin import contract_hook

MiB = 1024 * 1024
ACCOUNT_LIMIT = 5  # failed logins for one username that lock it
CLIENT_LIMIT = 300  # failed logins from one address that lock it
LOCK_SECONDS = 900


def new_name(prefix: str = "m") -> str:
    """A username no other test or run uses, mixed case (the server keeps it as sent)."""
    return f"{prefix}{uuid.uuid4().hex[:8]}X{uuid.uuid4().hex[:12]}"


def new_password() -> str:
    return f"Pw-{uuid.uuid4().hex}-{uuid.uuid4().hex[:6]}!"


def loopback_address() -> str:
    """A loopback address other than 127.0.0.1 (Linux routes all of 127/8 to lo): each test's
    failed logins are counted against an address of its own."""
    return f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(2, 254)}"


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


def assert_no_password_material(response: httpx.Response, password: str, hashed: Any) -> None:
    """No field of the answer is named for a password or a hash, and none holds the password,
    its stored hash or any argon2 string."""
    body = response.json()
    assert isinstance(body, dict), body
    for key in body:
        assert not any(word in key.lower() for word in ("password", "hash", "salt")), body
    text = response.text
    assert password not in text and "$argon2" not in text, text[:300]
    if hashed:
        assert str(hashed) not in text and str(hashed).split("$")[-1] not in text, text[:300]


def bearer(token: str, scheme: str = "Bearer") -> dict[str, str]:
    return {"Authorization": f"{scheme} {token}"}


@dataclass
class Member:
    """A registered account and its password."""

    id: int
    username: str
    password: str


class Kit:
    """Clients of the submission (of its main instance unless a base URL is given), each bound
    to a loopback address, and the operations the tests repeat."""

    def __init__(self, base_url: str, contract: Any, factory: Callable[..., httpx.Client]):
        self.base_url = base_url
        self.hooks = [contract_hook(contract)] if contract is not None else []
        self.factory = factory
        self.made: list[httpx.Client] = []
        self.address = loopback_address()

    def client(
        self, address: str | None = None, base_url: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Client:  # fmt: skip
        """A client whose connections come from `address` (default: this test's own)."""
        client = httpx.Client(
            base_url=base_url or self.base_url,
            headers=headers or {},
            transport=httpx.HTTPTransport(local_address=address or self.address),
            timeout=httpx.Timeout(20.0),
            trust_env=False,
        )
        client.event_hooks["response"] = list(self.hooks)
        self.made.append(client)
        return client

    def register(self, username: str | None = None, password: str | None = None) -> Member:
        username = username or new_name()
        password = password or new_password()
        response = self.client().post(
            "/v1/accounts", json={"username": username, "password": password}
        )
        assert response.status_code == 201, response.text[:300]
        body = response.json()
        assert body["username"] == username, body
        return Member(int(body["id"]), username, password)

    def login(
        self, username: str, password: str, client: httpx.Client | None = None
    ) -> httpx.Response:
        return (client or self.client()).post(
            "/v1/sessions", json={"username": username, "password": password}
        )

    def tokens(self, member: Member, client: httpx.Client | None = None) -> dict[str, Any]:
        """A new session's pair for the member."""
        response = self.login(member.username, member.password, client)
        assert response.status_code == 200, response.text[:300]
        return dict(response.json())

    def refresh(self, refresh_token: str, client: httpx.Client | None = None) -> httpx.Response:
        return (client or self.client()).post(
            "/v1/sessions/refresh", json={"refresh_token": refresh_token}
        )

    def me(self, access_token: str, client: httpx.Client | None = None) -> httpx.Response:
        return (client or self.client()).get("/v1/me", headers=bearer(access_token))

    def close(self) -> None:
        for client in self.made:
            client.close()


@pytest.fixture
def kit(base_url, _backbench_contract, client_factory) -> Iterator[Kit]:
    made = Kit(base_url, _backbench_contract, client_factory)
    yield made
    made.close()


def stored_hash(db: Any, username: str) -> str | None:
    """accounts.password_hash of the username (its letter case aside)."""
    value = db.scalar(
        "SELECT password_hash FROM accounts WHERE lower(username) = lower(%s)", (username,)
    )
    return None if value is None else str(value)


def accounts_named(db: Any, username: str) -> int:
    return int(db.scalar("SELECT count(*) FROM accounts WHERE lower(username) = lower(%s)",
                         (username,)))  # fmt: skip


def places_holding(db: Any, redis: Any, secret: str) -> list[str]:
    """Every column of every table of the database, and every Redis key, whose value (or
    name) contains `secret`, as text or as UTF-8 bytes."""
    found = []
    columns = db.execute(
        "SELECT c.table_name, c.column_name, c.data_type FROM information_schema.columns c "
        "JOIN information_schema.tables t ON t.table_schema = c.table_schema "
        "AND t.table_name = c.table_name WHERE c.table_schema = current_schema() "
        "AND t.table_type = 'BASE TABLE'"
    ).fetchall()
    for table, column, kind in columns:
        ident = f'"{table}"."{column}"'
        if kind == "bytea":
            condition = f"position(%s::bytea in {ident}) > 0"
        else:
            condition = f"position(%s in {ident}::text) > 0"
        count = db.scalar(f'SELECT count(*) FROM "{table}" WHERE {condition}', (secret,))
        if count:
            found.append(f"{table}.{column}")
    for key in redis.scan_iter(count=1000):
        values: list[Any] = [key]
        try:
            values.extend(redis_values(redis, key))
        except UnicodeDecodeError:  # binary values: what they hold cannot be the text
            continue
        if any(secret in str(value) for value in values):
            found.append(f"redis key {key}")
    return found


def redis_values(redis: Any, key: str) -> list[Any]:
    """What a Redis key holds, as a flat list."""
    kind = redis.type(key)
    if kind == "string":
        return [redis.get(key)]
    if kind == "hash":
        return [x for pair in redis.hgetall(key).items() for x in pair]
    if kind == "list":
        return list(redis.lrange(key, 0, -1))
    if kind == "set":
        return list(redis.smembers(key))
    if kind == "zset":
        return list(redis.zrange(key, 0, -1))
    return []
