"""A token endpoint that fails, drops the connection or answers too late: 502 in bounded time."""

from __future__ import annotations

import time
from typing import Any

import pytest
from portal import (
    Browser,
    assert_error,
    assert_refused_and_nothing_stored,
    browser,
    login,
    oidc,
    to_provider,
)

__all__ = ["browser", "oidc"]  # fixtures


def refused_502(browser: Browser, oidc: Any, db: Any, sub: str, bound: float) -> None:
    oidc.login_as(sub)
    back = to_provider(browser, oidc)
    started = time.monotonic()
    answer = browser.get(back, extensions={"deadline": 12})
    took = time.monotonic() - started
    assert_error(answer, 502, "provider_unavailable")
    assert took <= bound, f"the 502 took {took:.1f} s"
    assert_refused_and_nothing_stored(db, oidc, sub)


@pytest.mark.rules("token-502", "refusal-stores-nothing")
def test_a_token_endpoint_that_drops_the_connection_is_502(
    browser: Browser, oidc, db, unique
) -> None:
    oidc.fault("token", drop=True)
    refused_502(browser, oidc, db, unique("staff"), bound=6.0)


@pytest.mark.rules("token-502")
def test_a_token_endpoint_answering_5xx_or_no_id_token_is_502(browser: Browser, oidc, db, unique) -> None:
    oidc.fault("token", fail_times=1, fail_status=503)
    refused_502(browser, oidc, db, unique("staff"), bound=6.0)
    oidc.fault("token", fail_times=1, fail_status=500)
    refused_502(Browser(browser.client), oidc, db, unique("staff"), bound=6.0)
    oidc.fault("token", fail_times=1, fail_status=200)  # 200 {"error": ...}: no id_token
    refused_502(Browser(browser.client), oidc, db, unique("staff"), bound=6.0)
    sub = unique("staff")  # the provider answers again
    assert login(Browser(browser.client), oidc, sub).status_code == 200


@pytest.mark.rules("token-timeout")
def test_a_token_endpoint_slower_than_5_s_is_502_within_6_s(
    browser: Browser, oidc, db, unique
) -> None:
    oidc.fault("token", delay_ms=9000)
    refused_502(browser, oidc, db, unique("staff"), bound=6.0)
