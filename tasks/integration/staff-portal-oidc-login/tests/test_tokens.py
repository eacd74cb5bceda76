"""The ID token's checks: signature by the provider's key, issuer, audience, expiry, nonce;
and a code the provider refuses."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from portal import (
    SESSION_COOKIE,
    Browser,
    assert_error,
    assert_refused_and_nothing_stored,
    browser,
    login,
    oidc,
    set_cookies,
    token_requests,
)

__all__ = ["browser", "oidc"]  # fixtures


def tampered_login(browser: Browser, oidc: Any, db: Any, sub: str, **wrong: Any) -> None:
    """A login whose ID token gets `wrong` is 401 invalid_token and stores nothing."""
    oidc.tamper(**wrong)
    answer = login(browser, oidc, sub, email=f"{sub}@example.test", name="Eve")
    assert_error(answer, 401, "invalid_token")
    assert SESSION_COOKIE not in set_cookies(answer), "a refused login set a session cookie"
    assert [r.outcome for r in token_requests(oidc)] == [200]
    assert_refused_and_nothing_stored(db, oidc, sub)


@pytest.mark.rules("token-issuer", "refusal-stores-nothing")
def test_an_id_token_from_another_issuer_is_refused(browser: Browser, oidc, db, unique) -> None:
    tampered_login(browser, oidc, db, unique("staff"), iss="http://127.0.0.1:1/evil-issuer")


@pytest.mark.rules("token-issuer")
def test_the_issuer_must_match_exactly(browser: Browser, oidc, db, unique) -> None:
    tampered_login(browser, oidc, db, unique("staff"), iss=oidc.issuer + "/")


@pytest.mark.rules("token-audience", "refusal-stores-nothing")
def test_an_id_token_for_another_audience_is_refused(browser: Browser, oidc, db, unique) -> None:
    tampered_login(browser, oidc, db, unique("staff"), aud="another-client")


@pytest.mark.rules("token-audience")
def test_an_audience_list_holding_the_client_is_accepted_and_one_without_it_refused(
    client_factory, oidc, db, unique
) -> None:
    sub = unique("staff")
    oidc.tamper(aud=["another-client", oidc.client_id])
    answer = login(Browser(client_factory()), oidc, sub)
    assert answer.status_code == 200, answer.text[:300]
    oidc.reset()
    tampered_login(
        Browser(client_factory()), oidc, db, unique("staff"), aud=["another-client", "third"]
    )


@pytest.mark.rules("token-nonce", "refusal-stores-nothing")
def test_an_id_token_with_another_nonce_is_refused(browser: Browser, oidc, db, unique) -> None:
    tampered_login(browser, oidc, db, unique("staff"), nonce="nonce-of-another-login-0123456789")


@pytest.mark.rules("token-expiry")
def test_an_expired_id_token_is_refused(browser: Browser, oidc, db, unique) -> None:
    tampered_login(browser, oidc, db, unique("staff"), expires_in=-120)


@pytest.mark.rules("token-signature", "refusal-stores-nothing")
def test_an_id_token_signed_by_a_foreign_key_is_refused(
    browser: Browser, oidc, db, unique
) -> None:
    tampered_login(browser, oidc, db, unique("staff"), key="foreign")


@pytest.mark.rules("token-signature")
def test_an_unsigned_id_token_is_refused(browser: Browser, oidc, db, unique) -> None:
    tampered_login(browser, oidc, db, unique("staff"), key="none")


@pytest.mark.rules("token-4xx", "refusal-stores-nothing")
def test_a_code_the_provider_refuses_is_401_invalid_grant(
    browser: Browser, oidc, db, unique
) -> None:
    sub = unique("staff")
    oidc.login_as(sub)
    answer = browser.get("/auth/login")
    assert answer.status_code == 302
    back = oidc.authorize(answer.headers["location"])
    code = httpx.URL(back).params["code"]
    stolen = httpx.post(
        f"{oidc.issuer}/token", auth=(oidc.client_id, oidc.client_secret), timeout=10,
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "http://x/"},
    )  # fmt: skip
    assert stolen.status_code == 400, stolen.text  # the code is now used
    assert_error(browser.get(back), 401, "invalid_grant")
    assert_refused_and_nothing_stored(db, oidc, sub)
