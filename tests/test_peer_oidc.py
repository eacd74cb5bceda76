"""The `oidc` peer, run for real on loopback: a relying party that checks what OpenID Connect
says it must accepts the honest login and refuses every tampered one; a careless one accepts them.

The careful relying party here is PyJWT with the provider's JWKS; the careless one decodes the
ID token without verifying it. Each tampering is proved both ways: that is what makes it a test
a submission can fail.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import jwt
import pytest

from backbench.peers import PEER_KINDS
from backbench.peers.oidc import DEFAULT_USER
from backbench.testkit.peers import OidcClient, PeerAdminError, Peers
from tests.test_peers import running_peers

CALLBACK = "http://127.0.0.1:1/auth/callback"
HTTP = httpx.Client(timeout=10)


@pytest.fixture(scope="module")
def environ(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    with running_peers(tmp_path_factory.mktemp("oidc"), ["oidc"], {"max_delay_ms": 2000}) as env:
        yield env


@pytest.fixture
def oidc(environ: dict[str, str]) -> Iterator[OidcClient]:
    peers = Peers(environ)
    client = peers.oidc
    client.reset()
    yield client
    peers.close()


def authorize_url(oidc: OidcClient, **extra: str) -> str:
    params = {
        "response_type": "code", "client_id": oidc.client_id, "redirect_uri": CALLBACK,
        "scope": "openid email", "state": "st-1", "nonce": "n-1", **extra,
    }  # fmt: skip
    return f"{oidc.issuer}/authorize?{urlencode(params)}"


def returned(location: str) -> dict[str, str]:
    assert location.startswith(CALLBACK), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def exchange(oidc: OidcClient, code: str, **form: str) -> httpx.Response:
    return HTTP.post(
        f"{oidc.issuer}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, **form},
        auth=(oidc.client_id, oidc.client_secret),
    )


def login(oidc: OidcClient) -> tuple[dict[str, str], dict[str, Any]]:
    """One authorization code flow: what came back to the callback, and the token answer."""
    back = returned(oidc.authorize(authorize_url(oidc)))
    answer = exchange(oidc, back["code"])
    assert answer.status_code == 200, answer.text
    return back, answer.json()


def careful(oidc: OidcClient, id_token: str, nonce: str = "n-1") -> dict[str, Any]:
    """What a relying party must do: the provider's key from its JWKS, RS256 only, issuer,
    audience, expiry, and the nonce it sent."""
    discovery = HTTP.get(f"{oidc.issuer}/.well-known/openid-configuration").json()
    key = jwt.PyJWKClient(discovery["jwks_uri"]).get_signing_key_from_jwt(id_token).key
    claims: dict[str, Any] = jwt.decode(
        id_token, key, algorithms=["RS256"], audience=oidc.client_id, issuer=oidc.issuer
    )
    if claims.get("nonce") != nonce:
        raise jwt.InvalidTokenError("nonce differs")
    return claims


def careless(id_token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(id_token, options={"verify_signature": False})
    return claims


def test_discovery_names_the_issuer_the_submission_is_given(oidc: OidcClient) -> None:
    discovery = HTTP.get(f"{oidc.issuer}/.well-known/openid-configuration").json()
    assert (
        discovery["issuer"] == oidc.issuer
        and oidc.issuer == f"http://127.0.0.1:{urlsplit(oidc.issuer).port}"
    )
    assert discovery["token_endpoint"] == f"{oidc.issuer}/token"
    assert discovery["id_token_signing_alg_values_supported"] == ["RS256"]


def test_an_honest_login_verifies_and_names_the_chosen_user(oidc: OidcClient) -> None:
    oidc.login_as("user-grace", email="grace@example.test", name="Grace Hopper")
    back, tokens = login(oidc)
    assert back["state"] == "st-1" and tokens["token_type"] == "Bearer"
    claims = careful(oidc, tokens["id_token"])
    assert (claims["sub"], claims["email"], claims["aud"]) == (
        "user-grace", "grace@example.test", oidc.client_id,
    )  # fmt: skip
    info = HTTP.get(
        f"{oidc.issuer}/userinfo", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert info.status_code == 200 and info.json()["name"] == "Grace Hopper"
    assert HTTP.get(f"{oidc.issuer}/userinfo").status_code == 401


def test_the_default_user_logs_in_after_a_reset(oidc: OidcClient) -> None:
    oidc.login_as("someone-else")
    oidc.reset()
    _, tokens = login(oidc)
    assert careful(oidc, tokens["id_token"])["sub"] == DEFAULT_USER["sub"]


def test_the_client_must_authenticate(oidc: OidcClient) -> None:
    back = returned(oidc.authorize(authorize_url(oidc)))
    wrong = HTTP.post(
        f"{oidc.issuer}/token",
        data={"grant_type": "authorization_code", "code": back["code"], "redirect_uri": CALLBACK},
        auth=(oidc.client_id, "not-the-secret"),
    )
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    # client_secret_post is accepted too, and the code was not spent by the refused exchange
    posted = HTTP.post(
        f"{oidc.issuer}/token",
        data={
            "grant_type": "authorization_code", "code": back["code"], "redirect_uri": CALLBACK,
            "client_id": oidc.client_id, "client_secret": oidc.client_secret,
        },
    )  # fmt: skip
    assert posted.status_code == 200, posted.text


def test_a_code_is_spent_once_and_bound_to_its_redirect_uri(oidc: OidcClient) -> None:
    back = returned(oidc.authorize(authorize_url(oidc)))
    assert exchange(oidc, back["code"]).status_code == 200
    again = exchange(oidc, back["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"
    other = returned(oidc.authorize(authorize_url(oidc)))
    moved = exchange(oidc, other["code"], redirect_uri="http://127.0.0.1:1/elsewhere")
    assert moved.status_code == 400 and moved.json()["error"] == "invalid_grant"


def test_pkce_binds_the_code_to_its_verifier(oidc: OidcClient) -> None:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    for given, status in (("wrong-verifier", 400), (verifier, 200)):
        url = authorize_url(oidc, code_challenge=challenge, code_challenge_method="S256")
        back = returned(oidc.authorize(url))
        assert exchange(oidc, back["code"], code_verifier=given).status_code == status


def test_authorize_refuses_an_unknown_client_without_redirecting(oidc: OidcClient) -> None:
    answer = HTTP.get(authorize_url(oidc, client_id="intruder"), follow_redirects=False)
    assert answer.status_code == 400 and "location" not in answer.headers
    # other errors go back to the client, with its state
    back = returned(oidc.authorize(authorize_url(oidc, scope="email")))
    assert back == {"error": "invalid_scope", "state": "st-1"}


TAMPERINGS: dict[str, dict[str, Any]] = {
    "another-issuer": {"iss": "http://127.0.0.1:9/evil-issuer"},
    "another-audience": {"aud": "some-other-client"},
    "another-nonce": {"nonce": "replayed-nonce"},
    "expired": {"expires_in": -120},
    "foreign-key": {"key": "foreign"},
    "unsigned": {"key": "none"},
}


@pytest.mark.parametrize("wrong", TAMPERINGS.values(), ids=list(TAMPERINGS))
def test_each_tampered_token_fools_only_a_careless_client(
    oidc: OidcClient, wrong: dict[str, Any]
) -> None:
    oidc.tamper(**wrong)
    _, tokens = login(oidc)
    assert careless(tokens["id_token"])["sub"] == DEFAULT_USER["sub"]
    with pytest.raises(jwt.PyJWTError):
        careful(oidc, tokens["id_token"])
    # the same flow after a reset is honest again: the careful client accepts it
    oidc.reset()
    _, tokens = login(oidc)
    assert careful(oidc, tokens["id_token"])["sub"] == DEFAULT_USER["sub"]


def test_a_tampered_state_comes_back_instead_of_the_one_sent(oidc: OidcClient) -> None:
    oidc.tamper(state="forged-state")
    assert returned(oidc.authorize(authorize_url(oidc)))["state"] == "forged-state"


def test_mint_signs_exactly_the_claims_given(oidc: OidcClient) -> None:
    claims = {"sub": "minted", "iss": oidc.issuer, "aud": oidc.client_id, "nonce": "n-1",
              "exp": int(time.time()) + 60}  # fmt: skip
    assert careful(oidc, oidc.mint(claims))["sub"] == "minted"
    with pytest.raises(jwt.PyJWTError):
        careful(oidc, oidc.mint(claims, key="foreign"))


def test_token_endpoint_fails_then_recovers_and_records_it(oidc: OidcClient) -> None:
    oidc.fault("token", fail_times=2, fail_status=500)
    back = returned(oidc.authorize(authorize_url(oidc)))
    statuses = [exchange(oidc, back["code"]).status_code for _ in range(3)]
    assert statuses == [500, 500, 200]
    outcomes = [r.outcome for r in oidc.requests() if r.path == "/token"]
    assert outcomes == [500, 500, 200]


def test_jwks_can_be_slow_or_drop_the_connection(oidc: OidcClient) -> None:
    oidc.fault("jwks", delay_ms=600)
    start = time.monotonic()
    assert HTTP.get(f"{oidc.issuer}/jwks").status_code == 200
    assert time.monotonic() - start >= 0.55
    oidc.fault("jwks", drop=True)
    with pytest.raises(httpx.HTTPError):
        HTTP.get(f"{oidc.issuer}/jwks")
    assert [r.outcome for r in oidc.requests() if r.path == "/jwks"] == [200, "dropped"]


def test_admin_refuses_what_it_cannot_do(oidc: OidcClient) -> None:
    with pytest.raises(PeerAdminError, match="422"):
        oidc.tamper(key="rot13")
    with pytest.raises(PeerAdminError, match="422"):
        oidc.fault("logout", fail_times=1)
    with pytest.raises(PeerAdminError, match="422"):
        oidc.fault("token", delay_ms=10_000)  # over this run's max_delay_ms


def test_oidc_is_a_registered_peer_kind() -> None:
    kind = PEER_KINDS["oidc"]
    env = kind.submission_env("127.0.0.1", kind.port)
    assert env["OIDC_ISSUER"] == f"http://127.0.0.1:{kind.port}"
    assert set(env) == {"OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_CLIENT_SECRET"}
