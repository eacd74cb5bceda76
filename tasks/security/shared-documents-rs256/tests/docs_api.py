"""What the shared-documents tests share: minting RS256 JWTs with the provider's private keys
(PyJWT) or by hand (any header, any algorithm), users with clients, the error body check, and
creating documents."""

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
import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from signing_keys import KID_A, KID_B, PRIVATE_KEYS, PUBLIC_KEYS

AUDIENCE = "shared-documents-api"
ISSUER = "https://login.docs.test"
ADMIN = "docs:admin"
DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
# every time claim the tests set lies this far from now: past any leeway the prompt allows
MARGIN = 600
MiB = 1024 * 1024
MAX_ID = 2**63 - 1

__all__ = ["KID_A", "KID_B", "PRIVATE_KEYS", "PUBLIC_KEYS"]

_KEYS = {kid: load_pem_private_key(pem.encode(), None) for kid, pem in PRIVATE_KEYS.items()}
_STRANGER: list[rsa.RSAPrivateKey] = []


def private_key(kid: str) -> rsa.RSAPrivateKey:
    key = _KEYS[kid]
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


def stranger() -> rsa.RSAPrivateKey:
    """An RSA 2048 key the provider never had (made once per test session)."""
    if not _STRANGER:
        _STRANGER.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _STRANGER[0]


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs encode their parts."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(data: Any) -> bytes:
    return json.dumps(data, separators=(",", ":")).encode()


def rs_sign(signing_input: str, key: rsa.RSAPrivateKey, digest: Any = None) -> str:
    """The base64url RSASSA-PKCS1-v1_5 signature of `signing_input` (SHA-256 unless told)."""
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), digest or hashes.SHA256())
    return b64url(signature)


def hs_sign(signing_input: str, key: bytes, alg: str = "HS256") -> str:
    """The base64url HMAC of `signing_input` under the bytes `key`."""
    return b64url(hmac.new(key, signing_input.encode(), DIGESTS[alg]).digest())


def token(claims: Any, kid: str = KID_A, signer: str | None = None) -> str:
    """A valid-form RS256 token of `claims` under `kid`, minted with PyJWT; signed with the
    private key of `signer` (default: the kid's own)."""
    # the loaded key, not its PEM: PyJWT would load and check the PEM again for every token
    return jwt.encode(claims, private_key(signer or kid), algorithm="RS256", headers={"kid": kid})


def forge(header: Any, claims: Any, sign: Callable[[str], str] | None) -> str:
    """A compact JWT of any header and claims, signed by `sign` (or an empty signature)."""
    signing_input = f"{b64url(compact(header))}.{b64url(compact(claims))}"
    return f"{signing_input}.{sign(signing_input) if sign is not None else ''}"


def claims_for(sub: Any, **changes: Any) -> dict[str, Any]:
    """Valid claims of `sub`; a change set to ... removes that claim."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": sub, "aud": AUDIENCE, "iss": ISSUER, "iat": now - 5, "exp": now + MARGIN,
    }  # fmt: skip
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not ...}


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


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


def same(document: dict[str, Any]) -> dict[str, Any]:
    """A document with its shared_with sorted: its order in answers is not specified."""
    return {**document, "shared_with": sorted(document["shared_with"])}


@dataclass
class Person:
    """A user the tests act as: their sub, a valid token and a client that sends it."""

    sub: str
    token: str
    client: httpx.Client

    def document(
        self, title: str | None = None, body: str | None = None, shared_with: Any = None
    ) -> dict[str, Any]:
        """A new document of this user's (a unique title unless given)."""
        sent: dict[str, Any] = {
            "title": title if title is not None else f"doc {self.sub[-12:]} {time.time_ns()}"
        }
        if body is not None:
            sent["body"] = body
        if shared_with is not None:
            sent["shared_with"] = shared_with
        response = self.client.post("/v1/documents", json=sent)
        assert response.status_code == 201, response.text
        document = dict(response.json())
        assert document["title"] == sent["title"], document
        return same(document)

    def read(self, document_id: int) -> dict[str, Any]:
        response = self.client.get(f"/v1/documents/{document_id}")
        assert response.status_code == 200, response.text
        return same(response.json())


class People:
    """Makes users with fresh subs, each with a client of their own."""

    def __init__(self, factory: Callable[..., httpx.Client], unique: Callable[..., str]) -> None:
        self.factory = factory
        self.unique = unique

    def make(self, prefix: str = "user", kid: str = KID_A, **claims: Any) -> Person:
        sub = self.unique(prefix)
        value = token(claims_for(sub, **claims), kid)
        return Person(sub, value, self.factory(headers=bearer(value)))

    def user(self, prefix: str = "user", kid: str = KID_A) -> Person:
        return self.make(prefix, kid)

    def admin(self, prefix: str = "admin") -> Person:
        return self.make(prefix, scope=f"docs:read {ADMIN}")

    def client(self, value: str | None = None, scheme: str = "Bearer") -> httpx.Client:
        """A client sending `<scheme> <value>` (no Authorization header when value is None)."""
        headers = {} if value is None else {"Authorization": f"{scheme} {value}"}
        return self.factory(headers=headers)


@pytest.fixture
def people(client_factory: Callable[..., httpx.Client], unique: Callable[..., str]) -> People:
    return People(client_factory, unique)


def stored_document(db: Any, document_id: int) -> tuple[Any, ...] | None:
    """(owner_id, title, body) of a document as stored, or None."""
    return db.execute(
        "SELECT owner_id, title, body FROM documents WHERE id = %s", (document_id,)
    ).fetchone()


def stored_shares(db: Any, document_id: int) -> list[str]:
    """The user ids of a document's share rows, sorted."""
    rows = db.execute(
        "SELECT user_id FROM document_shares WHERE document_id = %s", (document_id,)
    ).fetchall()
    return sorted(r[0] for r in rows)


def documents_titled(db: Any, title: str) -> int:
    return int(db.scalar("SELECT count(*) FROM documents WHERE title = %s", (title,)))
