"""The sessions family (CWE-352, CWE-1004): the pure verdict, the declaration, and both ways on
a loopback message board with form logins, one that checks a session-bound token on its form
posts and marks its cookie HttpOnly, and twins that slip on one of them."""

from __future__ import annotations

import html
import re
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from backbench.schema import ProbeSurface
from backbench.scoring.attack_surface import attack_surface, probe_plan, unknown_operations
from backbench.scoring.exploits import sessions
from backbench.scoring.netprobe import run_probes
from backbench.scoring.security import probes_verdict
from tests.loopback import assert_plans_unchanged_without, loopback_servers, write_openapi

NAME = sessions.NAME
SECRET = "s3cret-token-0123456789"
FORM_MEDIA = "application/x-www-form-urlencoded"
ACCOUNT = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}
POST = {
    "type": "object",
    "required": ["title", "site", "csrf_token"],
    "properties": {
        "title": {"type": "string", "maxLength": 80},
        "site": {"type": "string", "format": "uri"},
        # optional, and more than its schema says: empty or an http(s) URL
        "link": {"type": "string", "maxLength": 200},
        "csrf_token": {"type": "string"},
    },
}
PAGE = {"description": "page", "content": {"text/html": {"schema": {"type": "string"}}}}
SEE_OTHER = {"description": "redirect"}


def _form(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {FORM_MEDIA: {"schema": schema}}}


OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "board", "version": "1"},
    "paths": {
        "/": {"get": {"operationId": "home", "responses": {"200": PAGE}}},
        "/signup": {"post": {"operationId": "signup", "requestBody": _form(ACCOUNT),
                             "responses": {"303": SEE_OTHER, "400": PAGE}}},
        "/login": {"post": {"operationId": "login", "requestBody": _form(ACCOUNT),
                            "responses": {"303": SEE_OTHER, "401": PAGE}}},
        "/posts": {"post": {"operationId": "createPost", "requestBody": _form(POST),
                            "responses": {"303": SEE_OTHER, "403": PAGE}}},
    },
}  # fmt: skip
SESSION = {
    "signup": "signup",
    "login": "POST /login",
    "cookie": "sid",
    "forms": [{"action": "createPost", "shows": "GET /"}],
}


def _config(**session: Any) -> dict[str, Any]:
    model = ProbeSurface.model_validate({"session": {**SESSION, **session}})
    return model.model_dump(by_alias=True, exclude_none=True)


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_openapi(tmp_path_factory.mktemp("board"), OPENAPI)


# -- the pure verdict ------------------------------------------------------------------------


def _login(*cookies: str, status: int = 303) -> dict[str, Any]:
    return {"operation": "POST /login", "vector": "log in", "status": status,
            "request": "POST /login", "set_cookies": list(cookies)}  # fmt: skip


def _forged(marker: str, excerpt: str) -> dict[str, Any]:
    sent = {"operation": "POST /posts", "vector": "v", "status": 303, "request": "POST /posts"}
    page = {"operation": "GET /", "status": 200, "marker_excerpt": excerpt}
    return {"vector": "no token", "marker": marker, "sent": sent, "page": page}


@pytest.mark.parametrize(
    ("login", "cookie", "cwes"),
    [
        (_login("sid=abc; Path=/; SameSite=Lax"), "sid", {1004}),
        (_login("sid=abc; Path=/; HttpOnly; SameSite=Lax"), "sid", set()),
        (_login("sid=abc; path=/; httponly"), "sid", set()),  # attribute names: any case
        # only the declared cookie is the session's; a cookie the login deletes holds none
        (_login("theme=dark; Path=/", "sid=abc; HttpOnly"), "sid", set()),
        (_login("theme=dark; Path=/", "sid=abc; HttpOnly"), None, {1004}),
        (_login("sid=; Max-Age=0", "sid=abc; HttpOnly"), "sid", set()),
        (_login("sid=abc", status=401), "sid", set()),  # a refused login sets no session
    ],
)
def test_a_session_cookie_without_httponly_proves_1004(
    login: dict[str, Any], cookie: str | None, cwes: set[int]
) -> None:
    found = sessions.findings({"cookie": cookie, "login": login, "forms": []})
    assert {f["cwe"] for f in found} == cwes


def test_a_forged_post_proves_352_only_when_its_marker_shows() -> None:
    shown = _forged("bbcsrf1", "<li>bbcsrf1</li>")
    assert [f["cwe"] for f in sessions.findings({"forms": [shown]})] == [352]
    # refused, or stored nowhere the page shows: no proof
    assert not sessions.findings({"forms": [_forged("bbcsrf1", "")]})
    assert not sessions.findings({"forms": [_forged("bbcsrf1", "<li>bbcsrf2</li>")]})
    # one finding for the CWE, however many vectors succeeded
    assert len(sessions.findings({"forms": [shown, shown]})) == 1


# -- the declaration -------------------------------------------------------------------------


def test_a_declared_session_plans_1004_and_with_forms_352(contract: Path) -> None:
    planned = [p["id"] for p in probe_plan(contract, _config()) if p["kind"] == NAME]
    assert sorted(planned) == ["cwe-1004", "cwe-352"]
    alone = [p["id"] for p in probe_plan(contract, _config(forms=[])) if p["kind"] == NAME]
    assert alone == ["cwe-1004"]
    assert not [p for p in probe_plan(contract, {}) if p["kind"] == NAME]
    surface = attack_surface(contract, _config())
    assert (surface["session"]["signup"], surface["session"]["login"]) == (
        "POST /signup",
        "POST /login",
    )
    assert surface["session"]["forms"] == [{"action": "POST /posts", "shows": "GET /"}]
    assert surface["session"]["token_field"] == "csrf_token"
    [create] = [op for op in surface["operations"] if op["id"] == "POST /posts"]
    assert create["form"]["required"] == ["title", "site", "csrf_token"]
    assert create["body"] is None  # a form is not a JSON body the other families send


