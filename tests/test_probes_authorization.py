"""The authorization family (CWE-639 BOLA, 285 vertical escalation): its pure verdict on
hand-written answers, the schema of `probes.principals`, `owned` and `admin_only`, the plan it
adds (only to the scenarios that declare principals), and both ways on a loopback notes service
that checks the token but not the owner or the admin flag, and its fixed twin."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from backbench.schema import ProbeSurface
from backbench.scoring.attack_surface import (
    attack_surface,
    probe_plan,
    unknown_operations,
)
from backbench.scoring.exploits import authorization
from backbench.scoring.exploits._send import Target
from backbench.scoring.netprobe import run_probes
from backbench.scoring.security import probes_verdict
from backbench.testkit.http import deadline_client
from tests.loopback import (
    assert_planned_only_where_declared,
    assert_plans_unchanged_without,
    loopback_servers,
    write_openapi,
)

SECRET = "s3cret-token-0123456789"
NAME = authorization.NAME
CWE_IDS = ["cwe-639", "cwe-285"]
OK = {"200": {"description": "ok", "content": {"application/json": {"schema": {}}}}}
NOTE = {"type": "object", "properties": {"text": {"type": "string"}}}
NOTE_ID = [{"name": "note_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "notes", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/health": {"get": {"security": [], "responses": OK}},
        "/notes": {"post": {"operationId": "createNote", "responses": {"201": OK["200"]},
                            "requestBody": {"content": {"application/json": {"schema": NOTE}}}}},
        "/notes/{note_id}": {
            "parameters": NOTE_ID,
            "get": {"operationId": "getNote", "responses": OK},
            "patch": {"operationId": "updateNote", "responses": OK,
                      "requestBody": {"content": {"application/json": {"schema": NOTE}}}},
            "delete": {"operationId": "deleteNote", "responses": {"204": {"description": "gone"}}},
        },
        "/users": {"get": {"operationId": "listUsers", "responses": OK}},
        "/admin/notes/{note_id}": {"parameters": NOTE_ID, "delete": {
            "operationId": "removeAnyNote", "responses": {"204": {"description": "gone"}}}},
    },
}  # fmt: skip
PROBES: dict[str, Any] = {
    "credentials": {"token": "{secret}-alice"},
    "principals": {"alice": {"token": "{secret}-alice"}, "bob": {"token": "{secret}-bob"},
                   "admin": {"token": "{secret}-admin", "admin": True}},
    "owned": [{"create": "createNote", "read": "getNote", "update": "updateNote",
               "delete": "deleteNote", "id_field": "id"}],
    "admin_only": ["listUsers"],
}  # fmt: skip


def _config(**changed: Any) -> dict[str, Any]:
    """The `probes:` config as the catalogue hands it to the plan: validated, defaults filled."""
    model = ProbeSurface.model_validate({**PROBES, **changed})
    return model.model_dump(by_alias=True, exclude_none=True)


# -- the pure verdict ------------------------------------------------------------------------


def _r(vector: str, status: int | None, body: Any = None) -> dict[str, Any]:
    text = json.dumps(body) if body is not None else ""
    return {"operation": "GET /notes/{note_id}", "vector": vector, "status": status,
            "body": text, "json": body, "request": f"GET /notes/7 as <{vector}>"}  # fmt: skip


def _owned(**records: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "owner": "alice", "other": "bob", "read": "GET /notes/{note_id}", "object_id": "7",
        "markers": ["p0123456789abc"], "update_markers": ["pfedcba987654"],
        "created": _r("alice creates", 201, {"id": 7, "text": "p0123456789abc"}),
        "owner_read": _r("alice reads", 200, {"id": 7, "text": "p0123456789abc"}),
        "other_read": _r("bob reads", 404, {"detail": "no such note"}),
        "other_update": _r("bob updates", 404), "owner_after_update": _r("alice reads", 200,
                                                                         {"id": 7}),
        "other_delete": _r("bob deletes", 404), "owner_after_delete": _r("alice reads", 200,
                                                                         {"id": 7}),
    }  # fmt: skip
    entry.update(records)
    return {k: v for k, v in entry.items() if v is not None}


def _admin(anonymous: int | None, user: int | None, admin: int | None) -> dict[str, Any]:
    return {
        "operation": "GET /users",
        "anonymous": _r("none", anonymous),
        "user": _r("alice", user, [{"id": 1}]),
        "admin": _r("admin", admin, [{"id": 1}]),
    }


def _cwes(owned: list[dict[str, Any]], admin_only: list[dict[str, Any]]) -> set[int]:
    found = authorization.findings({"owned": owned, "admin_only": admin_only})
    return {f["cwe"] for f in found}


def test_the_owner_refused_to_others_proves_nothing() -> None:
    assert _cwes([_owned()], []) == set()


@pytest.mark.parametrize(
    ("case", "changed"),
    [("bob reads the id", {"other_read": _r("bob reads", 200, {"id": 7})}),
     ("bob reads the text", {"other_read": _r("bob reads", 200, {"note": "p0123456789abc"})}),
     ("bob's update shows", {"other_update": _r("bob updates", 200),
                             "owner_after_update": _r("alice", 200, {"t": "pfedcba987654"})}),
     ("bob's delete removes it", {"other_delete": _r("bob deletes", 204),
                                  "owner_after_delete": _r("alice reads", 404)})],
)  # fmt: skip
def test_another_users_reach_proves_639(case: str, changed: dict[str, Any]) -> None:
    assert _cwes([_owned(**changed)], []) == {639}


@pytest.mark.parametrize(
    ("case", "changed"),
    [("bob served another object", {"other_read": _r("bob reads", 200, {"id": 8})}),
     ("bob's read refused with the id", {"other_read": _r("bob reads", 403, {"id": 7})}),
     ("bob's refused update with its text",
      {"other_update": _r("bob", 403), "owner_after_update": _r("a", 200, {"t": "pfedcba987654"})}),
     ("the owner's read failed", {"owner_read": _r("alice reads", 500),
                                  "other_read": _r("bob reads", 200, {"id": 7})}),
     ("no object made", {"object_id": None, "other_read": _r("bob reads", 200, {"id": 7})})],
)  # fmt: skip
def test_what_proves_nothing(case: str, changed: dict[str, Any]) -> None:
    assert _cwes([_owned(**changed)], []) == set()


@pytest.mark.parametrize(
    ("anonymous", "user", "admin", "cwes"),
    [(401, 200, 200, {285}), (401, 403, 200, set()), (200, 200, 200, set()),
     (401, 200, 403, set()), (401, 302, 200, set()), (None, 200, 200, set())],
)  # fmt: skip
def test_a_user_served_what_only_the_admin_may_proves_285(
    anonymous: int | None, user: int | None, admin: int | None, cwes: set[int]
) -> None:
    assert _cwes([], [_admin(anonymous, user, admin)]) == cwes


def test_one_finding_per_cwe_keeping_the_request_and_the_status() -> None:
    first = _owned(other_read=_r("bob reads", 200, {"id": 7}))
    second = _owned(other_delete=_r("bob deletes", 204), owner_after_delete=_r("alice", 404))
    found = authorization.findings(
        {"owned": [first, second], "admin_only": [_admin(401, 200, 200)] * 2}
    )
    assert [(f["cwe"], f["request"]) for f in found] == [
        (639, "GET /notes/7 as <bob reads>"), (285, "GET /notes/7 as <alice>")
    ]  # fmt: skip
    assert found[0]["signal"] == "bob was served alice's object: its id 7"
    assert found[1]["proof"].startswith("HTTP 200")


# -- the schema, the surface and the plan ----------------------------------------------------


def test_the_schema_takes_principals_owned_objects_and_admin_operations() -> None:
    config = _config()
    assert config["principals"]["admin"]["admin"] and not config["principals"]["bob"]["admin"]
    assert config["owned"][0]["update"] == "updateNote"
    jwt = {"jwt": {"claims": {"role": "user"}}}
    assert ProbeSurface.model_validate({**jwt, "principals": {"a": {"claims": {"sub": "a"}}}})
    bad: dict[str, Any]
    for bad in (
        {"principals": {"a": {}}},  # neither token nor claims
        {"principals": {"a": {"token": "t", "claims": {"sub": "a"}}}},
        {"principals": {"a": {"claims": {"sub": "a"}}}},  # claims without jwt
        {"principals": {"a": {"token": "t", "role": "x"}}},
        {"owned": [{"create": "createNote"}]},  # no read
    ):
        with pytest.raises(ValidationError):
            ProbeSurface.model_validate(bad)


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_openapi(tmp_path_factory.mktemp("notes"), OPENAPI)


def test_operation_ids_become_labels_and_unknown_ones_are_reported(contract: Path) -> None:
    surface = attack_surface(contract, _config())
    assert surface["owned"][0]["read"] == "GET /notes/{note_id}"
    assert surface["admin_only"] == ["GET /users"]
    assert surface["principals"]["bob"]["header"] == "Authorization"
    assert unknown_operations(contract, _config()) == []
    wrong = _config(owned=[{"create": "makeNote", "read": "GET /notes/{note_id}"}],
                    admin_only=["GET /admin"])  # fmt: skip
    assert unknown_operations(contract, wrong) == [
        ("owned[0].create", "makeNote"), ("admin_only[0]", "GET /admin")
    ]  # fmt: skip


def test_the_family_applies_to_two_users_and_an_object_or_a_user_and_an_admin_operation(
    contract: Path,
) -> None:
    def planned(**changed: Any) -> list[str]:
        plan = probe_plan(contract, _config(**changed))
        return [p["id"] for p in plan if p["kind"] == "authorization"]

    assert planned() == CWE_IDS
    # each CWE only where its probe can run: 639 needs the object, 285 the admin-only operation
    assert planned(admin_only=[]) == ["cwe-639"]
    assert planned(owned=[]) == ["cwe-285"]
    assert planned(owned=[], principals={"alice": {"token": "a"}}) == ["cwe-285"]
    assert planned(admin_only=[], principals={"alice": {"token": "a"}}) == []
    assert planned(owned=[], admin_only=[]) == []
    assert "principals" not in attack_surface(contract, {"credentials": {"token": "x"}})


def test_a_principal_with_claims_gets_a_jwt_minted_with_them(contract: Path) -> None:
    config = _config(jwt={"claims": {"aud_role": "user"}},
                     principals={"alice": {"claims": {"sub": "alice"}}})  # fmt: skip
    target = Target(None, attack_surface(contract, config), SECRET)  # type: ignore[arg-type]
    _, body, _ = authorization.token_of(target, "alice").split(".")
    claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    assert (claims["sub"], claims["aud_role"]) == ("alice", "user")


def declares_principals(probes: ProbeSurface) -> bool:
    """Whether a scenario's `probes:` declare the users the family acts as."""
    return bool(probes.principals)


