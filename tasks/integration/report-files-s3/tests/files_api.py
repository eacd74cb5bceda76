"""What the report-files tests share: minting JWTs with the stdlib, users with clients of their
own, uploads, the error body check and fetching presigned URLs from the store."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

AUDIENCE = "report-files"
MARGIN = 600  # every time claim the tests set lies this far from now: past any leeway
MiB = 1024 * 1024
UUID_PATTERN = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
STORE_DEADLINE = 5.0


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def mint(claims: Any, key: str | None, alg: str = "HS256", header: Any = None) -> str:
    """A compact JWT of `claims`, HMAC-signed with `key` (an empty signature when None)."""
    head = header if header is not None else {"alg": alg, "typ": "JWT"}
    compact = lambda data: json.dumps(data, separators=(",", ":")).encode()  # noqa: E731
    signing_input = f"{b64url(compact(head))}.{b64url(compact(claims))}"
    if key is None:
        return f"{signing_input}."
    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signature = b64url(hmac.new(key.encode(), signing_input.encode(), digest).digest())
    return f"{signing_input}.{signature}"


def claims_for(sub: str, **changes: Any) -> dict[str, Any]:
    """Valid claims of `sub`; a change set to ... removes that claim."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": sub, "aud": AUDIENCE, "iat": now - 5, "exp": now + MARGIN}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not ...}


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
    """A user the tests act as: their sub, a valid token and a client that sends it."""

    sub: str
    token: str
    client: httpx.Client

    def upload(
        self, body: bytes = b"month,total\n2026-01,1200\n", name: str = "report.csv",
        content_type: str = "text/csv", **kwargs: Any,
    ) -> httpx.Response:  # fmt: skip
        headers = {"Content-Type": content_type, "X-File-Name": name}
        return self.client.post("/v1/files", content=body, headers=headers, **kwargs)

    def file(self, body: bytes = b"month,total\n2026-01,1200\n", name: str = "report.csv",
             content_type: str = "text/csv") -> dict[str, Any]:  # fmt: skip
        """A new file of this user's, checked to be created."""
        response = self.upload(body, name, content_type)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def link(self, file_id: str, **params: Any) -> httpx.Response:
        return self.client.get(f"/v1/files/{file_id}/download", params=params)

    def listed(self) -> list[dict[str, Any]]:
        response = self.client.get("/v1/files")
        assert response.status_code == 200, response.text
        return list(response.json()["items"])

    @property
    def prefix(self) -> str:
        """The start of every key of this user's objects."""
        return f"users/{self.sub}/"


class People:
    """Makes users with fresh subs, each with a client of their own."""

    def __init__(
        self, secret: str, factory: Callable[..., httpx.Client], unique: Callable[..., str]
    ) -> None:
        self.secret = secret
        self.factory = factory
        self.unique = unique

    def make(self, prefix: str = "user") -> Person:
        sub = self.unique(prefix)
        token = mint(claims_for(sub), self.secret)
        return Person(sub, token, self.factory(headers={"Authorization": f"Bearer {token}"}))

    def client(self, authorization: str | None = None) -> httpx.Client:
        headers = {} if authorization is None else {"Authorization": authorization}
        return self.factory(headers=headers)


@pytest.fixture
def people(app_secret: str, client_factory: Callable[..., httpx.Client], unique) -> People:
    return People(app_secret, client_factory, unique)


@pytest.fixture
def store_http() -> Iterator[httpx.Client]:
    """A plain client for the presigned URLs (the store's, not the API's)."""
    with httpx.Client(trust_env=False, timeout=STORE_DEADLINE) as client:
        yield client


def user_objects(peers: Any, person: Person) -> dict[str, int]:
    """The store's objects under the person's prefix, with their sizes."""
    return {k: v for k, v in peers.s3.objects().items() if k.startswith(person.prefix)}


def rows_of(db: Any, person: Person) -> int:
    return int(db.scalar("SELECT count(*) FROM files WHERE owner = %s", (person.sub,)))


def lifetime_of(url: str, now: float) -> float:
    """The seconds a presigned URL stays valid, read from its query (SigV4 or SigV2)."""
    query = parse_qs(urlsplit(url).query)
    if "X-Amz-Expires" in query:
        return float(query["X-Amz-Expires"][0])
    assert "Expires" in query, f"not a SigV4 or SigV2 presigned URL: {url}"
    return float(query["Expires"][0]) - now


def signature_of(url: str) -> str:
    query = parse_qs(urlsplit(url).query)
    return (query.get("X-Amz-Signature") or query.get("Signature") or [""])[0]
