"""The tokens family (JWT bearer authentication): its pure verdict on hand-written answers, the
tokens it mints, the plan it adds (only to the scenarios that declare JWTs), and both ways on
loopback apps that verify their JWTs with the stdlib, each flawed one way, or not at all."""

from __future__ import annotations

import base64
import hmac
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from pydantic import ValidationError

from backbench.jwt_mint import new_rsa_pem, public_pem, rsa_jwk
from backbench.schema import ProbeSurface
from backbench.scoring import load_test
from backbench.scoring.attack_surface import (
    attack_surface,
    probe_plan,
    unknown_operations,
)
from backbench.scoring.exploits import tokens
from backbench.scoring.exploits._send import Target
from backbench.scoring.netprobe import run_probes
from backbench.scoring.security import probes_verdict
from backbench.testkit.http import deadline_client
from tests.loopback import (
    assert_planned_only_where_declared,
    assert_plans_unchanged_without,
    loopback_servers,
    send_json,
    write_openapi,
)

SECRET = "s3cret-token-0123456789"
AUDIENCE, ISSUER = "notes-api", "backbench"
JWT = {"key": "{secret}", "algorithm": "HS256", "audience": AUDIENCE, "issuer": ISSUER,
       "claims": {"sub": "alice"}, "lifetime_seconds": 300}  # fmt: skip