def test_only_the_scenarios_that_declare_principals_plan_the_family() -> None:
    declaring = assert_planned_only_where_declared("authorization", declares_principals, CWE_IDS)
    assert "team-tasks-jwt" in declaring


def test_every_other_scenarios_plan_is_the_same_with_and_without_the_family(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert_plans_unchanged_without(NAME, monkeypatch, declares_principals)


# -- both ways on loopback apps --------------------------------------------------------------


@dataclass(frozen=True)
class Checks:
    """What the notes service checks beyond a known token; the fixed twin checks both."""

    owner: bool = True  # a note is served, changed or deleted for its owner only
    admin: bool = True  # GET /users for an admin only
    admin_delete: bool = True  # DELETE /admin/notes/{id} (any note) for an admin only
    owner_from_token: bool = True  # a new note's owner is its creator, whatever the body says


def _app(checks: Checks) -> type[BaseHTTPRequestHandler]:
    notes: dict[int, dict[str, Any]] = {}
    lock = threading.Lock()
    users = {f"{SECRET}-{name}": name for name in ("alice", "bob", "admin")}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silent."""

        def _send(self, status: int, payload: Any = None) -> None:
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _user(self) -> str | None:
            scheme, _, token = self.headers.get("Authorization", "").partition(" ")
            return users.get(token) if scheme == "Bearer" else None

        def _body(self) -> dict[str, Any]:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return json.loads(raw) if raw else {}

        def _handle(self, method: str) -> None:
            path = self.path.split("?")[0]
            body = self._body()
            if path == "/health":
                return self._send(200, {"status": "ok"})
            user = self._user()
            if user is None:
                return self._send(401, {"detail": "who?"})
            if path == "/users" and method == "GET":
                if checks.admin and user != "admin":
                    return self._send(403, {"detail": "admins only"})
                return self._send(200, [{"name": n} for n in sorted(set(users.values()))])
            removal = re.fullmatch(r"/admin/notes/(\d+)", path)
            if removal and method == "DELETE":
                if checks.admin_delete and user != "admin":
                    return self._send(403, {"detail": "admins only"})
                gone = notes.pop(int(removal.group(1)), None)
                return self._send(204) if gone else self._send(404, {"detail": "no such note"})
            if path == "/notes" and method == "POST":
                with lock:
                    owner = user if checks.owner_from_token else body.get("owner", user)
                    made = {"id": len(notes) + 1, "owner": owner, "text": body.get("text", "")}
                    notes[made["id"]] = made
                return self._send(201, made)
            match = re.fullmatch(r"/notes/(\d+)", path)
            note = notes.get(int(match.group(1))) if match else None
            if note is None or (checks.owner and note["owner"] != user):
                return self._send(404, {"detail": "no such note"})
            if method == "PATCH":
                note["text"] = body.get("text", note["text"])
            if method == "DELETE":
                notes.pop(note["id"])
                return self._send(204)
            return self._send(200, note)

        def do_GET(self) -> None:  # noqa: N802
            self._handle("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._handle("POST")

        def do_PATCH(self) -> None:  # noqa: N802
            self._handle("PATCH")

        def do_DELETE(self) -> None:  # noqa: N802
            self._handle("DELETE")

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    with loopback_servers() as start_server:
        yield lambda checks: start_server(_app(checks))


LOOPBACK = [
    ("fixed twin", Checks(), set()),
    ("checks the token, not the owner", Checks(owner=False), {"cwe-639"}),
    ("admin endpoint open to any user", Checks(admin=False), {"cwe-285"}),
    ("checks neither", Checks(owner=False, admin=False), set(CWE_IDS)),
]


@pytest.mark.parametrize(("case", "checks", "cwes"), LOOPBACK, ids=[c[0] for c in LOOPBACK])
def test_the_family_catches_each_flaw_for_its_cwe(
    case: str, checks: Checks, cwes: set[str], serve: Any, contract: Path
) -> None:
    plan = [p for p in probe_plan(contract, _config()) if p["kind"] == NAME]
    evidence = run_probes(serve(checks), plan, SECRET)
    assert {pid for pid, _, _ in probes_verdict(evidence)} == cwes


def _probe(url: str, contract: Path, config: dict[str, Any]) -> dict[str, Any]:
    with deadline_client(url, deadline=5.0) as client:
        return authorization.probe(Target(client, attack_surface(contract, config), SECRET))


def test_the_fixed_twin_is_sent_every_step_and_refuses_bob(serve: Any, contract: Path) -> None:
    evidence = _probe(serve(Checks()), contract, _config())
    [entry] = evidence["owned"]
    statuses = {k: v["status"] for k, v in entry.items() if isinstance(v, dict)}
    assert statuses == {
        "created": 201, "owner_read": 200, "other_read": 404, "other_update": 404,
        "owner_after_update": 200, "control": 201, "owner_reads_control": 404, "planted": 201,
        "owner_reads_planted": 404, "other_delete": 404, "owner_after_delete": 200,
    }  # fmt: skip
    assert entry["owner_fields"] == ["owner"]  # copied from alice's own note
    [admin] = evidence["admin_only"]
    assert [admin[k]["status"] for k in ("anonymous", "user", "admin")] == [401, 403, 200]
    assert authorization.findings(evidence) == []
    shown = json.dumps(evidence)
    assert SECRET not in shown and "<bob>" in entry["other_read"]["request"]


def test_each_proof_of_639_holds_alone(serve: Any, contract: Path) -> None:
    evidence = _probe(serve(Checks(owner=False)), contract, _config())
    [entry] = evidence["owned"]
    assert authorization.shows(entry["other_read"], entry["object_id"], entry["markers"])
    assert entry["owner_after_update"]["status"] == 200
    assert any(m in entry["owner_after_update"]["body"] for m in entry["update_markers"])
    assert (entry["other_delete"]["status"], entry["owner_after_delete"]["status"]) == (204, 404)


@pytest.mark.parametrize(
    ("checks", "cwes"), [(Checks(), set()), (Checks(admin_delete=False), {285})]
)
def test_an_admin_only_delete_served_to_a_user_proves_285(
    checks: Checks, cwes: set[int], serve: Any, contract: Path
) -> None:
    url = serve(checks)
    with deadline_client(url, deadline=5.0) as client:  # a note for the delete to remove
        client.post("/notes", json={"text": "x"}, headers={"Authorization": f"Bearer {SECRET}-bob"})
    evidence = _probe(url, contract, _config(owned=[], admin_only=["removeAnyNote"]))
    [entry] = evidence["admin_only"]
    # the user's delete (served when unchecked) leaves the admin a 404: it still counts
    expected = [401, 204, 404] if cwes else [401, 403, 204]
    assert [entry[k]["status"] for k in ("anonymous", "user", "admin")] == expected
    assert {f["cwe"] for f in authorization.findings(evidence)} == cwes


@pytest.mark.parametrize(
    ("checks", "cwes"),
    [(Checks(), set()), (Checks(owner_from_token=False), {915}),
     # no isolation at all: alice reads bob's plain note too, so the owner field proves nothing
     (Checks(owner_from_token=False, owner=False), {639})],
)  # fmt: skip
def test_an_owner_named_in_the_body_and_honoured_proves_915(
    checks: Checks, cwes: set[int], serve: Any, contract: Path
) -> None:
    evidence = _probe(serve(checks), contract, _config(admin_only=[]))
    assert {f["cwe"] for f in authorization.findings(evidence)} == cwes
    [entry] = evidence["owned"]
    assert entry["planted"]["status"] == 201 and "alice" in entry["planted"]["request"]


def test_owner_fields_come_from_the_owners_object_or_else_the_sub_claim() -> None:
    surface = {"principals": {"alice": {"claims": {"sub": "u-1"}}, "bob": {"token": "b"}}}
    target = Target(None, surface, SECRET)  # type: ignore[arg-type]
    assert authorization.owner_claims(target, "alice", {"id": 3, "owner_id": 17}) == {
        "owner_id": 17
    }
    assert set(authorization.owner_claims(target, "alice", {"id": 3}).values()) == {"u-1"}
    assert set(authorization.owner_claims(target, "bob", None).values()) == {"bob"}


@pytest.mark.parametrize(("names", "cwes"), [(["owner"], {915}), (["creator"], set())])
def test_declared_owner_fields_are_the_ones_sent(
    names: list[str], cwes: set[int], serve: Any, contract: Path
) -> None:
    # the service honours `owner` from the body: only a declaration naming it reaches that
    owned = [{**PROBES["owned"][0], "owner_fields": names}]
    evidence = _probe(serve(Checks(owner_from_token=False)), contract,
                      _config(owned=owned, admin_only=[]))  # fmt: skip
    assert {f["cwe"] for f in authorization.findings(evidence)} == cwes
    assert evidence["owned"][0]["owner_fields"] == names
