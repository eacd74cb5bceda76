"""The grey-box probes: what the submission's code reveals, attacked over HTTP, both ways.

A small notes service on loopback (stdlib HTTP server, SQLite) whose every flag of `FLAWS`
turns on one defect that the contract does not show; all off is the fixed twin. The code the
harness reads is `SOURCE`, the service as its author would have written it in FastAPI: its
routes, parameters, literals and regular expressions direct the probes, and each verdict
still rests on a request and an answer (or the server's log) that shows the harm.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from backbench.scoring.attack_surface import probe_plan, with_code
from backbench.scoring.code_surface import code_surface
from backbench.scoring.exploits import log_exposure
from backbench.scoring.netprobe import run_probes
from backbench.scoring.security import judge_log, probes_verdict, robust_failures
from tests.loopback import loopback_servers, write_openapi

SECRET = "s3cret-token-0123456789"
BACKDOOR = "letmein-2024"
SLEEP = 0.6
SLOW = 1.0
LIMIT = 5

NOTE_IN = {
    "type": "object",
    "required": ["title"],
    "properties": {
        "title": {"type": "string", "maxLength": 200},
        "meta": {"type": "object", "properties": {"tag": {"type": "string"}}},
    },
}
NOTE = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "title": {"type": "string"},
        "meta": {
            "type": "object",
            "properties": {"tag": {"type": "string"}, "verified": {"type": "boolean"}},
        },
    },
}
CLIENT = {"name": "X-Client-Id", "in": "header", "required": True, "schema": {"type": "string"}}
ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
SECURED: list[dict[str, list[str]]] = [{"bearer": []}]


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"content": {"application/json": {"schema": schema}}}


OPENAPI = {
    "openapi": "3.1.0",
    "info": {"title": "notes", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/health": {"get": {"responses": {"200": {"description": "ok"}}}},
        "/notes": {
            "get": {"security": SECURED, "parameters": [CLIENT], "responses": {
                "200": {"description": "list", **_json({"type": "object", "properties": {
                    "items": {"type": "array", "items": NOTE}}})},
                "429": {"description": "limited"}}},
            "post": {"security": SECURED, "requestBody": _json(NOTE_IN),
                     "responses": {"201": {"description": "made", **_json(NOTE)}}},
        },
        "/notes/{id}": {
            "parameters": [ID],
            "get": {"security": SECURED, "responses": {"200": {"description": "one",
                                                                **_json(NOTE)}}},
            "delete": {"security": SECURED, "responses": {"204": {"description": "gone"}}},
        },
    },
}  # fmt: skip
CONFIG = {"credentials": {"token": "{secret}"}}

# the service as its author wrote it: what the harness reads
SOURCE = """
import os, re, logging
from fastapi import FastAPI, Request, Header, HTTPException

app = FastAPI()
ADMIN_TOKEN = "letmein-2024"
TITLE_RE = re.compile(r"^(z+z+)+y$")
log = logging.getLogger("notes")

def authorized(auth: str) -> bool:
    return auth in (f"Bearer {os.environ['APP_SECRET']}", f"Bearer {ADMIN_TOKEN}")

@app.get("/notes")
def list_notes(request: Request, x_client_id: str = Header()):
    by = request.query_params.get("by", "id")
    return {"items": []}

@app.get("/internal/export")
def export_everything():
    return {"items": []}
"""


class Store:
    """The service's state: its database, rate-limit counters and log lines."""

    def __init__(self) -> None:
        self.db = sqlite3.connect(":memory:", check_same_thread=False)
        self.db.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, title TEXT, tag TEXT, "
                        "verified INT)")  # fmt: skip
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.log: list[str] = []


def _bounded_backtrack(pattern: str, text: str) -> None:
    """The regex on longer and longer prefixes of `text`, for about 1.5 s at most (the work
    doubles with each character, so only a hostile input gets far)."""
    start = time.monotonic()
    for n in range(8, min(len(text), 64) + 1):
        re.fullmatch(pattern, text[:n])
        if time.monotonic() - start > 1.5:
            return


