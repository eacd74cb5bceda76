"""The security_headers family: its pure verdict on hand-written answers, and both ways on a
loopback app whose HTML page carries one set of defence headers or another."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from backbench.catalogue import all_scenarios
from backbench.scoring.attack_surface import attack_surface, possible_probe_ids, probe_plan
from backbench.scoring.exploits import security_headers
from backbench.scoring.exploits._send import Target
from backbench.scoring.netprobe import run_probes
from backbench.scoring.security import probes_verdict
from backbench.testkit.http import deadline_client
from tests.loopback import loopback_servers, write_openapi

SECRET = "s3cret-token-0123456789"
CSP, XFO, XCTO = "Content-Security-Policy", "X-Frame-Options", "X-Content-Type-Options"
FIXED = {CSP: "default-src 'self'; frame-ancestors 'none'", XCTO: "nosniff"}
HTML = {"200": {"description": "a page", "content": {"text/html": {"schema": {"type": "string"}}}}}
JSON = {"200": {"description": "data", "content": {"application/json": {"schema": {}}}}}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "pages", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        # the page a browser renders: behind credentials, so the probe must send them
        "/page": {"get": {"security": [{"bearer": []}], "responses": HTML}},
        # documented JSON: never fetched, though this app serves it as a bare HTML page
        "/data": {"get": {"responses": JSON}},
        # documented as a page, yet this app answers JSON, or an error page
        "/report": {"get": {"responses": HTML}},
        "/missing": {"get": {"responses": {**HTML, "404": HTML["200"]}}},
        # HTML only as an error answer: not a page
        "/search": {"get": {"responses": {**JSON, "400": HTML["200"]}}},
    },
}
CONFIG = {"credentials": {"token": "{secret}"}}


# -- the pure verdict ------------------------------------------------------------------------


def _answer(
    headers: dict[str, str], status: int = 200, content_type: str = "text/html; charset=utf-8"
) -> dict[str, Any]:
    """One recorded answer to GET /page, as Target.send records it (headers lowercased)."""
    return {
        "operation": "GET /page", "vector": "page", "request": "GET /page",
        "status": status, "content_type": content_type,
        "headers": {k.lower(): v for k, v in headers.items()},
    }  # fmt: skip


def _cwes(*answers: dict[str, Any]) -> set[int]:
    return {f["cwe"] for f in security_headers.findings({"attempts": list(answers)})}


VERDICTS = [
    ("no headers", {}, {693, 1021}),
    ("fixed", FIXED, set()),
    ("X-Frame-Options only", {XFO: "DENY"}, {693}),
    ("sameorigin and a strict policy", {XFO: "SAMEORIGIN", CSP: "default-src 'self'",
                                        XCTO: "nosniff"}, set()),
    ("no nosniff", {CSP: "default-src 'self'; frame-ancestors 'self'"}, {693}),
    ("nosniff only", {XCTO: "nosniff"}, {693, 1021}),
    ("unsafe-inline", {**FIXED, CSP: "script-src 'unsafe-inline'; frame-ancestors 'none'"},
     {693}),
    ("unsafe-inline with a nonce",
     {**FIXED, CSP: "script-src 'self' 'unsafe-inline' 'nonce-r4nd0m'; frame-ancestors 'none'"},
     set()),
    ("unsafe-inline with a hash",
     {**FIXED, CSP: "default-src 'unsafe-inline' 'sha256-abc='; frame-ancestors 'none'"}, set()),
    ("unsafe-inline by default-src",
     {**FIXED, CSP: "default-src 'self' 'UNSAFE-INLINE'; frame-ancestors 'none'"}, {693}),
    ("any-origin scripts", {**FIXED, CSP: "script-src *; frame-ancestors 'none'"}, {693}),
    ("script-src overrides default-src",
     {**FIXED, CSP: "default-src *; script-src 'self'; frame-ancestors 'none'"}, set()),
    ("a policy without script limits", {**FIXED, CSP: "frame-ancestors 'none'"}, {693}),
    ("frame-ancestors any overrides DENY", {**FIXED, XFO: "DENY",
                                            CSP: "default-src 'self'; frame-ancestors *"},
     {1021}),
    ("X-Frame-Options ALLOWALL", {XFO: "ALLOWALL", XCTO: "nosniff", CSP: "default-src 'self'"},
     {1021}),
    ("two policies, one strict", {XCTO: "nosniff",
                                  CSP: "script-src *, default-src 'none'; frame-ancestors 'none'"},
     set()),
]  # fmt: skip


@pytest.mark.parametrize(("case", "headers", "cwes"), VERDICTS, ids=[v[0] for v in VERDICTS])
def test_the_verdict_reads_the_pages_defence_headers(
    case: str, headers: dict[str, str], cwes: set[int]
) -> None:
    assert _cwes(_answer(headers)) == cwes


@pytest.mark.parametrize(
    ("status", "content_type"),
    [(200, "application/json"), (200, "text/plain"), (404, "text/html"), (500, "text/html"),
     (302, "text/html"), (None, "")],
)  # fmt: skip
def test_json_text_and_error_answers_are_never_flagged(
    status: int | None, content_type: str
) -> None:
    assert _cwes({**_answer({}), "status": status, "content_type": content_type}) == set()


def test_a_finding_keeps_the_request_and_the_headers_seen_or_missing() -> None:
    bare = _answer({XFO: "DENY"})
    [found] = security_headers.findings({"attempts": [bare, bare]})  # one per CWE
    assert (found["cwe"], found["operation"], found["request"]) == (693, "GET /page", "GET /page")
    assert "no Content-Security-Policy" in found["signal"] and "nosniff" in found["signal"]
    assert found["proof"] == (
        "HTTP 200 text/html; charset=utf-8; no Content-Security-Policy; X-Frame-Options: DENY; "
        "no X-Content-Type-Options"
    )


# -- the surface and the plan ----------------------------------------------------------------


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_openapi(tmp_path_factory.mktemp("pages"), OPENAPI)


def test_only_a_documented_2xx_html_answer_of_a_get_is_a_page(contract: Path) -> None:
    ops = {op["id"]: op for op in attack_surface(contract, CONFIG)["operations"]}
    assert {i for i, op in ops.items() if op["html_success"]} == {
        "GET /page", "GET /report", "GET /missing"
    }  # fmt: skip
    assert ops["GET /search"]["serves_html"]  # an HTML error answer is still HTML to XSS


def test_the_family_plans_nothing_without_a_page(tmp_path: Path) -> None:
    paths = {k: v for k, v in OPENAPI["paths"].items() if k in ("/health", "/data", "/search")}
    json_only = write_openapi(tmp_path, {**OPENAPI, "paths": paths})
    assert not security_headers.applies(attack_surface(json_only, CONFIG))
    post_page = write_openapi(
        tmp_path, {**OPENAPI, "paths": {"/page": {"post": {"responses": HTML}}}}
    )
    assert not security_headers.applies(attack_surface(post_page, CONFIG))


def test_only_the_scenarios_that_serve_html_pages_plan_the_family() -> None:
    # a JSON service's `cwes:` and validation records stay as they are; a page-serving one's
    # plan holds both CWEs
    pages = set()
    for scenario in all_scenarios():
        planned = {p["id"] for p in scenario.probes if p["kind"] == "security_headers"}
        surface = scenario.probes[0]["surface"] if scenario.probes else {}
        if security_headers.applies(surface):
            pages.add(scenario.id)
            assert planned == {"cwe-693", "cwe-1021"}, scenario.id
        else:
            assert not planned, scenario.id
            assert {"cwe-693", "cwe-1021"}.isdisjoint(possible_probe_ids(scenario.probes))
    assert "community-board-html" in pages


# -- both ways on a loopback app -------------------------------------------------------------


def _app(defences: dict[str, str]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out apart: no 40 ms ACK wait

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silent."""

        def _send(self, status: int, body: str, kind: str, headers: dict[str, str]) -> None:
            data = body.encode()
            self.send_response(status)
            for k, v in {**headers, "Content-Type": kind}.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            html = "text/html; charset=utf-8"
            if path == "/page" and self.headers.get("Authorization") != f"Bearer {SECRET}":
                return self._send(401, json.dumps({"detail": "who?"}), "application/json", {})
            if path == "/page":
                return self._send(200, "<h1>report</h1>", html, defences)
            if path in ("/data", "/search"):
                return self._send(200, "<p>data</p>", html, {})
            if path == "/report":
                return self._send(200, json.dumps({"rows": []}), "application/json", {})
            if path == "/missing":
                return self._send(404, "<p>not found</p>", html, {})
            self._send(200, json.dumps({"status": "ok"}), "application/json", {})

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    with loopback_servers() as start_server:
        yield lambda defences: start_server(_app(defences))