OK = {"200": {"description": "ok", "content": {"application/json": {"schema": {}}}}}
NOTE = {"type": "object", "properties": {"text": {"type": "string"}}}
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "notes", "version": "1"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                  "bearerFormat": "JWT"}}},
    "security": [{"bearer": []}],
    "paths": {
        "/health": {"get": {"security": [], "responses": OK}},
        "/notes": {
            "get": {"responses": OK},
            "post": {"requestBody": {"content": {"application/json": {"schema": NOTE}}},
                     "responses": {"201": OK["200"]}},
        },
        "/notes/{note_id}": {"delete": {
            "parameters": [{"name": "note_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {"204": {"description": "gone"}}}},
    },
}  # fmt: skip
CWE_IDS = ["cwe-347", "cwe-345", "cwe-613"]
# the identity provider's key of the RS256 cases: the app holds only its public half
RSA_KEY = new_rsa_pem()
KID = "bb-2026-a"
HMAC_VECTORS = [v for _, v in tokens.VECTORS if not v.startswith("key confusion")]


def _config(**jwt: Any) -> dict[str, Any]:
    """The `probes:` config as the catalogue hands it to the plan: validated, defaults filled."""
    model = ProbeSurface.model_validate({"jwt": {**JWT, **jwt}})
    return model.model_dump(by_alias=True, exclude_none=True)


# -- the pure verdict ------------------------------------------------------------------------


def _record(vector: str, status: int | None, body: str = "[]", cwe: int | None = None) -> Any:
    record = {"operation": "GET /notes", "vector": vector, "status": status, "body": body,
              "request": f"GET /notes {vector}"}  # fmt: skip
    return record if cwe is None else {**record, "cwe": cwe}


def _entry(
    forged: list[dict[str, Any]], valid: int | None = 200, anonymous: int | None = 401
) -> dict[str, Any]:
    return {"operation": "GET /notes", "valid": _record("a valid token", valid),
            "anonymous": _record("no token", anonymous, '{"detail": "who?"}'),
            "forged": forged}  # fmt: skip


def _cwes(*entries: dict[str, Any]) -> set[int]:
    return {f["cwe"] for f in tokens.findings({"operations": list(entries)})}


@pytest.mark.parametrize(("cwe", "vector"), tokens.VECTORS, ids=[v for _, v in tokens.VECTORS])
def test_a_served_forged_token_proves_its_cwe(cwe: int, vector: str) -> None:
    assert _cwes(_entry([_record(vector, 200, cwe=cwe)])) == {cwe}
    assert _cwes(_entry([_record(vector, 401, cwe=cwe)])) == set()


@pytest.mark.parametrize(
    ("case", "valid", "anonymous"),
    [("the valid token refused", 401, 401), ("the valid token failed", 500, 401),
     ("no token served", 200, 200), ("no answer to no token", 200, None),
     ("no answer to the valid token", None, 401)],
)  # fmt: skip
def test_nothing_is_judged_unless_valid_is_served_and_no_token_refused(
    case: str, valid: int | None, anonymous: int | None
) -> None:
    forged = [_record(v, 200, cwe=c) for c, v in tokens.VECTORS]
    assert _cwes(_entry(forged, valid, anonymous)) == set()


def test_the_valid_tokens_very_answer_counts_as_served_and_another_does_not() -> None:
    redirect = _entry([_record("alg none", 302, "to /home", cwe=347)], valid=302)
    redirect["valid"]["body"] = "to /home"
    assert _cwes(redirect) == {347}
    redirect["forged"][0]["body"] = "to /login"
    assert _cwes(redirect) == set()


def test_one_finding_per_cwe_keeping_the_request_and_the_status() -> None:
    first = _entry([_record("alg none", 200, cwe=347), _record("alg NONE", 200, cwe=347)])
    second = {**_entry([_record("an expired token", 201, cwe=613)]), "operation": "POST /notes"}
    found = tokens.findings({"operations": [first, second]})
    assert [(f["cwe"], f["request"]) for f in found] == [
        (347, "GET /notes alg none"), (613, "GET /notes an expired token")
    ]  # fmt: skip
    assert found[0]["proof"].startswith("HTTP 200")
    assert found[0]["signal"] == "served HTTP 200 to alg none where no token got HTTP 401"


# -- the tokens minted -----------------------------------------------------------------------


def test_mint_signs_as_the_jwt_specification_does() -> None:
    # jwt.io's example token, byte for byte
    header = {"alg": "HS256", "typ": "JWT"}
    claims = {"sub": "1234567890", "name": "John Doe", "iat": 1516239022}
    assert tokens.mint(header, claims, "your-256-bit-secret") == (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwi"
        "aWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
    )
    assert tokens.mint({"alg": "none"}, claims, None).endswith(".")


def test_the_forged_tokens_change_one_thing_each() -> None:
    now = 1_700_000_000
    jwt = _config()["jwt"]
    good = tokens.valid_claims(jwt, now)
    assert good == {"sub": "alice", "aud": AUDIENCE, "iss": ISSUER, "iat": now, "exp": now + 300}
    made = {vector: (header, claims, key) for _, vector, header, claims, key in
            tokens.forged(jwt, SECRET, now)}  # fmt: skip
    assert list(made) == HMAC_VECTORS  # no public key to confuse an HMAC key with
    assert {made[v][0]["alg"] for v in ("alg none", "alg None", "alg NONE")} == {
        "none", "None", "NONE"
    }  # fmt: skip
    assert made["a signature by another key"][2] not in (None, SECRET)
    assert made["the signature stripped"][2] is None
    assert made["an expired token"][1]["exp"] < now < made["a token not yet valid"][1]["nbf"]
    assert "exp" not in made["a token without exp"][1]
    assert made["a wrong audience"][1]["aud"] != AUDIENCE
    assert made["a wrong issuer"][1]["iss"] != ISSUER
    own = made["the token's own key (a jwk header)"]
    assert own[0]["jwk"] == {"kty": "oct", "k": tokens.b64url(own[2].encode())}
    bare = _config(audience=None, issuer=None)["jwt"]
    assert {v for _, v, *_ in tokens.forged(bare, SECRET, now)}.isdisjoint(
        {"a wrong audience", "a wrong issuer"}
    )


def test_rs256_tokens_carry_the_kid_and_add_the_key_confusion() -> None:
    jwt = _config(algorithm="RS256", key=RSA_KEY, key_id=KID)["jwt"]
    made = {vector: (header, key) for _, vector, header, _, key in tokens.forged(jwt, RSA_KEY, 1)}
    assert list(made) == [v for _, v in tokens.VECTORS]
    assert all(header["kid"] == KID for header, _ in made.values())
    confused = made["key confusion: HS256 keyed with the public key's PEM"]
    assert confused == ({"alg": "HS256", "typ": "JWT", "kid": KID}, public_pem(RSA_KEY))
    assert public_pem(RSA_KEY).startswith("-----BEGIN PUBLIC KEY-----")
    assert made["a signature by another key"][1] not in (None, RSA_KEY)
    header, key = made["the token's own key (a jwk header)"]
    assert header["jwk"] == rsa_jwk(str(key)) and header["jwk"] != rsa_jwk(RSA_KEY)


# -- the schema, the surface and the plan ----------------------------------------------------


def test_the_schema_fills_defaults_and_refuses_claims_the_harness_sets() -> None:
    assert _config(key="{secret}")["jwt"]["algorithm"] == "HS256"
    assert ProbeSurface.model_validate({"jwt": {}}).model_dump()["jwt"]["key"] == "{secret}"
    for bad in ({"claims": {"exp": 1}}, {"algorithm": "RS256"}, {"lifetime_seconds": 0},
                {"key": ""}, {"kid": "k1"}):  # fmt: skip
        with pytest.raises(ValidationError):
            ProbeSurface.model_validate({"jwt": bad})


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_openapi(tmp_path_factory.mktemp("notes"), OPENAPI)


def test_a_declared_jwt_over_a_bearer_scheme_plans_the_three_cwes(contract: Path) -> None:
    plan = [p for p in probe_plan(contract, _config()) if p["kind"] == "tokens"]
    assert [p["id"] for p in plan] == CWE_IDS
    assert plan[0]["surface"]["jwt"]["bearer"]


def test_without_jwt_a_bearer_scheme_or_a_secured_operation_nothing_is_planned(
    contract: Path, tmp_path: Path
) -> None:
    assert not any(p["kind"] == "tokens" for p in probe_plan(contract, {}))
    assert "jwt" not in attack_surface(contract, {"credentials": {"token": "{secret}"}})
    api_key = {"key": {"type": "apiKey", "in": "header", "name": "X-Key"}}
    keyed = write_openapi(tmp_path, {**OPENAPI, "components": {"securitySchemes": api_key},
                                     "security": [{"key": []}]})  # fmt: skip
    assert not tokens.applies(attack_surface(keyed, _config()))
    public = write_openapi(tmp_path, {**OPENAPI, "security": []})
    assert not tokens.applies(attack_surface(public, _config()))


def declares_jwt(probes: ProbeSurface) -> bool:
    """Whether a scenario's `probes:` declare the JWTs its submission must verify."""
    return probes.jwt is not None


def test_only_the_scenarios_that_declare_jwts_plan_the_family() -> None:
    declaring = assert_planned_only_where_declared("tokens", declares_jwt, CWE_IDS)
    assert "team-tasks-jwt" in declaring


def test_every_other_scenarios_plan_is_the_same_with_and_without_the_family(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert_plans_unchanged_without("tokens", monkeypatch, declares_jwt)


# -- both ways on loopback apps --------------------------------------------------------------


@dataclass(frozen=True)
class Checks:
    """What the app verifies of a bearer JWT; the fixed twin verifies everything."""

    signature: bool = True  # with the key and the configured algorithm, never `alg: none`
    trusts_alg_none: bool = False  # the classic bug: an unsigned token skips verification
    expiry: bool = True  # exp required and in the future, nbf (when set) not ahead
    audience: bool = True
    issuer: bool = True
    key: str = SECRET
    algorithm: str = "HS256"
    revocation: bool = True  # POST /logout revokes the token it is sent with
    trusts_jwk: bool = False  # the key a token carries (a jwk header) verifies it
    alg_from_header: bool = False  # RS256 app: an HS256 token is HMAC'd with the public PEM
    kid: str | None = None  # the kid a token must name


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verified(token: str, checks: Checks) -> bool:
    """The app's own verification, with the stdlib as a server without PyJWT would write it."""
    try:
        head, body, signature = token.split(".")
        header, claims = json.loads(_b64decode(head)), json.loads(_b64decode(body))
    except ValueError:
        return False
    unsigned = checks.trusts_alg_none and str(header.get("alg")).lower() == "none"
    if checks.kid is not None and header.get("kid") != checks.kid:
        return False
    signing, sig = f"{head}.{body}".encode(), _b64decode(signature)
    if checks.signature and not unsigned and not _signed(header, signing, sig, checks):
        return False
    now = time.time()
    if checks.expiry and (
        not isinstance(claims.get("exp"), int) or claims["exp"] <= now
        or claims.get("nbf", 0) > now
    ):  # fmt: skip
        return False
    if checks.audience and claims.get("aud") != AUDIENCE:
        return False
    return not (checks.issuer and claims.get("iss") != ISSUER)


def _hmac_ok(key: bytes, alg: Any, signing: bytes, sig: bytes) -> bool:
    digest = tokens.DIGESTS.get(str(alg))
    return digest is not None and hmac.compare_digest(hmac.new(key, signing, digest).digest(), sig)


def _rsa_ok(public: Any, signing: bytes, sig: bytes) -> bool:
    try:
        public.verify(sig, signing, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _signed(header: dict[str, Any], signing: bytes, sig: bytes, checks: Checks) -> bool:
    """The signature check, with the flaw the checks name."""
    alg, jwk = header.get("alg"), header.get("jwk")
    if checks.trusts_jwk and isinstance(jwk, dict):
        if jwk.get("kty") == "oct":
            return _hmac_ok(_b64decode(str(jwk.get("k"))), alg, signing, sig)
        numbers = rsa.RSAPublicNumbers(
            int.from_bytes(_b64decode(jwk["e"]), "big"), int.from_bytes(_b64decode(jwk["n"]), "big")
        )
        return alg == "RS256" and _rsa_ok(numbers.public_key(), signing, sig)
    if checks.algorithm == "RS256":
        pem = public_pem(RSA_KEY)
        if checks.alg_from_header and alg == "HS256":
            return _hmac_ok(pem.encode(), alg, signing, sig)
        public = serialization.load_pem_public_key(pem.encode())
        return alg == "RS256" and _rsa_ok(public, signing, sig)
    return alg == checks.algorithm and _hmac_ok(checks.key.encode(), alg, signing, sig)


def _app(checks: Checks) -> type[BaseHTTPRequestHandler]:
    revoked: set[str] = set()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silent."""

        def _send(self, status: int, payload: Any) -> None:
            send_json(self, status, payload)

        def _authorised(self) -> bool:
            scheme, _, token = self.headers.get("Authorization", "").partition(" ")
            return scheme == "Bearer" and token not in revoked and verified(token, checks)

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.split("?")[0]
            if path == "/health":
                return self._send(200, {"status": "ok"})
            if path != "/notes":
                return self._send(404, {"detail": "not found"})
            if not self._authorised():
                return self._send(401, {"detail": "invalid token"})
            self._send(200, [{"id": 1, "text": "mine"}])

        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.split("?")[0] == "/logout":
                if not self._authorised():
                    return self._send(401, {"detail": "invalid token"})
                if checks.revocation:
                    revoked.add(self.headers["Authorization"].partition(" ")[2])
                return self._send(200, {"status": "logged out"})
            if self.path.split("?")[0] != "/notes":
                return self._send(404, {"detail": "not found"})
            if not self._authorised():
                return self._send(401, {"detail": "invalid token"})
            self._send(201, {"id": 2, "text": "new"})

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    with loopback_servers() as start_server:
        yield lambda checks: start_server(_app(checks))


LOOPBACK = [
    ("fixed twin", Checks(), "HS256", set()),
    ("fixed twin, HS512", Checks(algorithm="HS512"), "HS512", set()),
    ("decodes without verifying", Checks(signature=False), "HS256", {"cwe-347"}),
    ("decodes HS384 without verifying", Checks(signature=False, algorithm="HS384"), "HS384",
     {"cwe-347"}),
    ("trusts alg none", Checks(trusts_alg_none=True), "HS256", {"cwe-347"}),
    ("ignores exp", Checks(expiry=False), "HS256", {"cwe-613"}),
    ("ignores aud", Checks(audience=False), "HS256", {"cwe-345"}),
    ("ignores iss", Checks(issuer=False), "HS256", {"cwe-345"}),
    ("verifies nothing", Checks(signature=False, expiry=False, audience=False, issuer=False),
     "HS256", set(CWE_IDS)),
    ("trusts the token's own jwk", Checks(trusts_jwk=True), "HS256", {"cwe-347"}),
    ("RS256 fixed twin", Checks(algorithm="RS256", kid=KID), "RS256", set()),
    ("RS256 key confusion", Checks(algorithm="RS256", kid=KID, alg_from_header=True), "RS256",
     {"cwe-347"}),
    ("RS256 trusts the token's own jwk", Checks(algorithm="RS256", kid=KID, trusts_jwk=True),
     "RS256", {"cwe-347"}),
    ("RS256 ignores exp", Checks(algorithm="RS256", kid=KID, expiry=False), "RS256",
     {"cwe-613"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("case", "checks", "algorithm", "cwes"), LOOPBACK, ids=[c[0] for c in LOOPBACK]
)
def test_the_family_catches_each_flaw_for_its_cwe(
    case: str, checks: Checks, algorithm: str, cwes: set[str], serve: Any, contract: Path
) -> None:
    rsa_key = {"key": RSA_KEY, "key_id": KID} if algorithm == "RS256" else {}
    config = _config(algorithm=algorithm, **rsa_key)
    plan = [p for p in probe_plan(contract, config) if p["kind"] == "tokens"]
    evidence = run_probes(serve(checks), plan, SECRET)
    assert {pid for pid, _, _ in probes_verdict(evidence)} == cwes


def _probe(url: str, contract: Path, config: dict[str, Any]) -> dict[str, Any]:
    with deadline_client(url, deadline=5.0) as client:
        return tokens.probe(Target(client, attack_surface(contract, config), SECRET))


def test_the_fixed_twin_is_sent_every_vector_and_serves_only_the_valid_token(
    serve: Any, contract: Path
) -> None:
    evidence = _probe(serve(Checks()), contract, _config())
    # collection reads first, writes next, never a DELETE
    assert [e["operation"] for e in evidence["operations"]] == ["GET /notes", "POST /notes"]
    for entry in evidence["operations"]:
        assert (entry["valid"]["status"], entry["anonymous"]["status"]) in ((200, 401), (201, 401))
        assert [r["vector"] for r in entry["forged"]] == HMAC_VECTORS
        assert {r["status"] for r in entry["forged"]} == {401}
    assert tokens.findings(evidence) == []


def test_the_request_shows_the_token_decoded_without_its_signature(
    serve: Any, contract: Path
) -> None:
    [entry, _] = _probe(serve(Checks(signature=False)), contract, _config())["operations"]
    valid = entry["valid"]["request"]
    assert valid.startswith('GET /notes Authorization: Bearer {"alg":"HS256","typ":"JWT"}.{')
    assert valid.endswith(".<signature elided>") and '"sub":"alice"' in valid
    assert SECRET not in json.dumps(entry) and "eyJ" not in json.dumps(entry)
    none = next(r for r in entry["forged"] if r["vector"] == "alg none")
    assert none["request"].endswith(".<no signature>") and '"alg":"none"' in none["request"]
    [found] = [f for f in tokens.findings({"operations": [entry]}) if f["cwe"] == 347]
    assert (found["operation"], found["request"]) == ("GET /notes", none["request"])


def test_a_secured_operation_that_refuses_the_valid_token_judges_nothing(
    serve: Any, contract: Path
) -> None:
    # the app verifies with a key the harness does not hold: no baseline, so no forged token
    evidence = _probe(serve(Checks(key="another-key")), contract, _config())
    assert {e["valid"]["status"] for e in evidence["operations"]} == {401}
    assert all(e["forged"] == [] for e in evidence["operations"])
    assert tokens.findings(evidence) == []


# -- {jwt}: a fresh valid token wherever a credential or a load request says so ---------------


def test_a_credential_that_says_jwt_is_sent_a_valid_token_of_the_scenario(
    serve: Any, contract: Path
) -> None:
    config = ProbeSurface.model_validate(
        {"jwt": JWT, "credentials": {"token": "{jwt}"}}
    ).model_dump(by_alias=True, exclude_none=True)
    target = Target(deadline_client("http://127.0.0.1:1"), attack_surface(contract, config), SECRET)
    scheme, _, token = target.auth_headers()["Authorization"].partition(" ")
    assert scheme == "Bearer" and verified(token, Checks())
    # the other way: a plain token is sent as it is written, and verifies as no JWT
    plain = {**config, "credentials": {"token": "{secret}"}}
    other = Target(deadline_client("http://127.0.0.1:1"), attack_surface(contract, plain), SECRET)
    assert other.auth_headers()["Authorization"] == f"Bearer {SECRET}"
    assert not verified(SECRET, Checks())


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"credentials": {"token": "{jwt}"}}, "credentials.token says {jwt}: declare jwt too"),
        ({"credentials": {"token": "x"}, "jwt": {"audience": "a"}}, ""),
    ],
)
def test_a_jwt_credential_needs_the_jwt_it_is_minted_from(document: dict, message: str) -> None:
    if not message:
        ProbeSurface.model_validate(document)
        return
    with pytest.raises(ValidationError, match=re.escape(message)):
        ProbeSurface.model_validate(document)


def _run_locust(spec: dict[str, Any], url: str, secret: str, tmp: Path) -> dict[str, Any]:
    """The real locustfile, as a subprocess like the load stage runs it, for 1 s of load."""
    (tmp / "spec.json").write_text(json.dumps(spec))
    env = {
        **os.environ, "BACKBENCH_LOAD_SPEC": str(tmp / "spec.json"), "APP_SECRET": secret,
        "BACKBENCH_LOAD_SECONDS": "1", "BACKBENCH_LOAD_RESULT": str(tmp / "result.json"),
    }  # fmt: skip
    locustfile = Path(load_test.__file__).with_name("locustfile.py")
    argv = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", "2",
            "-r", "2", "-t", "20s", "--host", url, "--only-summary", "--exit-code-on-error", "0",
            "--stop-timeout", "2", "--loglevel", "WARNING"]  # fmt: skip
    subprocess.run(argv, env=env, cwd=tmp, capture_output=True, timeout=60, check=True)
    result: dict[str, Any] = json.loads((tmp / "result.json").read_text())
    return result["submission"]


@pytest.mark.parametrize(("secret", "served"), [(SECRET, True), ("another-secret", False)])
def test_a_load_request_that_says_jwt_sends_a_token_the_server_verifies(
    serve: Any, tmp_path: Path, secret: str, served: bool
) -> None:
    jwt = ProbeSurface.model_validate({"jwt": JWT}).model_dump(exclude_none=True)["jwt"]
    request = {"name": "notes", "method": "GET", "path": "/notes", "weight": 1,
               "headers": {"Authorization": "Bearer {jwt}"}}  # fmt: skip
    figures = _run_locust({"requests": [request], "jwt": jwt}, serve(Checks()), secret, tmp_path)
    count, failed = int(figures["Request Count"]), int(figures["Failure Count"])
    assert count > 0
    # signed with the sample's APP_SECRET the server's key: every request served; another: none
    assert (failed == 0) if served else (failed == count), figures


# -- a revoked token -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def contract_with_logout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    document = json.loads(json.dumps(OPENAPI))
    document["paths"]["/logout"] = {"post": {"operationId": "logout", "responses": OK}}
    return write_openapi(tmp_path_factory.mktemp("notes-logout"), document)


@pytest.mark.parametrize(
    ("checks", "cwes"), [(Checks(), set()), (Checks(revocation=False), {"cwe-613"})]
)
def test_a_token_served_after_its_revocation_proves_613(
    checks: Checks, cwes: set[str], serve: Any, contract_with_logout: Path
) -> None:
    config = _config(revoke="logout")
    plan = [p for p in probe_plan(contract_with_logout, config) if p["kind"] == "tokens"]
    evidence = run_probes(serve(checks), plan, SECRET)
    assert {pid for pid, _, _ in probes_verdict(evidence)} == cwes
    raw = _probe(serve(checks), contract_with_logout, config)
    # the logout is never a target of the forged tokens: it would end the valid one
    assert "POST /logout" not in [entry["operation"] for entry in raw["operations"]]
    statuses = [raw["revoked"][k]["status"] for k in ("before", "revoke", "after")]
    assert statuses == ([200, 200, 200] if cwes else [200, 200, 401])


def test_a_revoking_operation_the_contract_lacks_is_reported(contract: Path) -> None:
    assert unknown_operations(contract, _config(revoke="logout")) == [("jwt.revoke", "logout")]
