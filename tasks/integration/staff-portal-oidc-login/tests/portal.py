"""What the staff-portal tests share: a browser that keeps its own cookies (and shows every
cookie's attributes), the login flow played through the provider peer, the error body check
and the stored users and sessions."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

LOGIN_COOKIE = "portal_login"
SESSION_COOKIE = "portal_session"


@dataclass
class SetCookie:
    """One Set-Cookie header of an answer, parsed."""

    name: str
    value: str
    attrs: dict[str, Any]

    @property
    def cleared(self) -> bool:
        """Max-Age=0 (or less), or an Expires in the past."""
        max_age = str(self.attrs.get("max-age") or "")
        if max_age.lstrip("-").isdigit() and int(max_age) <= 0:
            return True
        expires = str(self.attrs.get("expires") or "")
        if expires:
            from email.utils import parsedate_to_datetime
            from datetime import datetime, timezone

            try:
                return parsedate_to_datetime(expires) <= datetime.now(timezone.utc)
            except (TypeError, ValueError):
                return False
        return False


def set_cookies(response: httpx.Response) -> dict[str, SetCookie]:
    """The cookies an answer sets, by name (the last header of a name wins)."""
    found: dict[str, SetCookie] = {}
    for header in response.headers.get_list("set-cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            attrs = {k: v for k, v in morsel.items() if v not in ("", None)}
            found[name] = SetCookie(name, morsel.value, attrs)
    return found


def assert_cookie_flags(cookie: SetCookie) -> None:
    """HttpOnly, SameSite=Lax and Path=/."""
    assert cookie.attrs.get("httponly"), (cookie.name, "has no HttpOnly", cookie.attrs)
    assert str(cookie.attrs.get("samesite", "")).lower() == "lax", (cookie.name, cookie.attrs)
    assert cookie.attrs.get("path") == "/", (cookie.name, cookie.attrs)


@dataclass
class Browser:
    """A browser of the portal: it keeps the cookies the portal sets and sends them back."""

    client: httpx.Client
    cookies: dict[str, str] = field(default_factory=dict)

    def send(
        self, method: str, url: str, cookies: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """One request with this browser's cookies (or exactly `cookies`), no redirect
        followed; the cookies it sets are kept, the ones it clears dropped."""
        jar = self.cookies if cookies is None else cookies
        headers = dict(kwargs.pop("headers", {}))
        if jar:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in jar.items())
        self.client.cookies.clear()
        response = self.client.request(method, url, headers=headers, **kwargs)
        self.client.cookies.clear()
        for name, cookie in set_cookies(response).items():
            if cookie.cleared:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = cookie.value
        return response

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.send("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.send("POST", url, **kwargs)


def query_of(url: str) -> dict[str, str]:
    """A URL's query parameters (each given once)."""
    params = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert all(len(v) == 1 for v in params.values()), url
    return {k: v[0] for k, v in params.items()}


def start(browser: Browser) -> tuple[httpx.Response, dict[str, str]]:
    """GET /auth/login: the 302 and the authorization request's parameters."""
    answer = browser.get("/auth/login")
    assert answer.status_code == 302, (answer.status_code, answer.text[:300])
    return answer, query_of(answer.headers["location"])


def to_provider(browser: Browser, oidc: Any) -> str:
    """Start a login and let the provider log the chosen user in: the callback URL."""
    answer, _ = start(browser)
    return str(oidc.authorize(answer.headers["location"]))


def login(browser: Browser, oidc: Any, sub: str, **claims: Any) -> httpx.Response:
    """A whole login of `sub` (claims such as email and name): the callback's answer."""
    oidc.login_as(sub, **claims)
    return browser.get(to_provider(browser, oidc))


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The answer is `status` with {"error": {"code": code, "message": <text>}}."""
    assert response.status_code == status, (
        response.request.method, str(response.request.url)[:200], response.status_code,
        response.text[:300],
    )  # fmt: skip
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), body
    assert body["error"].get("code") == code, body
    assert isinstance(body["error"].get("message"), str), body


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def stored_user(db: Any, sub: str) -> tuple[Any, ...] | None:
    rows = db.execute("SELECT sub, email, name FROM users WHERE sub = %s", (sub,)).fetchall()
    assert len(rows) <= 1, rows
    return tuple(rows[0]) if rows else None


def session_count(db: Any, sub: str) -> int:
    return int(db.scalar("SELECT count(*) FROM sessions WHERE user_sub = %s", (sub,)))


def token_requests(oidc: Any) -> list[Any]:
    return [r for r in oidc.requests() if r.path == "/token"]


def assert_refused_and_nothing_stored(db: Any, oidc: Any, sub: str) -> None:
    """No user and no session for `sub`."""
    assert stored_user(db, sub) is None, "a refused login stored its user"
    assert session_count(db, sub) == 0, "a refused login started a session"


@pytest.fixture
def oidc(peers: Any) -> Iterator[Any]:
    """The provider, honest and with no faults, for this test and after it."""
    provider = peers.oidc
    provider.reset()
    yield provider
    provider.reset()


@pytest.fixture
def browser(client_factory: Any) -> Browser:
    """A fresh browser (the deadline client of the kit, its answers checked against the
    contract) with no cookies."""
    return Browser(client_factory())
