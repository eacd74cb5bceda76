"""What the team-tasks tests share: minting JWTs with the stdlib, users with clients, the error
body check, and creating projects and tasks."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

AUDIENCE = "team-tasks-api"
ISSUER = "https://id.team-tasks.test"
DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
# every time claim the tests set lies this far from now: past any leeway the prompt allows
MARGIN = 600
MiB = 1024 * 1024
MAX_ID = 2**63 - 1


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs encode their parts."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def sign(signing_input: str, key: str, alg: str = "HS256") -> str:
    """The base64url HMAC of `signing_input` under `key` with the algorithm's digest."""
    return b64url(hmac.new(key.encode(), signing_input.encode(), DIGESTS[alg]).digest())


def mint(claims: Any, key: str | None, alg: str = "HS256", header: Any = None) -> str:
    """A compact JWT of `claims`; signed with `key` by `alg` (an HMAC), or with an empty
    signature when `key` is None. `header` replaces the default {"alg", "typ"}."""
    head = header if header is not None else {"alg": alg, "typ": "JWT"}
    signing_input = f"{b64url(compact(head))}.{b64url(compact(claims))}"
    signature = sign(signing_input, key, alg) if key is not None else ""
    return f"{signing_input}.{signature}"


def claims_for(sub: str, role: str = "member", **changes: Any) -> dict[str, Any]:
    """Valid claims of `sub` with `role`; a change set to ... removes that claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub, "role": role, "aud": AUDIENCE, "iss": ISSUER,
        "iat": now - 5, "exp": now + MARGIN,
    }  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not ...}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The response has `status` and the body {"error": {"code": code, "message": <text>}}."""
    assert response.status_code == status, (
        response.request.method, str(response.request.url), response.status_code,
        response.text[:300],
    )  # fmt: skip
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body


@dataclass
class Person:
    """A user the tests act as: their sub, role, a valid token and a client that sends it."""

    sub: str
    role: str
    token: str
    client: httpx.Client

    def project(self, name: str | None = None) -> dict[str, Any]:
        """A new project of this user's (a unique name unless given)."""
        body = {"name": name if name is not None else f"proj {self.sub[-12:]} {time.time_ns()}"}
        response = self.client.post("/v1/projects", json=body)
        assert response.status_code == 201, response.text
        project = response.json()
        assert project["name"] == body["name"], project
        return dict(project)

    def task(self, project: int, title: str = "Write the report", **extra: Any) -> dict[str, Any]:
        """A new task in the project."""
        response = self.client.post(
            f"/v1/projects/{project}/tasks", json={"title": title, **extra}
        )
        assert response.status_code == 201, response.text
        return dict(response.json())


class People:
    """Makes users with fresh subs: members and admins, each with a client of their own."""

    def __init__(
        self, secret: str, factory: Callable[..., httpx.Client], unique: Callable[..., str]
    ) -> None:
        self.secret = secret
        self.factory = factory
        self.unique = unique

    def make(self, role: str = "member", prefix: str = "user") -> Person:
        sub = self.unique(prefix)
        token = mint(claims_for(sub, role), self.secret)
        return Person(sub, role, token, self.factory(headers=bearer(token)))

    def member(self, prefix: str = "member") -> Person:
        return self.make("member", prefix)

    def admin(self, prefix: str = "admin") -> Person:
        return self.make("admin", prefix)

    def client(self, token: str | None = None, scheme: str = "Bearer") -> httpx.Client:
        """A client sending `<scheme> <token>` (no Authorization header when token is None)."""
        headers = {} if token is None else {"Authorization": f"{scheme} {token}"}
        return self.factory(headers=headers)


@pytest.fixture
def people(app_secret: str, client_factory: Callable[..., httpx.Client], unique) -> People:
    return People(app_secret, client_factory, unique)


def stored_project(db: Any, project_id: int) -> tuple[Any, ...] | None:
    """(owner_id, name) of a project as stored, or None."""
    return db.execute(
        "SELECT owner_id, name FROM projects WHERE id = %s", (project_id,)
    ).fetchone()


def stored_task(db: Any, task_id: int) -> tuple[Any, ...] | None:
    """(project_id, title, done) of a task as stored, or None."""
    return db.execute(
        "SELECT project_id, title, done FROM tasks WHERE id = %s", (task_id,)
    ).fetchone()


def projects_named(db: Any, name: str) -> int:
    return int(db.scalar("SELECT count(*) FROM projects WHERE name = %s", (name,)))


def tasks_titled(db: Any, title: str) -> int:
    return int(db.scalar("SELECT count(*) FROM tasks WHERE title = %s", (title,)))
