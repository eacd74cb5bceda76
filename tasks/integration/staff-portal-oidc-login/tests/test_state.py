"""The callback's first checks: the login attempt its cookie names, the state and the code."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest
from portal import (
    LOGIN_COOKIE,
    Browser,
    assert_error,
    assert_refused_and_nothing_stored,
    browser,
    login,
    oidc,
    query_of,
    session_count,
    to_provider,
    token_requests,
)

__all__ = ["browser", "oidc"]  # fixtures


def callback_with(url: str, **params: str | None) -> str:
    """The callback URL with some parameters replaced (None: left out)."""
    query = {**query_of(url), **params}
    parts = urlsplit(url)
    kept = {k: v for k, v in query.items() if v is not None}
    return f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(kept)}"


@pytest.mark.rules("state-check", "no-provider-call", "refusal-stores-nothing")
def test_a_callback_with_another_state_is_refused_before_the_provider_is_called(
    browser: Browser, oidc, db, unique
) -> None:
    sub = unique("staff")
    oidc.login_as(sub)
    oidc.tamper(state="state-" + unique("forged"))
    back = to_provider(browser, oidc)
    assert_error(browser.get(back), 400, "invalid_state")
    assert token_requests(oidc) == [], "the code was exchanged despite the wrong state"
    assert_refused_and_nothing_stored(db, oidc, sub)


@pytest.mark.rules("state-check", "state-missing")
def test_a_callback_without_state_is_refused(browser: Browser, oidc, db, unique) -> None:
    sub = unique("staff")
    oidc.login_as(sub)
    back = to_provider(browser, oidc)
    assert_error(browser.get(callback_with(back, state=None)), 400, "invalid_state")
    assert token_requests(oidc) == []
    assert_refused_and_nothing_stored(db, oidc, sub)


@pytest.mark.rules("state-cookie", "no-provider-call")
def test_a_callback_without_the_login_cookie_is_refused(
    browser: Browser, oidc, db, unique
) -> None:
    sub = unique("staff")
    oidc.login_as(sub)
    back = to_provider(browser, oidc)
    assert_error(browser.get(back, cookies={}), 400, "invalid_state")
    assert_error(browser.get(back, cookies={LOGIN_COOKIE: "made-up"}), 400, "invalid_state")
    assert token_requests(oidc) == []
    assert_refused_and_nothing_stored(db, oidc, sub)


@pytest.mark.rules("state-cookie", "refusal-stores-nothing")
def test_a_callback_carrying_another_browsers_state_is_refused(
    client_factory, oidc, db, unique
) -> None:
    victim, attacker = Browser(client_factory()), Browser(client_factory())
    planted = unique("attacker")
    oidc.login_as(planted)
    to_provider(victim, oidc)  # the victim's own login, pending
    attacker_back = to_provider(attacker, oidc)
    # the attacker's callback (its code and state) delivered to the victim's browser
    assert_error(victim.get(attacker_back), 400, "invalid_state")
    assert token_requests(oidc) == []
    assert_refused_and_nothing_stored(db, oidc, planted)
    # the attacker's own attempt is untouched and completes in its own browser
    assert attacker.get(attacker_back).status_code == 200


@pytest.mark.rules("attempt-lifetime", "state-cookie")
def test_logins_started_in_two_browsers_both_complete(client_factory, oidc, db, unique) -> None:
    first, second = Browser(client_factory()), Browser(client_factory())
    sub = unique("staff")
    oidc.login_as(sub)
    first_back = to_provider(first, oidc)
    second_back = to_provider(second, oidc)
    assert second.get(second_back).status_code == 200
    answer = first.get(first_back)
    assert answer.status_code == 200, "a later login lost the pending attempt of another browser"
    assert session_count(db, sub) == 2


@pytest.mark.rules("state-once")
def test_a_replayed_callback_is_refused(browser: Browser, oidc, db, unique) -> None:
    sub = unique("staff")
    oidc.login_as(sub)
    back = to_provider(browser, oidc)
    cookies = dict(browser.cookies)
    assert browser.get(back, cookies=cookies).status_code == 200
    assert_error(browser.get(back, cookies=cookies), 400, "invalid_state")
    assert session_count(db, sub) == 1
    assert len(token_requests(oidc)) == 1, "the replayed code was sent to the provider"


@pytest.mark.rules("state-once")
def test_an_attempt_is_used_up_by_a_refused_callback_too(
    browser: Browser, oidc, db, unique
) -> None:
    sub = unique("staff")
    oidc.login_as(sub)
    back = to_provider(browser, oidc)
    cookies = dict(browser.cookies)
    assert_error(browser.get(callback_with(back, code=None), cookies=cookies), 400, "invalid_request")
    assert_error(browser.get(back, cookies=cookies), 400, "invalid_state")
    assert_refused_and_nothing_stored(db, oidc, sub)


@pytest.mark.rules("code-missing")
def test_a_callback_without_a_code_is_400_invalid_request(
    browser: Browser, oidc, db, unique
) -> None:
    sub = unique("staff")
    oidc.login_as(sub)
    back = to_provider(browser, oidc)
    assert_error(browser.get(callback_with(back, code=None)), 400, "invalid_request")
    assert token_requests(oidc) == []
    assert_refused_and_nothing_stored(db, oidc, sub)
    assert login(Browser(browser.client), oidc, sub).status_code == 200
