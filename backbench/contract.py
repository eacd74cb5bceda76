"""The published contract: check one HTTP exchange against a scenario's OpenAPI 3.x document.

For the test kit, one call per response::

    validator = ContractValidator.from_file(scenario_dir / "openapi.yaml")  # once
    problems = validator.check(response)  # an httpx.Response; [] when it conforms

Each problem is one line naming the exchange, where, and why, e.g.
``"POST /v1/items -> 201: body.created_at: 'x' is not a 'date-time'"``. Checked: the status is
documented for the operation (exactly, as ``4XX``, or through ``default``); the body is JSON
when the document says so and conforms to the schema (types, required fields, enums, formats
such as ``date-time``); a response documented without content has no body; documented response
headers that are present conform to their schema (and required ones are present).

A request whose method and path match no operation of the document gives exactly one problem,
an instance of :class:`UndocumentedOperation` (a ``str``), so a test that calls an undocumented
path on purpose can tell it apart and drop it::

    problems = [p for p in problems if not isinstance(p, UndocumentedOperation)]

``validator.operation(method, path)`` answers the same question before a call.

Schemas are JSON Schema 2020-12 (OpenAPI 3.1), checked by ``jsonschema`` with its format
checker; ``date-time`` needs ``rfc3339-validator``, whose absence is an error here rather than
a check that silently passes. OpenAPI 3.0's ``nullable`` and boolean exclusive bounds are
translated first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from backbench import _yaml

if TYPE_CHECKING:
    import httpx

DOCUMENT_URI = "urn:backbench:openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
MAX_PROBLEMS = 20
MAX_MESSAGE = 300
FORMAT_CHECKER = Draft202012Validator.FORMAT_CHECKER
if "date-time" not in FORMAT_CHECKER.checkers:  # pragma: no cover - an install problem
    raise ImportError("jsonschema cannot check date-time: install rfc3339-validator")


class UndocumentedOperation(str):
    """The problem reported when no operation of the document matches the request."""

    __slots__ = ()


@dataclass(frozen=True)
class Operation:
    """One documented operation: its method, path template and JSON pointer in the document."""

    method: str
    template: str
    pointer: str

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.template}"


class ContractValidator:
    """An OpenAPI 3.x document, loaded once, that checks exchanges against it."""

    def __init__(self, document: dict[str, Any]) -> None:
        if not str(document.get("openapi", "")).startswith("3."):
            raise ValueError("not an OpenAPI 3.x document")
        if str(document["openapi"]).startswith("3.0"):
            document = _from_openapi_30(document)
        self.document = document
        resource: Resource[Any] = DRAFT202012.create_resource(document)
        self._registry: Registry[Any] = Registry().with_resource(DOCUMENT_URI, resource)
        self._validators: dict[str, Draft202012Validator] = {}
        self._prefixes = _server_prefixes(document)
        self._templates = [
            (template, _template_regex(template)) for template in document.get("paths") or {}
        ]
        # literal segments before parameters: /items/new wins over /items/{id}
        self._templates.sort(key=lambda item: (item[0].count("{"), -len(item[0])))

    @classmethod
    def from_file(cls, path: Path) -> ContractValidator:
        """Load a YAML or JSON OpenAPI document."""
        return cls(_yaml.safe_load(path.read_text()))

    def operations(self) -> list[Operation]:
        """Every documented operation, in document order."""
        return [
            Operation(method, template, f"/paths/{_escape(template)}/{method}")
            for template, item in (self.document.get("paths") or {}).items()
            for method in item
            if method in METHODS
        ]

    def operation(self, method: str, path: str) -> Operation | None:
        """The documented operation a concrete request path and method reach, if any."""
        path = self._strip_prefix(path)
        for template, regex in self._templates:
            if regex.fullmatch(path):
                item = self.document["paths"][template]
                if method.lower() in item:
                    return Operation(
                        method.lower(), template, f"/paths/{_escape(template)}/{method.lower()}"
                    )
        return None

    def check(self, response: httpx.Response) -> list[str]:
        """Problems of one httpx response (and its request) against the document."""
        request = response.request
        return self.check_exchange(
            request.method, request.url.path, response.status_code, response.headers,
            response.content,
        )  # fmt: skip

    def check_exchange(
        self, method: str, path: str, status: int, headers: Mapping[str, str], body: bytes
    ) -> list[str]:
        """Problems of one exchange given as its parts; [] when it conforms."""
        where = f"{method.upper()} {path} -> {status}"
        operation = self.operation(method, path)
        if operation is None:
            return [UndocumentedOperation(f"{where}: no operation of the document matches")]
        responses = self._at(operation.pointer).get("responses") or {}
        key = _response_key(responses, status)
        if key is None:
            documented = ", ".join(str(k) for k in responses)
            return [f"{where}: status {status} is not documented (documented: {documented})"]
        response, pointer = self._follow(
            responses[key], f"{operation.pointer}/responses/{_escape(key)}"
        )
        lower = {k.lower(): v for k, v in headers.items()}
        problems = self._header_problems(response, pointer, lower)
        problems += self._body_problems(response, pointer, lower.get("content-type", ""), body)
        return [f"{where}: {p}" for p in problems[:MAX_PROBLEMS]]

    def _body_problems(
        self, response: dict[str, Any], pointer: str, content_type: str, body: bytes
    ) -> list[str]:
        content = response.get("content") or {}
        if not content:
            return [f"body: none is documented, got {len(body)} bytes"] if body else []
        media = content_type.split(";")[0].strip().lower()
        key = _media_key(content, media)
        if key is None:
            return [f"content-type {media or '(none)'!r} is not documented ({', '.join(content)})"]
        schema = content[key].get("schema") if isinstance(content[key], dict) else None
        if schema is None or not _is_json(media):
            return []
        try:
            instance = json.loads(body)
        except ValueError:
            return [f"body: not valid JSON ({body[:80]!r})"]
        media_pointer = f"{pointer}/content/{_escape(key)}/schema"
        return self._schema_problems(media_pointer, instance, "body")

    def _header_problems(
        self, response: dict[str, Any], pointer: str, headers: dict[str, str]
    ) -> list[str]:
        problems: list[str] = []
        for name, spec in (response.get("headers") or {}).items():
            header, header_pointer = self._follow(spec, f"{pointer}/headers/{_escape(name)}")
            value = headers.get(name.lower())
            if value is None:
                if header.get("required"):
                    problems.append(f"header {name}: required but missing")
                continue
            if "schema" in header:
                schema = header["schema"]
                problems += self._schema_problems(
                    f"{header_pointer}/schema", _header_value(value, schema), f"header {name}"
                )
        return problems

    def _schema_problems(self, pointer: str, instance: Any, root: str) -> list[str]:
        validator = self._validator(pointer)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.path)))
        return [f"{_location(root, e.absolute_path)}: {_short(e)}" for e in errors]

    def _validator(self, pointer: str) -> Draft202012Validator:
        if pointer not in self._validators:
            # nested "#/components/..." references resolve against the whole document
            self._validators[pointer] = Draft202012Validator(
                {"$ref": f"{DOCUMENT_URI}#{pointer}"},
                registry=self._registry,
                format_checker=FORMAT_CHECKER,
            )
        return self._validators[pointer]

    def _at(self, pointer: str) -> Any:
        node: Any = self.document
        for part in pointer.strip("/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _follow(self, node: Any, pointer: str) -> tuple[dict[str, Any], str]:
        """Follow local $refs (response and header objects); return the target and its pointer."""
        for _ in range(10):
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#/"):
                break
            pointer = ref[1:]
            node = self._at(pointer)
        return node, pointer

    def _strip_prefix(self, path: str) -> str:
        for prefix in self._prefixes:
            if path.startswith(prefix + "/"):
                return path[len(prefix) :]
        return path


def _response_key(responses: Mapping[Any, Any], status: int) -> str | None:
    by_text = {str(k).upper(): str(k) for k in responses}
    for candidate in (str(status), f"{str(status)[0]}XX", "DEFAULT"):
        if candidate in by_text:
            return by_text[candidate]
    return None


def _media_key(content: Mapping[str, Any], media: str) -> str | None:
    if media in content:
        return media
    for key in content:
        kind, _, sub = key.lower().partition("/")
        if key == "*/*" or (sub == "*" and media.startswith(kind + "/")):
            return key
    return None


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def _header_value(value: str, schema: Mapping[str, Any]) -> Any:
    """A header's text as the JSON type its schema names, when it parses as one."""
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or [])
    if "integer" in kinds and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    if "number" in kinds:
        try:
            return float(value)
        except ValueError:
            return value
    if "boolean" in kinds and value.strip() in ("true", "false"):
        return value.strip() == "true"
    return value


