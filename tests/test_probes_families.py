"""Every probe family against a small vulnerable app (it fires) and its fixed twin (silent).

The app is a stdlib HTTP server on loopback with an SQLite table; each flag of `Flaws` turns on
one defect. Time-based vectors sleep SLEEP seconds, so the file runs in seconds.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

import httpx
import pytest

from backbench.registry import PROBE_KINDS
from backbench.scoring import netprobe
from backbench.scoring.attack_surface import attack_surface, probe_plan
from backbench.scoring.exploits._send import shaped
from backbench.scoring.netprobe import run_probes
from backbench.scoring.security import probes_verdict
from tests.loopback import loopback_servers, write_openapi

SECRET = "s3cret-token-0123456789"
SLEEP = 0.6
SLOW = 1.0

OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "toy", "version": "1"},
    "components": {
        "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        "schemas": {
            "ItemIn": {"type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "maxLength": 100},
                "file": {"type": "string"}, "url": {"type": "string"},
                "quantity": {"type": "integer", "minimum": 0}}},
            "Item": {"type": "object", "properties": {
                "id": {"type": "integer"}, "name": {"type": "string"},
                "role": {"type": "string"}, "quantity": {"type": "integer"}}},
        },
    },
    "paths": {
        "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/page": {"get": {"responses": {"200": {"description": "a page", "content": {
            "text/html": {"schema": {"type": "string"}}}}}}},
        "/items": {
            "get": {
                "parameters": [
                    {"name": "name", "in": "query", "schema": {"type": "string"}},
                    {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    {"name": "X-Client-Id", "in": "header", "required": True,
                     "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "list", "content": {"application/json": {
                    "schema": {"type": "object", "properties": {
                        "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}
                    }}}}}},
            },
            "post": {
                "security": [{"bearer": []}],
                "requestBody": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/ItemIn"}}}},
                "responses": {"201": {"description": "made", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Item"}}}}},
            },
        },
        "/items/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "get": {"responses": {"200": {"description": "one", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Item"}}}}}},
        },
    },
}  # fmt: skip
CONFIG = {
    "credentials": {"token": "{secret}"},
    "redis_keys": [{"name": "X-Client-Id", "in": "header"}],
    "url_fields": ["url"],
    "file_fields": ["file"],
    "html_fields": ["name"],
}


# the headers the fixed twin's HTML page carries: no framing, no inline script, no sniffing
PAGE_DEFENCES = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
}


@dataclass
class Flaws:
    """The defects the toy app has; all off is the fixed twin."""

    on: set[str] = field(default_factory=set)


def _sleep(seconds: str) -> str:
    time.sleep(float(seconds))
    return ""


def _backtrack(text: str) -> None:
    """A catastrophic regex on longer and longer prefixes of `text`, for about 1.5 s at most.

    Each prefix costs twice the one before on a run of a's, so only a long hostile input gets
    far; growing the prefix until the work took 1.5 s keeps the test's time the same on any
    machine.
    """
    start = time.monotonic()
    for n in range(16, len(text) + 1):
        re.fullmatch(r"(a+)+b", text[:n])
        if time.monotonic() - start > 1.5:
            return


def _app(flaws: set[str]) -> type[BaseHTTPRequestHandler]:
    db = sqlite3.connect(":memory:", check_same_thread=False)
    db.create_function("pg_sleep", 1, _sleep)
    db.execute("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, role TEXT, quantity INT)")
    lock = threading.Lock()
    counters: dict[str, int] = {}
    crashed = threading.Event()  # a crashed process: every later connection is dropped
    served = [0]  # requests so far

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out apart: no 40 ms ACK wait

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silent."""

        def _answer(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
                    html: bool = False) -> None:  # fmt: skip
            data = b"" if body is None else (body if html else json.dumps(body)).encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if "cors" in flaws:
                self.send_header("Access-Control-Allow-Origin", self.headers.get("Origin", "*"))
                self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Content-Type", "text/html" if html else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _crash(self) -> None:
            crashed.set()
            self.close_connection = True

        def handle_one_request(self) -> None:
            with lock:
                served[0] += 1
            if "wedge" in flaws and served[0] > 5:
                time.sleep(1.5)  # a wedged process: accepts, never answers in time
                crashed.set()
            if crashed.is_set():
                self.close_connection = True
                return
            super().handle_one_request()

        def _fail(self, ex: Exception, sql: str = "") -> None:
            if "leak" in flaws:
                self._answer(500, {"detail": f"Traceback (most recent call last): {ex} {sql}"})
            else:
                self._answer(500 if "error_500" in flaws else 422, {"detail": "bad request"})

        def do_OPTIONS(self) -> None:  # noqa: N802
            self._answer(204)

        def do_GET(self) -> None:  # noqa: N802
            url = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            if url.path == "/health":
                return self._answer(200, {"status": "ok"})
            if url.path == "/page":
                defences = {} if "bare_page" in flaws else PAGE_DEFENCES
                return self._answer(200, "<h1>items</h1>", defences, html=True)
            if url.path == "/.env" and "debug" in flaws:
                return self._answer(200, {"env": f"APP_SECRET={SECRET}"})
            if url.path == "/debug" and "debug_trace" in flaws:
                return self._answer(200, {"last_error": "Traceback (most recent call last): ..."})
            if url.path == "/items":
                return self._list(query)
            match = re.fullmatch(r"/items/(.+)", url.path)
            if match:
                return self._one(unquote(match.group(1)))
            self._answer(404, {"detail": "not found"})

        def _list(self, query: dict[str, str]) -> None:
            client = self.headers.get("X-Client-Id", "")
            with lock:
                if "redis" in flaws:  # counts every key the client id matches as a glob
                    pattern = re.escape(client).replace(r"\*", ".*").replace(r"\?", ".")
                    used = sum(n for k, n in counters.items() if re.fullmatch(pattern, k))
                else:
                    used = counters.get(client, 0)
                counters[client] = counters.get(client, 0) + 1
            if used >= 5:
                return self._answer(429, {"detail": "slow down"})
            name = query.get("name")
            limit = query.get("limit", "20")
            if "redos" in flaws and name:
                _backtrack(name)
            if not limit.isdigit():
                return self._answer(422, {"detail": "limit"})
            if "dos_limit" in flaws:
                time.sleep(1.5 if len(limit) > 6 else 0)
            args: tuple[Any, ...] = ()
            if name is None:
                sql, args = "SELECT id, name FROM items", ()
            elif "sqli" in flaws:
                sql, args = f"SELECT id, name FROM items WHERE name = '{name}'", ()
            else:
                sql, args = "SELECT id, name FROM items WHERE name = ?", (name,)
            try:
                rows = db.execute(sql, args).fetchall()
            except sqlite3.Error as ex:
                return self._fail(ex, sql)
            headers = {}
            if "crlf" in flaws and name:
                self.wfile.write(b"")  # the name is echoed into a header, unencoded
                headers["X-Name"] = name
            if "xss" in flaws and name:
                return self._answer(200, f"<p>{name}</p>", html=True)
            if "xss_below" in flaws and name:
                # the reflection below a long navigation: past any excerpt of the answer
                nav = "<nav>" + "<a href='/x'>menu</a>" * 60 + "</nav>"
                return self._answer(200, f"{nav}<p>{name}</p>", html=True)
            self._answer(200, {"items": [{"id": i, "name": n} for i, n in rows]}, headers)

        def _one(self, ident: str) -> None:
            if "traversal" in flaws and "passwd" in ident:
                path = Path("/") / ident.replace("\\", "/").split("etc/")[-1]
                return self._answer(200, {"content": Path("/etc/" + path.name).read_text()})
            args: tuple[Any, ...] = ()
            if "sqli" in flaws:
                sql = f"SELECT id, name FROM items WHERE id = {ident}"
            elif ident.isdigit():
                sql, args = "SELECT id, name FROM items WHERE id = ?", (int(ident),)
            else:
                return self._answer(404, {"detail": "not found"})
            try:
                row = db.execute(sql, args).fetchone()
            except sqlite3.Error as ex:
                return self._fail(ex, sql)
            if row is None:
                return self._answer(404, {"detail": "not found"})
            self._answer(200, {"id": row[0], "name": row[1]})

        def do_POST(self) -> None:  # noqa: N802
            auth = self.headers.get("Authorization", "")
            ok = auth == f"Bearer {SECRET}"
            if "weak_auth" in flaws:
                ok = SECRET[:4] in auth or not auth
            if not ok:
                return self._answer(401, {"detail": "unauthorized"})
            size = int(self.headers.get("Content-Length", 0))
            if "dos_body" in flaws and size > 1_000_000:
                return self._crash()
            raw = self.rfile.read(size)
            if "dos_type" in flaws and "json" not in self.headers.get("Content-Type", ""):
                return self._crash()
            try:
                body = json.loads(raw)
                name = str(body["name"])
            except RecursionError:
                return self._crash() if "dos_depth" in flaws else self._answer(422, {})
            except (ValueError, KeyError, TypeError):
                return self._answer(422, {"detail": "invalid"})
            if "eval" in flaws:
                try:
                    eval(name)  # noqa: S307
                except Exception:  # noqa: BLE001
                    pass
            if "cmd" in flaws:
                subprocess.run(f"echo {name}", shell=True, capture_output=True)  # noqa: S602
            if "ssrf" in flaws and body.get("url"):
                try:
                    httpx.get(str(body["url"]), timeout=2)
                except httpx.HTTPError:
                    pass
            if "redirect" in flaws and body.get("url"):
                return self._answer(303, {}, {"Location": str(body["url"])})
            role = str(body.get("role", "user")) if "mass" in flaws else "user"
            args: tuple[Any, ...] = ()
            if "sqli" in flaws:
                sql = f"INSERT INTO items (name, role) VALUES ('{name}', '{role}')"
            else:
                sql, args = "INSERT INTO items (name, role) VALUES (?, ?)", (name, role)
            try:
                with lock:
                    ident = db.execute(sql, args).lastrowid
            except sqlite3.Error as ex:
                return self._fail(ex, sql)
            self._answer(201, {"id": ident, "name": name, "role": role})

    return Handler


