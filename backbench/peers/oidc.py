"""The `oidc` peer: an OpenID Connect provider (authorization code flow) for login scenarios.

One client is registered (`CLIENT_ID`, `CLIENT_SECRET`, given to the submission); any http(s)
redirect URI is accepted at /authorize and must be repeated at /token. /authorize logs in the
user tests chose (`POST /login`, else `DEFAULT_USER`) at once, with no page, and redirects back
with a code; /token exchanges it once for an RS256 ID token whose `nonce` is the one /authorize
was given. Tests make it misbehave the ways a careless relying party would not notice:

    POST /tamper {"iss", "aud", "nonce", "state", "expires_in", "key"}: what the next codes get
        (another issuer, audience or nonce; a state that is not the one sent; an ID token already
        expired; signed by a key not in the JWKS ("foreign") or not signed at all ("none"))
    POST /fault {"endpoint", "delay_ms", "fail_times", "fail_status", "drop"}: an endpoint
        (authorize, token, jwks, userinfo, discovery) slow, failing or dropping connections
    POST /mint {"claims", "key"}: an ID token signed with the provider's key (or a foreign one)

Every public request is recorded with its endpoint and outcome.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from backbench.peers._http import Request, Response
from backbench.peers.limits import Limits
from backbench.peers.store import Store, request_record
from backbench.peers.upstream import Program, parse_fault

CLIENT_ID = "backbench-app"
# the sample's own: the provider is reachable only inside the sample's network
CLIENT_SECRET = "backbench-app-secret-7f3c"
KEY_ID = "backbench-oidc-1"
DEFAULT_USER: dict[str, Any] = {
    "sub": "user-ada",
    "email": "ada@example.test",
    "email_verified": True,
    "name": "Ada Lovelace",
}
CODE_SECONDS = 60
TOKEN_SECONDS = 300
ENDPOINTS = {
    "/.well-known/openid-configuration": "discovery",
    "/authorize": "authorize",
    "/token": "token",
    "/jwks": "jwks",
    "/userinfo": "userinfo",
}
KEYS = ("own", "foreign", "none")
TAMPERED = ("iss", "aud", "nonce", "state", "expires_in", "key")


@dataclass
class Grant:
    """An issued authorization code and what its token must carry."""

    redirect_uri: str
    nonce: str | None
    user: dict[str, Any]
    tamper: dict[str, Any]
    challenge: str | None
    issued: float = field(default_factory=time.time)
    used: bool = False


def _rsa_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _b64url_uint(value: int) -> str:
    raw = value.to_bytes((value.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _pkce_matches(challenge: str, verifier: str) -> bool:
    digest = hashlib.sha256(verifier.encode()).digest()
    expected = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    return hmac.compare_digest(expected, challenge)


def _error(status: int, error: str, description: str) -> Response:
    """An OAuth error answer (RFC 6749 5.2)."""
    return Response.of_json(status, {"error": error, "error_description": description})


def _redirect(uri: str, params: dict[str, str]) -> Response:
    joiner = "&" if urlsplit(uri).query else "?"
    return Response(302, b"", [("Location", uri + joiner + urlencode(params))])


def _client_credentials(request: Request, form: dict[str, str]) -> tuple[str, str]:
    """The client id and secret, from HTTP Basic or from the form (client_secret_post)."""
    basic = request.header("authorization") or ""
    if basic.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(basic[6:].strip(), validate=True).decode()
        except ValueError:
            return "", ""
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return form.get("client_id", ""), form.get("client_secret", "")


class OidcPeer:
    """An OpenID provider with one client, one chosen user at a time, and programmable faults."""

    kind = "oidc"

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.store = Store(limits.max_records)
        self.key = _rsa_key()
        self._foreign_key: Any = None
        self.issuer = ""  # set once the port is known
        self.grants: dict[str, Grant] = {}
        self.tokens: dict[str, dict[str, Any]] = {}
        self.reset()

    def bind(self, issuer: str) -> None:
        """The issuer URL, once the port it listens on is known."""
        self.issuer = issuer

    def reset(self) -> None:
        self.store.clear()
        self.user: dict[str, Any] = dict(DEFAULT_USER)
        self.tamper: dict[str, Any] = {}
        self.faults: dict[str, Program] = {}
        self.grants.clear()
        self.tokens.clear()

    # -- the provider -----------------------------------------------------------------------

    async def handle(self, request: Request) -> Response | None:
        endpoint = ENDPOINTS.get(request.path)
        fault = self.faults.get(endpoint or "")
        call = fault.next_call() if fault else "ok"
        if endpoint is None:
            answer: Response | None = Response.of_json(404, {"error": "not_found"})
        elif call == "drop":
            answer = None
        elif call == "fail" and fault is not None:
            answer = Response.of_json(fault.fail_status, {"error": "server_error"})
        else:
            answer = self._answer(endpoint, request)
        outcome: int | str = answer.status if answer is not None else "dropped"
        self.store.add({**request_record(request), "endpoint": endpoint, "outcome": outcome})
        if fault is not None:
            await asyncio.sleep(fault.delay_ms / 1000)
        return answer

    def _answer(self, endpoint: str, request: Request) -> Response:
        if endpoint == "discovery":
            return Response.of_json(200, self.discovery())
        if endpoint == "jwks":
            return Response.of_json(200, self.jwks())
        if endpoint == "authorize" and request.method in ("GET", "POST"):
            params = request.params() if request.method == "GET" else _form(request)
            return self.authorize(params)
        if endpoint == "token" and request.method == "POST":
            return self.token(request, _form(request))
        if endpoint == "userinfo":
            return self.userinfo(request)
        return Response.of_json(405, {"error": "method_not_allowed"})

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "userinfo_endpoint": f"{self.issuer}/userinfo",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", *DEFAULT_USER],
        }

    def jwks(self) -> dict[str, Any]:
        numbers = self.key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA", "use": "sig", "alg": "RS256", "kid": KEY_ID,
                    "n": _b64url_uint(numbers.n), "e": _b64url_uint(numbers.e),
                }
            ]
        }  # fmt: skip

    def authorize(self, params: dict[str, str]) -> Response:
        """Log the chosen user in at once and redirect back with a code (RFC 6749 4.1.2)."""
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != CLIENT_ID:
            return _error(400, "invalid_client", "unknown client_id")
        if urlsplit(redirect_uri).scheme not in ("http", "https"):
            return _error(400, "invalid_request", "redirect_uri must be an http(s) URL")
        state = {"state": params["state"]} if "state" in params else {}
        if params.get("response_type") != "code":
            return _redirect(redirect_uri, {"error": "unsupported_response_type", **state})
        if "openid" not in params.get("scope", "").split():
            return _redirect(redirect_uri, {"error": "invalid_scope", **state})
        challenge = params.get("code_challenge")
        if challenge is not None and params.get("code_challenge_method", "plain") != "S256":
            return _redirect(redirect_uri, {"error": "invalid_request", **state})
        code = secrets.token_urlsafe(24)
        self.grants[code] = Grant(
            redirect_uri, params.get("nonce"), dict(self.user), dict(self.tamper), challenge
        )
        if "state" in self.tamper:
            state = {"state": str(self.tamper["state"])}
        return _redirect(redirect_uri, {"code": code, **state})

    def token(self, request: Request, form: dict[str, str]) -> Response:
        """Exchange a code once for tokens (RFC 6749 4.1.3, OpenID Connect Core 3.1.3)."""
        client_id, secret = _client_credentials(request, form)
        if client_id != CLIENT_ID or not hmac.compare_digest(secret, CLIENT_SECRET):
            return Response.of_json(401, {"error": "invalid_client"})
        if form.get("grant_type") != "authorization_code":
            return Response.of_json(400, {"error": "unsupported_grant_type"})
        grant = self.grants.get(form.get("code", ""))
        if grant is None or grant.used or time.time() - grant.issued > CODE_SECONDS:
            return Response.of_json(400, {"error": "invalid_grant"})
        grant.used = True  # a replayed code fails even when this exchange fails below
        if form.get("redirect_uri") != grant.redirect_uri:
            return _error(400, "invalid_grant", "redirect_uri differs")
        if grant.challenge is not None and not _pkce_matches(
            grant.challenge, form.get("code_verifier", "")
        ):
            return _error(400, "invalid_grant", "code_verifier does not match")
        access = secrets.token_urlsafe(24)
        self.tokens[access] = grant.user
        claims = self._claims(grant)
        id_token = self.sign(claims, str(grant.tamper.get("key", "own")))
        return Response.of_json(
            200,
            {
                "access_token": access, "token_type": "Bearer", "expires_in": TOKEN_SECONDS,
                "id_token": id_token, "scope": "openid email profile",
            },
            [("Cache-Control", "no-store")],
        )  # fmt: skip

    def _claims(self, grant: Grant) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            **grant.user,
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + TOKEN_SECONDS,
        }
        if grant.nonce is not None:
            claims["nonce"] = grant.nonce
        for name in ("iss", "aud", "nonce"):
            if name in grant.tamper:
                claims[name] = grant.tamper[name]
        if "expires_in" in grant.tamper:
            claims["exp"] = now + int(grant.tamper["expires_in"])
        return claims

    def sign(self, claims: dict[str, Any], key: str = "own") -> str:
        """An ID token: RS256 with the provider's key, with a foreign key, or unsigned."""
        import jwt

        if key == "none":
            return jwt.encode(claims, "", algorithm="none")
        if key == "foreign" and self._foreign_key is None:  # made when first asked for
            self._foreign_key = _rsa_key()
        signer = self.key if key == "own" else self._foreign_key
        return jwt.encode(claims, signer, algorithm="RS256", headers={"kid": KEY_ID})

    def userinfo(self, request: Request) -> Response:
        given = request.header("authorization") or ""
        user = self.tokens.get(given[7:].strip()) if given.lower().startswith("bearer ") else None
        if user is None:
            return Response.of_json(
                401, {"error": "invalid_token"}, [("WWW-Authenticate", "Bearer")]
            )
        return Response.of_json(200, user)

    # -- the admin API ----------------------------------------------------------------------

    def admin(self, request: Request) -> Response | None:
        """POST /login, /tamper, /fault and /mint (see the module docstring)."""
        if request.method != "POST":
            return None
        route = {"/login": self._login, "/tamper": self._tamper, "/fault": self._fault}
        if request.path == "/mint":
            return self._mint(request.json())
        handler = route.get(request.path)
        if handler is None:
            return None
        try:
            return handler(request.json())
        except (TypeError, AttributeError) as ex:
            return Response.of_json(422, {"error": str(ex)})

    def _login(self, body: dict[str, Any]) -> Response:
        user = body.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("sub"), str):
            return Response.of_json(422, {"error": "user must be an object with a string sub"})
        self.user = dict(user)
        return Response.of_json(200, {"user": self.user})

    def _tamper(self, body: dict[str, Any]) -> Response:
        unknown = set(body) - set(TAMPERED)
        if unknown or body.get("key", "own") not in KEYS:
            return Response.of_json(422, {"error": f"tamper takes {TAMPERED}; key one of {KEYS}"})
        self.tamper = dict(body)
        return Response.of_json(200, {"tamper": self.tamper})

    def _fault(self, body: dict[str, Any]) -> Response:
        endpoint = str(body.get("endpoint", ""))
        if endpoint not in ENDPOINTS.values():
            known = sorted(ENDPOINTS.values())
            return Response.of_json(422, {"error": f"endpoint must be one of {known}"})
        try:
            self.faults[endpoint] = parse_fault(body, self.limits)
        except ValueError as ex:
            return Response.of_json(422, {"error": str(ex)})
        return Response.of_json(200, {"endpoint": endpoint})

    def _mint(self, body: dict[str, Any]) -> Response:
        claims, key = body.get("claims"), str(body.get("key", "own"))
        if not isinstance(claims, dict) or key not in KEYS:
            return Response.of_json(422, {"error": f"claims must be an object; key one of {KEYS}"})
        return Response.of_json(200, {"id_token": self.sign(claims, key)})


def _form(request: Request) -> dict[str, str]:
    return dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
