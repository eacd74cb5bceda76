"""The login_throttling family (CWE-307): the pure verdict, the declaration, and both ways on a
loopback account service, one that locks an account after its wrong passwords and one that
does not."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from backbench.schema import ProbeSurface
from backbench.scoring.attack_surface import attack_surface, probe_plan, unknown_operations
from backbench.scoring.exploits import login_throttling
from backbench.scoring.netprobe import run_probes
from backbench.scoring.security import probes_verdict
from tests.loopback import (
    assert_plans_unchanged_without,
    loopback_servers,
    send_json,
    write_openapi,
)

NAME = login_throttling.NAME
SECRET = "s3cret-token-0123456789"
ALLOWED = 5  # wrong passwords an account may be sent, as the toy contract states
ACCOUNT = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}
JSON = {"content": {"application/json": {"schema": ACCOUNT}}}
OK = {"description": "ok", "content": {"application/json": {"schema": {}}}}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "accounts", "version": "1"},
    "paths": {
        "/health": {"get": {"responses": {"200": OK}}},
        "/accounts": {"post": {"operationId": "signup", "requestBody": JSON,
                               "responses": {"201": OK, "409": OK}}},
        "/login": {"post": {"operationId": "login", "requestBody": JSON,
                            "responses": {"200": OK, "401": OK, "429": OK}}},
    },
}  # fmt: skip
LOGIN = {"signup": "signup", "login": "POST /login", "attempts": ALLOWED}


def _config(**login: Any) -> dict[str, Any]:
    model = ProbeSurface.model_validate({"login": {**LOGIN, **login}})
    return model.model_dump(by_alias=True, exclude_none=True)


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_openapi(tmp_path_factory.mktemp("accounts"), OPENAPI)


# -- the pure verdict ------------------------------------------------------------------------


def _r(status: int | None) -> dict[str, Any]:
    return {"operation": "POST /login", "vector": "v", "status": status, "body": "",
            "request": "POST /login"}  # fmt: skip


def _evidence(wrong: list[int], after: int | None) -> dict[str, Any]:
    return {"attempts": ALLOWED, "baseline": _r(200), "wrong": [_r(s) for s in wrong],
            "after": _r(after)}  # fmt: skip


@pytest.mark.parametrize(
    ("wrong", "after", "cwes"),
    [
        ([401] * 8, 200, {307}),  # never locked: the right password still served
        ([401] * 5 + [429] * 3, 200, {307}),  # locked, yet the right password lifts it
        ([401] * 5 + [429] * 3, 429, set()),  # locked, the right password refused too
        ([401] * 8, 401, set()),
        ([401] * 3 + [200] + [401] * 4, 200, set()),  # a wrong password served: not this CWE
        ([], 200, set()),  # nothing sent: nothing judged
    ],
)
def test_the_right_password_served_after_the_wrong_ones_proves_307(
    wrong: list[int], after: int, cwes: set[int]
) -> None:
    found = login_throttling.findings(_evidence(wrong, after))
    assert {f["cwe"] for f in found} == cwes


# -- the declaration -------------------------------------------------------------------------


def test_the_schema_fills_the_field_names_and_bounds_the_attempts() -> None:
    login = _config()["login"]
    assert (login["username_field"], login["password_field"]) == ("username", "password")
    for attempts in (0, 21):
        with pytest.raises(ValidationError):
            _config(attempts=attempts)


def test_a_declared_login_plans_307_with_its_operations_as_labels(contract: Path) -> None:
    assert [p["id"] for p in probe_plan(contract, _config()) if p["kind"] == NAME] == ["cwe-307"]
    surface = attack_surface(contract, _config())
    assert (surface["login"]["signup"], surface["login"]["login"]) == (
        "POST /accounts",
        "POST /login",
    )
    assert not [p for p in probe_plan(contract, {}) if p["kind"] == NAME]
    assert unknown_operations(contract, _config(login="POST /signin")) == [
        ("login.login", "POST /signin")
    ]


def test_every_scenarios_plan_is_the_same_with_and_without_the_family(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert_plans_unchanged_without(NAME, monkeypatch, lambda probes: probes.login is not None)


# -- both ways on loopback apps --------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """How the account service treats wrong passwords; the fixed twin locks the account."""

    locks: bool = True  # after ALLOWED wrong passwords, every login is 429 (the right one too)
    right_unlocks: bool = False  # the classic slip: the right password resets the count


def _app(policy: Policy) -> type[BaseHTTPRequestHandler]:
    accounts: dict[str, str] = {}
    failures: dict[str, int] = {}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silent."""

        def _send(self, status: int, payload: Any) -> None:
            send_json(self, status, payload)

        def do_GET(self) -> None:  # noqa: N802
            self._send(200, {"status": "ok"})

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw or b"{}")
            name, password = str(body.get("username")), str(body.get("password"))
            with lock:
                if self.path == "/accounts":
                    if name in accounts:
                        return self._send(409, {"detail": "taken"})
                    accounts[name] = password
                    return self._send(201, {"username": name})
                locked = policy.locks and failures.get(name, 0) >= ALLOWED
                if accounts.get(name) == password and (not locked or policy.right_unlocks):
                    failures[name] = 0
                    return self._send(200, {"token": "t"})
                if locked:
                    return self._send(429, {"detail": "too many attempts"})
                failures[name] = failures.get(name, 0) + 1
                return self._send(401, {"detail": "wrong name or password"})

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    with loopback_servers() as start_server:
        yield lambda policy: start_server(_app(policy))


@pytest.mark.parametrize(
    ("policy", "cwes"),
    [(Policy(), set()), (Policy(locks=False), {"cwe-307"}),
     (Policy(right_unlocks=True), {"cwe-307"})],
    ids=["locks the account", "never locks", "the right password unlocks"],
)  # fmt: skip
def test_the_family_catches_an_account_that_keeps_taking_passwords(
    policy: Policy, cwes: set[str], serve: Any, contract: Path
) -> None:
    plan = [p for p in probe_plan(contract, _config()) if p["kind"] == NAME]
    evidence = run_probes(serve(policy), plan, SECRET)
    assert {pid for pid, _, _ in probes_verdict(evidence)} == cwes
    [entry] = [e for e in evidence if e.get("kind") == NAME]
    assert entry["requests"] == 3 + ALLOWED + login_throttling.MARGIN  # register, 2 right, wrong