LOOPBACK = [
    ("no headers", {}, {"cwe-693", "cwe-1021"}),
    ("fixed twin", FIXED, set()),
    ("X-Frame-Options DENY only", {XFO: "DENY"}, {"cwe-693"}),
    ("inline scripts", {**FIXED, CSP: "script-src 'unsafe-inline'; frame-ancestors 'none'"},
     {"cwe-693"}),
    ("inline scripts with a nonce",
     {**FIXED, CSP: "script-src 'unsafe-inline' 'nonce-r4nd0m'; frame-ancestors 'none'"}, set()),
]  # fmt: skip


@pytest.mark.parametrize(("case", "defences", "cwes"), LOOPBACK, ids=[c[0] for c in LOOPBACK])
def test_the_family_judges_the_page_the_server_serves(
    case: str, defences: dict[str, str], cwes: set[str], serve: Any, contract: Path
) -> None:
    plan = [p for p in probe_plan(contract, CONFIG) if p["kind"] == "security_headers"]
    assert [p["id"] for p in plan] == ["cwe-693", "cwe-1021"]
    evidence = run_probes(serve(defences), plan, SECRET)
    assert {pid for pid, _, _ in probes_verdict(evidence)} == cwes


def test_only_documented_pages_are_fetched_and_with_credentials(serve: Any, contract: Path) -> None:
    surface = attack_surface(contract, CONFIG)
    with deadline_client(serve({}), deadline=5.0) as client:
        attempts = security_headers.probe(Target(client, surface, SECRET))["attempts"]
    seen = {a["operation"]: a["status"] for a in attempts}
    assert seen == {"GET /page": 200, "GET /report": 200, "GET /missing": 404}
    assert "<APP_SECRET>" in next(a["request"] for a in attempts if a["operation"] == "GET /page")
    # the JSON answer and the error page are fetched, and never judged
    assert [f["operation"] for f in security_headers.findings({"attempts": attempts})] == [
        "GET /page", "GET /page"
    ]  # fmt: skip
