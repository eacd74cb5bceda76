"""What the community-board tests share: an HTML parser of the pages, visitors with a cookie
jar of their own (sign up, log in, read the CSRF token, post), and what is stored."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

MiB = 1024 * 1024
MAX_ID = 2**63 - 1
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
PASSWORD = "correct horse battery"
# markup a browser would act on, typed into every field the tests fill
PAYLOADS = [
    "<script>bbxss()</script>",
    '"><img src=x onerror=bbxss()>',
    "' onmouseover='bbxss()' x='",
    '" autofocus onfocus="bbxss()" x="',
    "</textarea></title><svg onload=bbxss()>",
    "&lt;b&gt;not bold&lt;/b&gt; &amp; &#60;i&#62;",
]
# elements no page of the board has, which an injection would add
FOREIGN_TAGS = {"img", "svg", "iframe", "object", "embed"}


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]


@dataclass
class Page:
    """A page as a browser's parser sees it: its elements and their attributes, and its text."""

    status: int
    elements: list[Element] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e for e in self.elements
            if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]  # fmt: skip

    def links(self) -> list[str]:
        return [e.attrs.get("href", "") for e in self.elements if e.tag == "a"]

    def input_value(self, name: str) -> str | None:
        found = [e for e in self.elements if e.tag == "input" and e.attrs.get("name") == name]
        return found[0].attrs.get("value") if found else None

    def flat_text(self) -> str:
        return re.sub(r"\s+", " ", self.text)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.chunks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append(Element(tag, {k: v or "" for k, v in attrs}))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)


def parse(response: httpx.Response) -> Page:
    """The response, which must be an HTML page, parsed."""
    kind = response.headers.get("content-type", "")
    assert kind.split(";")[0].strip().lower() == "text/html", (response.status_code, kind)
    parser = _Parser()
    parser.feed(response.text)
    parser.close()
    return Page(response.status_code, parser.elements, "".join(parser.chunks))


def assert_inert(page: Page) -> None:
    """No element or attribute that an injection would add: no inline script, no img, svg and
    the like, no event-handler or style attribute."""
    for e in page.elements:
        assert e.tag not in FOREIGN_TAGS, f"injected <{e.tag} {e.attrs}>"
        assert e.tag != "script" or "src" in e.attrs, f"injected inline <script> {e.attrs}"
        for name, value in e.attrs.items():
            assert not name.startswith("on"), f"injected attribute {name}={value!r} on <{e.tag}>"
            assert name not in ("style", "x"), f"injected {name}={value!r} on <{e.tag}>"


def shows(page: Page, text: str) -> bool:
    """Whether the page's text holds `text` (runs of whitespace compared as one space)."""
    return re.sub(r"\s+", " ", text) in page.flat_text()


def location(response: httpx.Response) -> str:
    assert response.status_code == 303, (response.status_code, response.text[:300])
    assert response.content == b"", response.content[:200]
    return response.headers["location"]


def set_cookie(response: httpx.Response, name: str = "session") -> tuple[str, set[str]] | None:
    """(value, lowercased attributes) of the response's Set-Cookie for `name`, else None."""
    for header in response.headers.get_list("set-cookie"):
        first, *attributes = [p.strip() for p in header.split(";")]
        key, _, value = first.partition("=")
        if key.strip() == name:
            return value.strip(), {a.lower().replace(" ", "") for a in attributes}
    return None


def form_action_next(page: Page) -> str | None:
    """The `next` of the login form's action, decoded."""
    for form in page.find("form", method="post"):
        action = form.attrs.get("action", "")
        if urlsplit(action).path == "/login":
            values = parse_qs(urlsplit(action).query).get("next")
            return values[0] if values else None
    return None


@dataclass
class Visitor:
    """Someone with a browser: a client of their own that keeps its cookies."""

    client: httpx.Client
    username: str = ""
    password: str = PASSWORD

    def signup(self, username: str, password: str = PASSWORD) -> httpx.Response:
        response = self.client.post("/signup", data={"username": username, "password": password})
        assert response.status_code == 303, (response.status_code, response.text[:300])
        self.username, self.password = username, password
        return response

    def login(self, next_: str | None = None) -> httpx.Response:
        params = {"next": next_} if next_ is not None else None
        return self.client.post(
            "/login", params=params, data={"username": self.username, "password": self.password}
        )

    def plant(self, value: str) -> None:
        """Set the session cookie as the server would have (one cookie of that name)."""
        self.client.cookies.set("session", value, domain=self.client.base_url.host, path="/")

    @property
    def cookie(self) -> str | None:
        return self.client.cookies.get("session")

    def page(self, path: str, **params: Any) -> Page:
        response = self.client.get(path, params=params or None)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        return parse(response)

    def token(self) -> str:
        """The CSRF token of the new-post form."""
        value = self.page("/posts/new").input_value("csrf_token")
        assert value, "the new-post form has no csrf_token field"
        return value

    def send_post(self, token: Any = ..., **fields: str) -> httpx.Response:
        """POST /posts with the fields; the session's own token unless one is given (None
        sends none)."""
        data = dict(fields)
        if token is not None:
            data["csrf_token"] = self.token() if token is ... else token
        return self.client.post("/posts", data=data)

    def post(self, title: str, body: str = "Body text", link: str = "") -> int:
        """A new post of this visitor's; its id."""
        where = location(self.send_post(title=title, body=body, link=link))
        match = re.fullmatch(r"/posts/([1-9][0-9]*)", where)
        assert match, where
        return int(match.group(1))


class Visitors:
    def __init__(self, factory: Callable[..., httpx.Client], unique: Callable[..., str]) -> None:
        self.factory = factory
        self.unique = unique

    def anonymous(self) -> Visitor:
        return Visitor(self.factory())

    def member(self, prefix: str = "user") -> Visitor:
        """A visitor with a new account, logged in."""
        visitor = self.anonymous()
        visitor.signup(self.unique(prefix[:6]))  # at most 39 characters
        assert visitor.cookie, "signing up set no session cookie"
        return visitor


@pytest.fixture
def visitors(client_factory: Callable[..., httpx.Client], unique: Callable[..., str]) -> Visitors:
    return Visitors(client_factory, unique)


def stored_post(db: Any, post_id: int) -> tuple[Any, ...] | None:
    """(username, title, body, link or '') of a stored post, or None."""
    row = db.execute(
        "SELECT u.username, p.title, p.body, p.link FROM posts p JOIN users u ON u.id = p.user_id"
        " WHERE p.id = %s",
        (post_id,),
    ).fetchone()
    return None if row is None else (row[0], row[1], row[2], row[3] or "")


def posts_titled(db: Any, title: str) -> int:
    return int(db.scalar("SELECT count(*) FROM posts WHERE title = %s", (title,)))


def users_named(db: Any, username: str) -> int:
    return int(db.scalar("SELECT count(*) FROM users WHERE username = %s", (username,)))


def stamp() -> str:
    return str(time.time_ns())