def _location(root: str, path: Iterable[Any]) -> str:
    text = root
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def _short(error: ValidationError) -> str:
    message = error.message
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def _escape(key: Any) -> str:
    return str(key).replace("~", "~0").replace("/", "~1")


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}/]+\})", template)
    return re.compile("".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts))


def _server_prefixes(document: Mapping[str, Any]) -> list[str]:
    """Path prefixes of the document's servers (`http://host/api` serves /api/...)."""
    prefixes = []
    for server in document.get("servers") or []:
        url = str(server.get("url", ""))
        for name, variable in (server.get("variables") or {}).items():
            url = url.replace("{" + name + "}", str(variable.get("default", "")))
        prefix = urlparse(url).path.rstrip("/")
        if prefix:
            prefixes.append(prefix)
    return prefixes


def _from_openapi_30(node: Any) -> Any:
    """OpenAPI 3.0 schema dialect to JSON Schema 2020-12: nullable and boolean bounds."""
    if isinstance(node, list):
        return [_from_openapi_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _from_openapi_30(v) for k, v in node.items() if k != "nullable"}
    for bound, limit in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        if out.get(bound) is True and limit in out:
            out[bound] = out.pop(limit)
        elif out.get(bound) is False:
            del out[bound]
    if node.get("nullable") is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out