def _app(flaws: set[str], store: Store) -> type[BaseHTTPRequestHandler]:  # noqa: C901
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body go out apart: no 40 ms ACK wait

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silent: the service keeps its own log."""

        def _answer(self, status: int, body: Any = None, html: str = "") -> None:
            data = html.encode() if html else b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html" if html else "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _authorized(self) -> bool:
            auth = self.headers.get("Authorization", "")
            if "log_secret" in flaws:
                store.log.append(f"request {self.command} {self.path} auth={auth}")
            if "backdoor" in flaws and auth == f"Bearer {BACKDOOR}":
                return True
            return auth == f"Bearer {SECRET}"

        def _body(self) -> Any:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0) or 0))
            try:
                return json.loads(raw)
            except (ValueError, RecursionError):
                return None

        def _route(self) -> tuple[str, dict[str, str]]:
            url = urlparse(self.path)
            path = url.path.split(";")[0] if "slash" in flaws else url.path
            return path, {k: v[0] for k, v in parse_qs(url.query).items()}

        def _not_found(self) -> None:
            if "werkzeug" in flaws and "html" in self.headers.get("Accept", ""):
                page = ("<title>NotFound // Werkzeug Debugger</title><h2>Traceback "
                        "<em>(most recent call last)</em></h2>")  # fmt: skip
                return self._answer(404, html=page)
            self._answer(404, {"detail": "not found"})

        def do_GET(self) -> None:  # noqa: N802
            path, query = self._route()
            if path == "/health":
                return self._answer(200, {"status": "ok"})
            if path == "/console" and "console" in flaws:
                if query.get("s") == "k3y" and query.get("cmd") == "print(6*7)":
                    return self._answer(200, html="42")
                return self._answer(200, html='Werkzeug Debugger <script>SECRET = "k3y";</script>')
            if path == "/internal/export" and "export" in flaws:
                return self._answer(200, {"items": self._rows("id", {})})
            note = re.fullmatch(r"/notes/(\d+)(/?)", path)
            if note and (self._authorized() or ("slash" in flaws and note.group(2))):
                return self._one(int(note.group(1)))
            if path == "/notes" and self._authorized():
                return self._list(query)
            if path in ("/notes", "/notes/") or note:
                return self._answer(401, {"detail": "unauthorized"})
            self._not_found()

        def _list(self, query: dict[str, str]) -> None:
            client = self.headers.get("X-Client-Id", "")
            key = self.headers.get("X-Forwarded-For", client) if "spoof" in flaws else client
            with store.lock:
                store.counts[key] = store.counts.get(key, 0) + 1
                if store.counts[key] > LIMIT:
                    return self._answer(429, {"detail": "slow down"})
            order = "id"
            if "sort" in flaws and "sort" in query:
                order = query["sort"]
            if "hidden_by" in flaws and "by" in query:
                order = query["by"]
            try:
                self._answer(200, {"items": self._rows(order, query)})
            except sqlite3.Error:
                self._answer(500, {"detail": "error"})

        def _rows(self, order: str, query: dict[str, str]) -> list[dict[str, Any]]:
            with store.lock:
                rows = store.db.execute(f"SELECT id, title, tag, verified FROM notes "  # noqa: S608
                                        f"ORDER BY {order}").fetchall()  # fmt: skip
            return [{"id": i, "title": t, "meta": {"tag": g, "verified": bool(v)}}
                    for i, t, g, v in rows]  # fmt: skip

        def _one(self, ident: int) -> None:
            if ident >= 2**63:
                return self._answer(404, {"detail": "not found"})
            with store.lock:
                row = store.db.execute("SELECT id, title, tag, verified FROM notes WHERE id = ?",
                                       (ident,)).fetchone()  # fmt: skip
            if row is None:
                return self._answer(404, {"detail": "not found"})
            self._answer(200, {"id": row[0], "title": row[1],
                               "meta": {"tag": row[2], "verified": bool(row[3])}})  # fmt: skip

        def do_POST(self) -> None:  # noqa: N802
            path, _ = self._route()
            override = self.headers.get("X-HTTP-Method-Override", "")
            if "override" in flaws and override == "DELETE":
                return self._delete(path)
            if path != "/notes":
                return self._not_found()
            if not self._authorized():
                return self._answer(401, {"detail": "unauthorized"})
            body = self._body()
            if not isinstance(body, dict) or not isinstance(body.get("title"), str):
                return self._answer(422, {"detail": "invalid"})
            title = body["title"]
            given = body.get("meta")
            meta: dict[str, Any] = given if isinstance(given, dict) else {}
            tag = str(meta.get("tag", ""))
            if "code_redos" in flaws:
                _bounded_backtrack(r"^(z+z+)+y$", title)
            if "log_forge" in flaws:
                store.log.append(f"created note {title}")
            verified = bool(meta.get("verified")) if "nested_mass" in flaws else False
            try:
                with store.lock:
                    if "nested_sqli" in flaws:
                        sql = f"INSERT INTO notes (title, tag, verified) VALUES (?, '{tag}', ?)"
                        cur = store.db.execute(sql, (title, verified))
                    else:
                        cur = store.db.execute("INSERT INTO notes (title, tag, verified) VALUES "
                                               "(?, ?, ?)", (title, tag, verified))  # fmt: skip
            except sqlite3.Error:
                return self._answer(500, {"detail": "error"})
            except UnicodeEncodeError:
                return self._answer(422, {"detail": "invalid text"})
            self._answer(201, {"id": cur.lastrowid, "title": title,
                               "meta": {"tag": tag, "verified": verified}})  # fmt: skip

        def do_DELETE(self) -> None:  # noqa: N802
            path, _ = self._route()
            if not self._authorized():
                return self._answer(401, {"detail": "unauthorized"})
            self._delete(path)

        def _delete(self, path: str) -> None:
            note = re.fullmatch(r"/notes/(\d+)", path)
            if not note:
                return self._not_found()
            with store.lock:
                store.db.execute("DELETE FROM notes WHERE id = ?", (int(note.group(1)),))
            self._answer(204)

    return Handler


@pytest.fixture(scope="module")
def surface_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_openapi(tmp_path_factory.mktemp("notes"), OPENAPI)


@pytest.fixture
def serve() -> Iterator[Any]:
    with loopback_servers() as start_server:

        def start(*flaws: str) -> tuple[str, Store]:
            store = Store()
            return start_server(_app(set(flaws), store)), store

        yield start


def _evidence(url: str, surface_file: Path, family: str, code: bool = True) -> list[dict[str, Any]]:
    plan = probe_plan(surface_file, CONFIG)
    if code:
        plan = with_code(plan, code_surface({"app.py": SOURCE}))
    # "a+b": families run together (a CWE two families prove is planned by the first)
    plan = [p for p in plan if p["kind"] in family.split("+")]
    assert plan, f"{family} does not apply to the notes service"
    return run_probes(url, plan, SECRET, sleep=SLEEP, slow=SLOW)


def _proven(evidence: list[dict[str, Any]]) -> set[str]:
    return {pid for pid, _, _ in probes_verdict(evidence)}


# (capability, family, flaws, the CWE that proves it)
CASES = [
    ("source-directed parameter", "sql_injection", ("hidden_by",), "cwe-89"),
    ("source-directed route", "auth_bypass", ("export",), "cwe-288"),
    ("ORDER BY injection", "sql_injection", ("sort",), "cwe-89"),
    ("method override", "auth_bypass", ("override",), "cwe-650"),
    ("path variant", "auth_bypass", ("slash",), "cwe-288"),
    ("credentials from the code", "hardcoded_credentials", ("backdoor",), "cwe-798"),
    ("identity spoofing", "client_spoofing", ("spoof",), "cwe-348"),
    ("ReDoS from the code's regex", "denial_of_service", ("code_redos",), "cwe-1333"),
    ("debugger page", "debugger", ("werkzeug",), "cwe-215"),
    ("debugger console", "debugger+command_injection", ("console",), "cwe-94"),
    ("nested field injection", "sql_injection", ("nested_sqli",), "cwe-89"),
    ("nested mass assignment", "mass_assignment", ("nested_mass",), "cwe-915"),
]


@pytest.mark.parametrize(("capability", "family", "flaws", "cwe"), CASES,
                         ids=[c[0].replace(" ", "-") for c in CASES])  # fmt: skip
def test_the_probe_catches_the_flaw(
    capability: str, family: str, flaws: tuple[str, ...], cwe: str, serve: Any,
    surface_file: Path,
) -> None:  # fmt: skip
    url, _ = serve(*flaws)
    assert cwe in _proven(_evidence(url, surface_file, family))


@pytest.mark.parametrize(
    "family",
    sorted({c[1] for c in CASES} | {"log_exposure", "information_exposure", "authentication"}),
)
def test_the_probe_passes_the_fixed_twin(family: str, serve: Any, surface_file: Path) -> None:
    url, store = serve()
    evidence = _evidence(url, surface_file, family)
    log = "\n".join(store.log)
    assert _proven(judge_log(evidence, log, log_exposure.secrets_of(SECRET, {}))) == set()


@pytest.mark.parametrize(("flaw", "cwe"), [("log_forge", "cwe-117"), ("log_secret", "cwe-532")])
def test_the_servers_log_proves_forging_and_secrets(
    flaw: str, cwe: str, serve: Any, surface_file: Path
) -> None:
    url, store = serve(flaw)
    evidence = _evidence(url, surface_file, "log_exposure")
    assert cwe not in _proven(evidence)  # the requests alone prove nothing
    log = "\n".join(store.log)
    assert cwe in _proven(judge_log(evidence, log, log_exposure.secrets_of(SECRET, {})))


@pytest.mark.parametrize(
    ("family", "flaws"),
    [("sql_injection", ("hidden_by",)), ("hardcoded_credentials", ("backdoor",)),
     ("denial_of_service", ("code_redos",)), ("auth_bypass", ("export",))],
)  # fmt: skip
def test_without_the_code_the_flaw_goes_unseen(
    family: str, flaws: tuple[str, ...], serve: Any, surface_file: Path
) -> None:
    """What makes these probes grey-box: the same service, its code unread, scores secure."""
    url, _ = serve(*flaws)
    plan = [p for p in probe_plan(surface_file, CONFIG) if p["kind"] == family]
    assert not plan or not _proven(run_probes(url, plan, SECRET, sleep=SLEEP, slow=SLOW))


def test_a_token_the_probes_put_in_a_url_is_not_a_leak_of_the_servers() -> None:
    secrets = log_exposure.secrets_of(SECRET, {})
    access = f'127.0.0.1 - "POST /notes?access_token={SECRET}&token={SECRET} HTTP/1.1" 401'
    assert log_exposure.log_findings(access, {}, secrets) == []
    told = f"INFO auth header was Bearer {SECRET}"
    [found] = log_exposure.log_findings(f"{access}\n{told}", {}, secrets)
    assert found["cwe"] == 532 and "auth header was Bearer" in found["proof"]


def test_a_5xx_to_hostile_input_counts_against_robust() -> None:
    evidence = [{"kind": "information_exposure", "findings": [], "server_errors": [
        {"operation": "POST /notes", "vector": "a body that is not UTF-8",
         "request": "POST /notes", "status": 500}]}]  # fmt: skip
    from backbench.scoring.security import with_probe_errors

    assert robust_failures(evidence)
    assert with_probe_errors(1.0, "robust: 1", evidence)[0] == 0.0
    assert with_probe_errors(1.0, "robust: 1", [{"kind": "x", "server_errors": []}])[0] == 1.0
    nan = float("nan")
    value = with_probe_errors(nan, "robust: not run", evidence)[0]
    assert value != value  # a robust stage that did not run stays unjudged


def test_a_scored_static_rule_decides_and_an_unscored_one_is_only_reported() -> None:
    from backbench.scoring.security import security_verdict
    from backbench.scoring.static_rules import RULES

    scored = next(r for r in RULES.values() if r.scored)
    unscored = next(r for r in RULES.values() if not r.scored)
    alarm = {"file": "app.py", "line": 3, "text": "the construct"}
    decided = security_verdict([], {}, {"results": [{"rule": scored.id, **alarm}]})
    assert decided.static_scored == 1 and "static rules" in decided.explanation
    reported = security_verdict([], {}, {"results": [{"rule": unscored.id, **alarm}]})
    assert reported.static_scored == 0 and "not scored" in reported.explanation


def test_a_mutant_may_declare_a_probe_only_a_submissions_code_adds(surface_file: Path) -> None:
    from backbench.scoring.attack_surface import possible_probe_ids

    plan = probe_plan(surface_file, CONFIG)
    assert "cwe-798" not in {p["id"] for p in plan}  # no code read: no literal to try
    assert "cwe-798" in possible_probe_ids(plan)
    assert possible_probe_ids([]) == []


def test_a_regex_that_freezes_the_whole_server_is_its_own_cwe_not_an_unresponsive_one() -> None:
    """A backtracking regex holds every thread of a Python process: the health checks after
    the attack string miss too, and the finding is still the vector's CWE-1333."""
    from backbench.scoring.exploits import denial_of_service
    from backbench.scoring.exploits._send import Target, Unresponsive

    class Frozen(Target):
        def alive(self) -> dict[str, Any]:
            raise Unresponsive("3 requests in a row missed their deadline")

    target = Frozen(client=None, surface={}, secret=SECRET)  # type: ignore[arg-type]
    attack = {"operation": "GET /notes", "request": "GET /notes?title=zzzz!", "status": None,
              "error": "ReadTimeout", "seconds": 5.0}  # fmt: skip
    attempt = denial_of_service._checked(target, attack, 1333)
    [found] = denial_of_service.findings({"attempts": [attempt]})
    assert found["cwe"] == 1333 and "stopped answering" in found["signal"]
