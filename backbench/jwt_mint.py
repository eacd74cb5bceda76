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
JWT_PLACEHOLDER = "{jwt}"


def b64url(data: bytes) -> str:
    """Base64url without padding, as JWTs encode their parts."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(data: dict[str, Any]) -> bytes:
    """JSON without spaces: a JWT part before its encoding."""
    return json.dumps(data, separators=(",", ":")).encode()


def mint(header: dict[str, Any], claims: dict[str, Any], key: str | None) -> str:
    """A JWT of `header` and `claims`, signed by `key` with the header's HMAC algorithm; with
    no key (or an `alg` that is no HMAC) the signature is empty."""
    signing = f"{b64url(compact(header))}.{b64url(compact(claims))}"
    digest = DIGESTS.get(str(header.get("alg")))
    if key is None or digest is None:
        return signing + "."
    return f"{signing}.{b64url(hmac.new(key.encode(), signing.encode(), digest).digest())}"


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
    head = {"alg": jwt.get("algorithm", "HS256"), "typ": "JWT"}
    own = {**jwt, "claims": {**(jwt.get("claims") or {}), **(claims or {})}}
    return mint(head, valid_claims(own, int(time.time()) if now is None else now), key)


def fill_jwt(text: str, jwt: dict[str, Any] | None, secret: str) -> str:
    """`text` with each `{jwt}` replaced by a fresh valid token (unchanged without a jwt)."""
    if JWT_PLACEHOLDER not in text or not jwt:
        return text
    return text.replace(JWT_PLACEHOLDER, valid_token(jwt, secret))
