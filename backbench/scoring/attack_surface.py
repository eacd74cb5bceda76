"""The attack surface of a scenario, drawn from its OpenAPI document.

Operations, their parameters (path, query, header), their JSON bodies and whether they need
credentials come from `openapi.yaml` (through backbench.contract.ContractValidator, with every
local `$ref` resolved); scenario.yaml's `probes:` adds only what the document cannot say (the
credential's value, the JWTs the submission must accept, the users and what they own or may
do, the inputs that become Redis keys, which fields hold URLs, file names or HTML, and exclusions
with a reason). `probe_plan()` turns both into the probes the security stage runs: one entry per
CWE of every family that applies, each id `cwe-<n>`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backbench.contract import ContractValidator
from backbench.registry import PROBE_KINDS
from backbench.scoring.exploits._send import media_type

MAX_DEPTH = 12
FORM = "application/x-www-form-urlencoded"
# the operations of an owned object scenario.yaml names
OWNED_ROLES = ("create", "read", "update", "delete")


def attack_surface(openapi_file: Path, config: dict[str, Any]) -> dict[str, Any]:
    """The JSON surface the probe families read (see backbench.scoring.exploits)."""
    contract = ContractValidator.from_file(openapi_file)
    document = contract.document
    schemes = (document.get("components") or {}).get("securitySchemes") or {}
    top_security = document.get("security") or []
    operations = []
    for op in contract.operations():
        item = document["paths"][op.template]
        node = item[op.method]
        security = node.get("security", top_security)
        shared = [_resolve(document, p) for p in item.get("parameters", [])]
        own = [_resolve(document, p) for p in node.get("parameters", [])]
        merged = {(p["in"], p["name"]): p for p in shared + own}
        operations.append(
            {
                "id": op.label, "method": op.method.upper(), "path": op.template,
                "secured": any(bool(req) for req in security),
                "params": [
                    {"name": p["name"], "in": p["in"], "required": bool(p.get("required")),
                     "schema": _resolve(document, p.get("schema", {}))}
                    for p in merged.values() if p["in"] in ("path", "query", "header")
                ],
                "body": _json_body(document, node),
                # only where the contract has one: other scenarios' surfaces stay as they were
                **({"form": form} if (form := _form_body(document, node)) else {}),
                **_answer(document, node),
            }
        )  # fmt: skip
    return {
        "operations": operations,
        "credentials": _credentials(schemes, config.get("credentials")),
        "redis_keys": list(config.get("redis_keys", [])),
        "url_fields": list(config.get("url_fields", [])),
        "file_fields": list(config.get("file_fields", [])),
        "html_fields": list(config.get("html_fields", [])),
        "exclude": list(config.get("exclude", [])),
        # only where declared: the surfaces, and so the plans, of other scenarios stay as they are
        **({"jwt": _jwt(contract, schemes, config["jwt"])} if config.get("jwt") else {}),
        **(_authorization(contract, schemes, config) if config.get("principals") else {}),
        **({"login": _login(contract, config["login"])} if config.get("login") else {}),
        **({"cors_origins": list(config["cors_origins"])} if config.get("cors_origins") else {}),
        **({"session": _session(contract, config["session"])} if config.get("session") else {}),
    }


def probe_plan(openapi_file: Path, config: dict[str, Any]) -> list[dict[str, Any]]:
    """One probe per CWE of every family that applies and is not excluded as a whole.

    A folder without a contract (a harness test's scenario) has no surface to probe.
    """
    if not openapi_file.is_file():
        return []
    return _plan(attack_surface(openapi_file, config))


def with_code(plan: list[dict[str, Any]], code: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan again over a surface that also holds what the submission's code reveals
    (backbench.scoring.code_surface): a family may apply only with it (literals to try as
    credentials). A scenario that plans no probes gains none."""
    if not plan:
        return []
    return _plan({**plan[0]["surface"], "code": code})


# a code surface with one of everything the code can reveal: which probes a submission's code
# could add to a scenario's plan
ANY_CODE: dict[str, Any] = {
    "routes": [{"method": "GET", "path": "/any", "params": []}],
    "params": [{"name": "any", "in": "query", "route": None}],
    "regexes": [{"pattern": "(a+)+$", "attack": "a" * 30 + "!", "kind": "exponential"}],
    "literals": [{"value": "any-literal", "env_default": False}],
}


def possible_probe_ids(plan: list[dict[str, Any]]) -> list[str]:
    """The probe ids a mutant may declare: the plan's, and those a submission's code can add
    (a family that applies only with what the code reveals, such as its literals)."""
    return list(dict.fromkeys(str(p["id"]) for p in [*plan, *with_code(plan, ANY_CODE)]))


def _plan(surface: dict[str, Any]) -> list[dict[str, Any]]:
    """One probe per CWE: a CWE two families prove (94: a sleep in a value, and a debugger's
    console) is planned by the first that applies, and the other's proof of it still counts."""
    whole = {e.get("family") for e in surface["exclude"] if not e.get("operation")}
    cwes = {e.get("cwe") for e in surface["exclude"] if not e.get("operation")}
    planned: dict[int, dict[str, Any]] = {}
    for kind in PROBE_KINDS.values():
        if kind.name in whole or not kind.applies(surface):
            continue
        for cwe in kind.cwes_on(surface):
            if cwe not in cwes:
                planned.setdefault(
                    cwe, {"id": f"cwe-{cwe}", "kind": kind.name, "cwe": cwe, "surface": surface}
                )
    return list(planned.values())


def _credentials(schemes: dict[str, Any], given: dict[str, Any] | None) -> dict[str, str] | None:
    if not given:
        return None
    scheme: dict[str, Any] = schemes.get(given.get("scheme", ""), {}) or next(
        iter(schemes.values()), {}
    )
    if scheme.get("type") == "apiKey" and scheme.get("in") == "header":
        return {"header": scheme["name"], "prefix": "", "token": given["token"]}
    prefix = "Basic " if scheme.get("scheme", "bearer").lower() == "basic" else "Bearer "
    return {"header": "Authorization", "prefix": prefix, "token": given["token"]}


def _jwt(
    contract: ContractValidator, schemes: dict[str, Any], given: dict[str, Any]
) -> dict[str, Any]:
    """The scenario's JWTs and where they go: an `Authorization: Bearer` header, which only an
    HTTP bearer scheme of the contract asks for (`bearer`)."""
    bearer = any(
        isinstance(s, dict) and s.get("type") == "http" and str(s.get("scheme")).lower() == "bearer"
        for s in schemes.values()
    )
    revoke = given.get("revoke")
    names = operation_names(contract) if revoke else {}
    labelled = {"revoke": names.get(str(revoke), str(revoke))} if revoke else {}
    return {**given, **labelled, "bearer": bearer, "header": "Authorization", "prefix": "Bearer "}


def operation_names(contract: ContractValidator) -> dict[str, str]:
    """Every name scenario.yaml may give an operation, to its label ('GET /notes/{id}'): the
    label itself and the document's operationId."""
    names = {}
    for op in contract.operations():
        node = contract.document["paths"][op.template][op.method]
        names[op.label] = op.label
        if node.get("operationId"):
            names[str(node["operationId"])] = op.label
    return names


def unknown_operations(openapi_file: Path, config: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, name) of every operation `probes.owned`, `admin_only` and `login` name that the
    document does not have (catalogue --check reports them)."""
    if not openapi_file.is_file():
        return []
    names = operation_names(ContractValidator.from_file(openapi_file))
    given = [
        (f"owned[{i}].{role}", str(entry[role]))
        for i, entry in enumerate(config.get("owned", []))
        for role in OWNED_ROLES if entry.get(role)
    ]  # fmt: skip
    given += [(f"admin_only[{i}]", str(n)) for i, n in enumerate(config.get("admin_only", []))]
    if (config.get("jwt") or {}).get("revoke"):
        given.append(("jwt.revoke", str(config["jwt"]["revoke"])))
    login = config.get("login") or {}
    given += [(f"login.{role}", str(login[role])) for role in ("signup", "login") if role in login]
    session = config.get("session") or {}
    given += [(f"session.{r}", str(session[r])) for r in ("signup", "login") if session.get(r)]
    given += [
        (f"session.forms[{i}].{role}", str(form[role]))
        for i, form in enumerate(session.get("forms", [])) for role in ("action", "shows")
    ]  # fmt: skip
    return [(where, name) for where, name in given if name not in names]


def _authorization(
    contract: ContractValidator, schemes: dict[str, Any], config: dict[str, Any]
) -> dict[str, Any]:
    """The users, owned objects and admin-only operations, each operation named by its label;
    a user's token goes where the scenario's credential goes (else the first scheme's)."""
    names = operation_names(contract)
    scheme = (config.get("credentials") or {}).get("scheme", "")
    where = _credentials(schemes, {"scheme": scheme, "token": ""}) or {}
    owned = [
        {**entry, **{role: names.get(str(entry[role]), str(entry[role]))
                     for role in OWNED_ROLES if entry.get(role)}}
        for entry in config.get("owned", [])
    ]  # fmt: skip
    return {
        "principals": {
            name: {**given, "header": where.get("header", "Authorization"),
                   "prefix": where.get("prefix", "Bearer ")}
            for name, given in config["principals"].items()
        },
        "owned": owned,
        "admin_only": [names.get(str(n), str(n)) for n in config.get("admin_only", [])],
    }  # fmt: skip


def _login(contract: ContractValidator, given: dict[str, Any]) -> dict[str, Any]:
    """The declared login, its two operations named by their labels."""
    names = operation_names(contract)
    return {**given, **{r: names.get(str(given[r]), str(given[r])) for r in ("signup", "login")}}


def _session(contract: ContractValidator, given: dict[str, Any]) -> dict[str, Any]:
    """The declared sessions, every operation named by its label."""
    names = operation_names(contract)

    def label(name: Any) -> Any:
        return names.get(str(name), str(name)) if name else name

    forms = [
        {"action": label(f["action"]), "shows": label(f["shows"])} for f in given.get("forms", [])
    ]
    return {**given, "signup": label(given.get("signup")), "login": label(given["login"]),
            "forms": forms}  # fmt: skip


def _form_body(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any] | None:
    """The schema of an HTML form's body (`application/x-www-form-urlencoded`), if any."""
    body = _resolve(document, node.get("requestBody", {}))
    content = body.get("content", {}) if isinstance(body, dict) else {}
    media = next((m for m in content if media_type(m) == FORM), None)
    return None if media is None else _resolve(document, content[media].get("schema", {}))


def _json_body(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any] | None:
    body = _resolve(document, node.get("requestBody", {}))
    content = body.get("content", {}) if isinstance(body, dict) else {}
    media = next((m for m in content if "json" in m), None)
    return None if media is None else _resolve(document, content[media].get("schema", {}))


def _answer(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """The success answer's fields, the key of its item list, whether any answer is HTML and
    whether a success answer is an HTML page (`text/html`, what a browser renders and frames)."""
    fields: dict[str, Any] = {}
    list_key = None
    html = html_success = False
    for status, response in (node.get("responses") or {}).items():
        content = _resolve(document, response).get("content", {})
        html = html or any("html" in m for m in content)
        if not str(status).startswith("2"):
            continue
        html_success = html_success or any(media_type(m) == "text/html" for m in content)
        media = next((m for m in content if "json" in m), None)
        schema = _resolve(document, content[media].get("schema", {})) if media else {}
        props = schema.get("properties", {}) if isinstance(schema, dict) else {}
        fields.update(props)
        list_key = list_key or next(
            (k for k, v in props.items() if isinstance(v, dict) and v.get("type") == "array"), None
        )
        if schema.get("type") == "array":
            list_key = ""
    statuses = [str(s) for s in (node.get("responses") or {})]
    return {"response_fields": fields, "list_key": list_key, "serves_html": html,
            "html_success": html_success, "statuses": statuses}  # fmt: skip


def _resolve(document: dict[str, Any], node: Any, depth: int = 0) -> Any:
    """The node with every local $ref replaced by its target. `depth` counts the references
    followed on the way here: a recursive schema stops at MAX_DEPTH of them, and only the
    reference found there becomes {} (nesting alone never cuts a value, such as an enum's
    strings deep inside an anyOf)."""
    if isinstance(node, list):
        return [_resolve(document, n, depth) for n in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if depth >= MAX_DEPTH:
            return {}
        target: Any = document
        for part in ref[2:].split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        rest = {k: v for k, v in node.items() if k != "$ref"}
        return _resolve(document, {**target, **rest}, depth + 1)
    if "allOf" in node:
        merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
        for part in _resolve(document, node["allOf"], depth):
            merged.setdefault("properties", {}).update(part.get("properties", {}))
            merged.update({k: v for k, v in part.items() if k != "properties"})
        return _resolve(document, merged, depth)
    return {k: _resolve(document, v, depth) for k, v in node.items()}