@pytest.fixture(scope="module")
def surface_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_openapi(tmp_path_factory.mktemp("toy"), OPENAPI)


@pytest.fixture
def serve() -> Iterator[Any]:
    with loopback_servers() as start_server:
        yield lambda *flaws: start_server(_app(set(flaws)))


def _proven(url: str, surface_file: Path, family: str) -> list[str]:
    plan = [p for p in probe_plan(surface_file, CONFIG) if p["kind"] == family]
    assert plan, f"{family} does not apply to the toy app"
    evidence = run_probes(url, plan, SECRET, sleep=SLEEP, slow=SLOW)
    return [pid for pid, _, _ in probes_verdict(evidence)]


CASES = [
    ("authentication", ("weak_auth",), {"cwe-306", "cwe-287"}),
    ("sql_injection", ("sqli",), {"cwe-89"}),
    ("command_injection", ("cmd",), {"cwe-78"}),
    ("header_injection", ("crlf",), {"cwe-113"}),
    ("path_traversal", ("traversal",), {"cwe-22"}),
    ("mass_assignment", ("mass",), {"cwe-915"}),
    ("redis_keys", ("redis",), {"cwe-943"}),
    ("server_side_request", ("ssrf",), {"cwe-918"}),
    ("server_side_request", ("redirect",), {"cwe-601"}),
    ("cross_site_scripting", ("xss",), {"cwe-79"}),
    ("cross_site_scripting", ("xss_below",), {"cwe-79"}),
    ("cors", ("cors",), {"cwe-942"}),
    ("security_headers", ("bare_page",), {"cwe-693", "cwe-1021"}),
    ("command_injection", ("eval",), {"cwe-94"}),
    ("information_exposure", ("debug",), {"cwe-200"}),
    ("debugger", ("debug_trace",), {"cwe-489"}),
    ("information_exposure", ("leak", "sqli"), {"cwe-209"}),
    ("denial_of_service", ("dos_limit",), {"cwe-770"}),
    ("denial_of_service", ("dos_body",), {"cwe-400"}),
    ("denial_of_service", ("dos_depth",), {"cwe-674"}),
    ("denial_of_service", ("dos_type",), {"cwe-703"}),
    ("denial_of_service", ("redos",), {"cwe-1333"}),
]


