"""JWTs minted with the stdlib: for the tokens probe family, the authorization family's
principals, and any credential or load request that says `{jwt}`.

Standalone on purpose: locust's process (backbench/scoring/locustfile.py) imports it without the
probes' HTTP client.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

DIGESTS = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}
# RSASSA-PKCS1-v1_5 algorithms (RFC 7518 3.3), signed with `cryptography`
RSA_ALGORITHMS = ("RS256",)
JWT_PLACEHOLDER = "{jwt}"


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs encode their parts."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(data: dict[str, Any]) -> bytes:
    """JSON without spaces: a JWT part before its encoding."""
    return json.dumps(data, separators=(",", ":")).encode()


def mint(header: dict[str, Any], claims: dict[str, Any], key: str | None) -> str:
    """A JWT of `header` and `claims`, signed by `key` with the header's algorithm: an HMAC
    keyed with the key's text, or RS256 with a PEM private key. With no key, or an `alg` that is
    neither, the signature is empty."""
    signing = f"{b64url(compact(header))}.{b64url(compact(claims))}"
    alg = str(header.get("alg"))
    if key is not None and alg in RSA_ALGORITHMS:
        return f"{signing}.{b64url(rsa_sign(key, signing.encode()))}"
    digest = DIGESTS.get(alg)
    if key is None or digest is None:
        return signing + "."
    return f"{signing}.{b64url(hmac.new(key.encode(), signing.encode(), digest).digest())}"


def private_key(pem: str) -> Any:
    """The RSA private key of a PEM text (ValueError if it holds none)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = serialization.load_pem_private_key(pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA key")
    return key


def public_pem(pem: str) -> str:
    """The PEM (SubjectPublicKeyInfo) of a private key's public half, as a prompt shows it."""
    from cryptography.hazmat.primitives import serialization

    public = private_key(pem).public_key()
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def new_rsa_pem() -> str:
    """A fresh RSA 2048 private key, as PEM: a key the submission has never seen."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip


def rsa_jwk(pem: str) -> dict[str, str]:
    """The public JWK (RFC 7517) of a PEM private key: what a token carrying its own key holds."""
    numbers = private_key(pem).public_key().public_numbers()

    def b64int(n: int) -> str:
        return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))

    return {"kty": "RSA", "n": b64int(numbers.n), "e": b64int(numbers.e)}


def rsa_sign(pem: str, data: bytes) -> bytes:
    """The RS256 signature (PKCS#1 v1.5, SHA-256) of `data` by a PEM private key."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    return bytes(private_key(pem).sign(data, padding.PKCS1v15(), hashes.SHA256()))


def header_of(jwt: dict[str, Any], alg: str | None = None) -> dict[str, Any]:
    """The header of the scenario's tokens: its algorithm (or `alg`), and its kid if it has one."""
    head = {"alg": alg or jwt.get("algorithm", "HS256"), "typ": "JWT"}
    return {**head, "kid": jwt["key_id"]} if jwt.get("key_id") else head


def valid_claims(jwt: dict[str, Any], now: int) -> dict[str, Any]:
    """The claims of a token the submission must accept: the scenario's, aud, iss, iat and exp
    (no nbf: a server clock a second behind would refuse it)."""
    claims: dict[str, Any] = dict(jwt.get("claims") or {})
    if jwt.get("audience"):
        claims["aud"] = jwt["audience"]
    if jwt.get("issuer"):
        claims["iss"] = jwt["issuer"]
    return {**claims, "iat": now, "exp": now + int(jwt.get("lifetime_seconds", 300))}


def valid_token(
    jwt: dict[str, Any], secret: str, claims: dict[str, Any] | None = None,
    now: int | None = None,
) -> str:  # fmt: skip
    """A token the submission must accept: the scenario's `probes.jwt` (its key with {secret}
    filled, its algorithm and claims), with `claims` over the scenario's."""
    key = str(jwt.get("key", "{secret}")).replace("{secret}", secret)
    head = header_of(jwt)
    own = {**jwt, "claims": {**(jwt.get("claims") or {}), **(claims or {})}}
    return mint(head, valid_claims(own, int(time.time()) if now is None else now), key)


def fill_jwt(text: str, jwt: dict[str, Any] | None, secret: str) -> str:
    """`text` with each `{jwt}` replaced by a fresh valid token (unchanged without a jwt)."""
    if JWT_PLACEHOLDER not in text or not jwt:
        return text
    return text.replace(JWT_PLACEHOLDER, valid_token(jwt, secret))