def test_unknown_session_operations_are_reported(contract: Path) -> None:
    config = _config(login="POST /signin", forms=[{"action": "createPost", "shows": "GET /x"}])
    assert unknown_operations(contract, config) == [
        ("session.login", "POST /signin"),
        ("session.forms[0].shows", "GET /x"),
    ]


def test_every_scenarios_plan_is_the_same_with_and_without_the_family(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert_plans_unchanged_without(NAME, monkeypatch, lambda probes: probes.session is not None)


# -- both ways on loopback apps --------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """How the board guards its sessions; the fixed twin does all of it."""

    http_only: bool = True  # the session cookie carries HttpOnly
    checks_token: bool = True  # a form post needs the session's own token
    any_token: bool = False  # the slip: any non-empty token passes
    checks_origin: bool = False  # a defence on its own: a foreign Origin is refused


def _app(policy: Policy) -> type[BaseHTTPRequestHandler]:
    accounts: dict[str, str] = {}
    sessions_by_id: dict[str, tuple[str, str]] = {}  # sid -> (user, token)
    posts: list[tuple[str, str]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silent."""

        def _answer(
            self, status: int, page: str = "", headers: dict[str, str] | None = None
        ) -> None:
            data = page.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _session(self) -> tuple[str, str] | None:
            match = re.search(r"(?:^|;\s*)sid=([^;]+)", self.headers.get("Cookie") or "")
            return sessions_by_id.get(match.group(1)) if match else None

        def do_GET(self) -> None:  # noqa: N802
            with lock:
                current = self._session()
                items = "".join(f"<li>{html.escape(t)} ({html.escape(u)})</li>" for u, t in posts)
                token = current[1] if current else ""
            form = f'<input type="hidden" name="csrf_token" value="{token}">'
            self._answer(200, f"<html><body><ul>{items}</ul>{form}</body></html>")

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fields = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            with lock:
                if self.path in ("/signup", "/login"):
                    return self._log_in(fields)
                current = self._session()
                if current is None:
                    return self._answer(403, "log in first")
                if not self._trusted(fields, current[1]):
                    return self._answer(403, "forbidden")
                bad_link = fields.get("link", "") and not fields["link"].startswith("http")
                if bad_link or not fields.get("site", "").startswith("https://"):
                    return self._answer(400, "bad link")
                posts.append((current[0], fields.get("title", "")))
            self._answer(303, headers={"Location": "/"})

        def _trusted(self, fields: dict[str, str], token: str) -> bool:
            if policy.checks_origin and self.headers.get("Origin", "") != self._own_origin():
                return False
            if not policy.checks_token:
                return True
            given = fields.get("csrf_token", "")
            return bool(given) if policy.any_token else secrets.compare_digest(given, token)

        def _own_origin(self) -> str:
            return f"http://{self.headers.get('Host')}"

        def _log_in(self, fields: dict[str, str]) -> None:
            name, password = fields.get("username", ""), fields.get("password", "")
            if self.path == "/signup":
                accounts.setdefault(name, password)
            if accounts.get(name) != password:
                return self._answer(401, "wrong name or password")
            sid = secrets.token_urlsafe(16)
            sessions_by_id[sid] = (name, secrets.token_urlsafe(16))
            flags = "; HttpOnly" if policy.http_only else ""
            cookie = f"sid={sid}; Path=/; SameSite=Lax{flags}"
            self._answer(303, headers={"Location": "/", "Set-Cookie": cookie})

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    with loopback_servers() as start_server:
        yield lambda policy: start_server(_app(policy))


@pytest.mark.parametrize(
    ("policy", "cwes"),
    [
        (Policy(), set()),
        (Policy(checks_token=False, checks_origin=True), set()),  # Origin alone also defends
        (Policy(http_only=False), {"cwe-1004"}),
        (Policy(checks_token=False), {"cwe-352"}),
        (Policy(any_token=True), {"cwe-352"}),
    ],
    ids=["fixed", "origin check", "script-readable cookie", "no token check", "any token"],
)
def test_the_family_catches_forged_posts_and_readable_session_cookies(
    policy: Policy, cwes: set[str], serve: Any, contract: Path
) -> None:
    plan = [p for p in probe_plan(contract, _config()) if p["kind"] == NAME]
    evidence = run_probes(serve(policy), plan, SECRET)
    assert {pid for pid, _, _ in probes_verdict(evidence)} == cwes


def test_the_fixed_board_takes_a_post_with_its_token_so_its_pass_is_no_accident(
    serve: Any,
) -> None:
    base = serve(Policy())
    with httpx.Client(base_url=base) as browser:
        browser.post("/signup", data={"username": "ann", "password": "pw"})
        token = re.search(r'value="([^"]+)"', browser.get("/").text)
        assert token is not None
        form = {"title": "bbmine", "site": "https://example.com/", "csrf_token": token.group(1)}
        answer = browser.post("/posts", data=form)
        assert answer.status_code == 303
        assert "bbmine" in browser.get("/").text