@pytest.mark.parametrize(
    ("family", "flaws", "cwes"), CASES, ids=[f"{c[0]}-{c[1][0]}" for c in CASES]
)
def test_the_family_fires_on_the_flaw(
    family: str, flaws: tuple[str, ...], cwes: set[str], serve: Any, surface_file: Path
) -> None:
    assert cwes <= set(_proven(serve(*flaws), surface_file, family))


# families that need a rate limit or the submission's code, which this toy has not: their
# fixed twin is tests/test_probes_greybox.py's notes service
GREYBOX_ONLY = {"client_spoofing", "hardcoded_credentials"}
# families whose toy must verify JWTs (tests/test_probes_tokens.py), tell users apart
# (tests/test_probes_authorization.py), keep accounts (tests/test_probes_login_throttling.py)
# or keep browser sessions and forms (tests/test_probes_sessions.py), which this one does not
OWN_TWIN = {"tokens", "authorization", "login_throttling", "sessions"}


@pytest.mark.parametrize("family", sorted(set(PROBE_KINDS) - GREYBOX_ONLY - OWN_TWIN))
def test_the_family_is_silent_on_the_fixed_twin(
    family: str, serve: Any, surface_file: Path
) -> None:
    assert _proven(serve(), surface_file, family) == []


def test_a_server_that_stops_answering_under_attack_is_a_finding(
    serve: Any, surface_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(netprobe, "TIMEOUT", 1.0)
    plan = [p for p in probe_plan(surface_file, CONFIG) if p["kind"] == "sql_injection"]
    evidence = run_probes(serve("wedge"), plan, SECRET, sleep=SLEEP, slow=SLOW)
    assert evidence[-1]["unresponsive"] and "missed their deadline" in evidence[-1]["error"]
    assert "cwe-400" in [pid for pid, _, _ in probes_verdict(evidence)]


def test_the_families_cover_at_least_25_cwes() -> None:
    cwes = {cwe for kind in PROBE_KINDS.values() for cwe in kind.cwes}
    assert len(cwes) >= 25, sorted(cwes)


def test_the_surface_comes_from_the_document(surface_file: Path) -> None:
    surface = attack_surface(surface_file, CONFIG)
    ops = {op["id"]: op for op in surface["operations"]}
    assert set(ops) == {
        "GET /health", "GET /page", "GET /items", "POST /items", "GET /items/{id}"
    }  # fmt: skip
    assert [i for i, op in ops.items() if op["html_success"]] == ["GET /page"]
    assert ops["POST /items"]["secured"] and not ops["GET /items"]["secured"]
    assert [p["name"] for p in ops["GET /items/{id}"]["params"]] == ["id"]
    assert ops["GET /items"]["list_key"] == "items"
    assert "role" in ops["POST /items"]["response_fields"]


def test_an_excluded_family_is_not_planned(surface_file: Path) -> None:
    config = {**CONFIG, "exclude": [{"family": "cors", "reason": "no browser clients"}]}
    assert not any(p["kind"] == "cors" for p in probe_plan(surface_file, config))


def test_a_finding_names_cwe_operation_request_and_proof() -> None:
    evidence = [{"id": "sql_injection", "kind": "sql_injection", "cwes": [89], "findings": [
        {"cwe": 89, "operation": "GET /items", "request": "GET /items params={'name': \"'\"}",
         "proof": "HTTP 500", "signal": "error-based"}]}]  # fmt: skip
    [(pid, cwe, how)] = probes_verdict(evidence)
    assert (pid, cwe) == ("cwe-89", 89) and "error-based" in how and "GET /items" in how


def test_the_readme_table_lists_every_family_and_its_cwes() -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    rows = re.findall(r"^\| `([a-z_]+)` \| ([0-9, ]+) \|", readme, flags=re.M)
    assert {name: {int(c) for c in cwes.split(",")} for name, cwes in rows} == {
        name: set(kind.cwes) for name, kind in PROBE_KINDS.items()
    }


def test_payloads_for_an_email_field_keep_the_shape_of_an_address() -> None:
    assert shaped("x' OR '1'='1", {"type": "string"}, "email") == "x'/**/OR/**/'1'='1@example.com"
    assert shaped("x' OR 1", {"format": "email"}, "contact") == "x'/**/OR/**/1@example.com"
    assert shaped("x' OR 1", {"type": "string"}, "name") == "x' OR 1"


def test_deep_nesting_keeps_an_enums_strings_and_only_recursion_is_cut() -> None:
    from backbench.scoring.attack_surface import MAX_DEPTH, _resolve

    leaf: dict[str, object] = {"type": "string", "enum": ["HK", "FR"]}
    node: dict[str, object] = leaf
    for _ in range(MAX_DEPTH + 3):  # nesting alone, no reference
        node = {"anyOf": [node, {"type": "null"}]}
    resolved = _resolve({}, node)
    for _ in range(MAX_DEPTH + 3):
        resolved = resolved["anyOf"][0]
    assert resolved == leaf
    recursive = {"components": {"schemas": {"Tree": {"properties": {
        "children": {"items": {"$ref": "#/components/schemas/Tree"}}}}}}}  # fmt: skip
    cut = _resolve(recursive, {"$ref": "#/components/schemas/Tree"})
    for _ in range(MAX_DEPTH - 1):
        cut = cut["properties"]["children"]["items"]
    assert cut["properties"]["children"]["items"] == {}


def test_an_operation_excluded_for_a_family_is_not_attacked_by_it(
    serve: Any, surface_file: Path
) -> None:
    config = {**CONFIG, "exclude": [{"family": "mass_assignment", "operation": "POST /items",
                                     "reason": "its only write"}]}  # fmt: skip
    plan = [p for p in probe_plan(surface_file, config) if p["kind"] == "mass_assignment"]
    evidence = run_probes(serve("mass"), plan, SECRET, sleep=SLEEP, slow=SLOW)
    assert probes_verdict(evidence) == []  # the flaw is there; its only write is left out


def test_sample_values_follow_the_documents_formats() -> None:
    # a create body the contract refuses (a bad date, e-mail or URL) creates nothing to attack
    from datetime import date, datetime

    from backbench.scoring.exploits._send import Target

    target = Target(None, {}, SECRET)  # type: ignore[arg-type]
    body = target.value({"type": "object", "properties": {
        "born": {"type": "string", "format": "date"},
        "at": {"type": "string", "format": "date-time"},
        "mail": {"type": "string", "format": "email"},
        "site": {"type": "string", "format": "uri"},
    }}, "")  # fmt: skip
    date.fromisoformat(body["born"])
    datetime.fromisoformat(body["at"])
    assert "@" in body["mail"] and body["site"].startswith("https://")


def test_sample_values_follow_the_documents_patterns() -> None:
    # a card number checked by a pattern: a sample that breaks it is refused with 422 before the
    # code under attack runs (payments-structured-logs)
    import re

    from backbench.scoring.exploits._send import Target

    target = Target(None, {}, SECRET)  # type: ignore[arg-type]
    card = {"type": "string", "pattern": "^[0-9]{13,19}$", "minLength": 13, "maxLength": 19}
    coded = {"type": "string", "pattern": r"^[A-Z]{3}-\d{4}$"}
    drawn = [target.value(card, "card_number") for _ in range(3)] + [target.value(coded, "sku")]
    assert re.fullmatch(r"[0-9]{13,19}", drawn[0]), drawn
    # one draw for the run: the two halves of a differential probe differ in the payload only
    assert drawn[0] == drawn[1] == drawn[2], drawn
    assert re.fullmatch(r"[A-Z]{3}-\d{4}", drawn[3]), drawn
    # the schema's own example comes first: its author's valid value (a checksum passes)
    assert target.value({**card, "example": "4242424242424242"}, "card") == "4242424242424242"
    # a pattern the random text fits keeps it: unique values and the bypass families' markers
    loose = {"type": "string", "pattern": "^[a-z0-9]+$"}
    assert target.value(loose, "slug") != target.value(loose, "slug")
