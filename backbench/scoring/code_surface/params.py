"""The request keys a submission's code reads: the keys it looks up in a request's query,
headers, form, cookies or body (directly or through a variable holding one of them), Tornado's
get_argument and the like, and a FastAPI handler's arguments that are request parameters
(Query(), Header()... or a scalar annotation); each with the routes whose handler, or a function
inside it, reads the key.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

from backbench.scoring.code_surface.tree import (
    GETTERS,
    Func,
    _dedupe,
    _File,
    _Index,
    _kw,
    _last,
    _Route,
)

MAX_ROUTE_PARAMS = 40
NAME_OK = re.compile(r"[A-Za-z0-9_.\-\[\]]{1,40}")
# where a request's attribute (request.args, request.headers...) keeps its keys
REQUEST_ATTRS = {
    "args": "query", "query_params": "query", "GET": "query", "query": "query", "values": "any",
    "headers": "header", "META": "meta", "form": "form", "POST": "form", "cookies": "cookie",
    "COOKIES": "cookie", "json": "body", "data": "body",
}  # fmt: skip
REQUEST_CALLS = {"get_json": "body", "json": "body", "form": "form", "post": "form"}
CONVENTION = {"body": "body", "data": "body", "payload": "body", "json_body": "body",
              "doc": "body", "params": "any", "query": "any", "qs": "any",
              "args": "any"}  # fmt: skip
TORNADO = {"get_argument": "any", "get_arguments": "any", "get_query_argument": "query",
           "get_body_argument": "form", "get_cookie": "cookie", "get_secure_cookie": "cookie",
           "get_signed_cookie": "cookie"}  # fmt: skip
MARKERS = {"Query": "query", "Header": "header", "Cookie": "cookie", "Form": "form",
           "Body": "body", "Path": "", "Depends": "", "Security": "", "File": ""}  # fmt: skip
SCALARS = {
    "str", "int", "float", "bool", "bytes", "UUID", "date", "datetime", "time", "timedelta",
    "Decimal", "EmailStr", "HttpUrl", "AnyUrl", "Optional", "Union", "List", "list", "Set",
    "set", "FrozenSet", "frozenset", "Tuple", "tuple", "Sequence", "Annotated", "Literal",
    "typing", "uuid", "decimal", "pydantic", "t",
    "StrictStr", "StrictInt", "StrictBool", "PositiveInt", "NonNegativeInt", "constr", "conint",
}  # fmt: skip
SKIP_ARGS = {"self", "cls", "request", "req", "response", "resp", "websocket", "ws"}


def _is_request(expr: ast.AST, names: set[str]) -> bool:
    if isinstance(expr, ast.Name):
        return expr.id in names or "request" in expr.id.lower()
    if isinstance(expr, ast.Attribute):
        if expr.attr == "rel_url":  # aiohttp: request.rel_url.query
            return isinstance(expr.value, ast.Name) and _is_request(expr.value, names)
        return expr.attr == "request"
    return False


def _source(expr: ast.AST, kinds: dict[str, str], names: set[str], depth: int = 0) -> str | None:
    """Which part of the request `expr` holds the keys of: query, header, meta (Django's
    HTTP_ keys), form, cookie, body or any; None when it is not the request's."""
    while isinstance(expr, ast.Await):
        expr = expr.value
    if isinstance(expr, ast.Name):
        return kinds[expr.id] or None if expr.id in kinds else CONVENTION.get(expr.id)
    if isinstance(expr, ast.Attribute):
        if isinstance(expr.value, ast.Name) and expr.value.id == "self":
            return "header" if expr.attr == "headers" else None
        return REQUEST_ATTRS.get(expr.attr) if _is_request(expr.value, names) else None
    if depth >= 8:
        return None
    if isinstance(expr, ast.DictComp) and isinstance(expr.generators[0].iter, ast.Call):
        items = expr.generators[0].iter.func
        inner = items.value if isinstance(items, ast.Attribute) else None
        return _source(inner, kinds, names, depth + 1) if inner is not None else None
    if not isinstance(expr, ast.Call):
        return None
    func, name = expr.func, _last(expr.func)
    if name in ("parse_qs", "parse_qsl"):
        return "query"
    if name == "loads" and _last(getattr(func, "value", func)) in ("json", "orjson", "loads"):
        return "body"
    if name == "dict" and expr.args:
        return _source(expr.args[0], kinds, names, depth + 1)
    if isinstance(func, ast.Attribute):
        if name in REQUEST_CALLS and _is_request(func.value, names):
            return REQUEST_CALLS[name]
        if name in ("to_dict", "dict", "copy"):
            return _source(func.value, kinds, names, depth + 1)
    return None


def _read(node: ast.AST, kinds: dict[str, str], names: set[str]) -> tuple[str, str] | None:
    """(key, where) when `node` reads a key of the request."""
    key, where = None, None
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        key = node.args[0].value if isinstance(node.args[0], ast.Constant) else None
        if node.func.attr in GETTERS:
            where = _source(node.func.value, kinds, names)
        elif node.func.attr in TORNADO and _last(node.func.value) == "self":
            where = TORNADO[node.func.attr]
    elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        key, where = node.slice.value, _source(node.value, kinds, names)
    elif isinstance(node, ast.Compare) and isinstance(node.left, ast.Constant) and isinstance(
        node.ops[0], (ast.In, ast.NotIn)
    ):  # fmt: skip
        key, where = node.left.value, _source(node.comparators[0], kinds, names)
    if where is None or not isinstance(key, str):
        return None
    if where == "meta":
        if not key.startswith("HTTP_"):
            return None
        key, where = "-".join(w.capitalize() for w in key[5:].split("_")), "header"
    return (key, where) if NAME_OK.fullmatch(key) else None


def _arguments(fn: Func, path: str, index: _Index) -> Iterator[tuple[str, str]]:
    """FastAPI: the handler's arguments that are request parameters, and where."""
    in_path = set(re.findall(r"\{(\w+)\}", path))
    a = fn.args
    positional = [*a.posonlyargs, *a.args]
    defaults = [None] * (len(positional) - len(a.defaults)) + list(a.defaults)
    pairs = [
        *zip(positional, defaults, strict=True),
        *zip(a.kwonlyargs, a.kw_defaults, strict=True),
    ]
    for arg, default in pairs:
        if arg.arg in in_path or arg.arg in SKIP_ARGS:
            continue
        annotation = _unaliased(arg.annotation, index)
        marker = _marker(default) or _marker(annotation)
        if marker is None:
            if _scalar(annotation, index):
                yield arg.arg, "query"
            continue
        kind, call = marker
        alias = _kw(call, "alias")
        name = str(alias.value) if isinstance(alias, ast.Constant) else arg.arg
        convert = _kw(call, "convert_underscores")
        if MARKERS[kind] == "header" and alias is None and not (
            isinstance(convert, ast.Constant) and convert.value is False
        ):  # fmt: skip
            name = name.replace("_", "-")
        if MARKERS[kind] and NAME_OK.fullmatch(name):
            yield name, MARKERS[kind]


def _unaliased(annotation: ast.AST | None, index: _Index) -> ast.AST | None:
    """The type a module-level alias names (`limit: Limit` where `Limit = Annotated[int,
    Query(ge=1)]`), followed a few times; any other annotation as it is."""
    for _ in range(3):
        name = annotation.id if isinstance(annotation, ast.Name) else None
        if name is None or name not in index.aliases:
            break
        annotation = index.aliases[name]
    return annotation


def _marker(node: ast.AST | None, depth: int = 0) -> tuple[str, ast.Call] | None:
    """Query(...), Header(...) and the like, as a default or in Annotated[...]'s metadata."""
    if isinstance(node, ast.Subscript) and _last(node.value) == "Annotated" and depth < 4:
        extra = node.slice.elts[1:] if isinstance(node.slice, ast.Tuple) else []
        return next((m for e in extra if (m := _marker(e, depth + 1))), None)
    if isinstance(node, ast.Call) and (name := _last(node.func)) in MARKERS:
        return str(name), node
    return None


def _scalar(annotation: ast.AST | None, index: _Index) -> bool:
    """Whether FastAPI reads an argument of this type from the query (not a body, not a
    dependency): no annotation, or one built of scalars and enums only."""
    if annotation is None:
        return True
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        try:
            annotation = ast.parse(annotation.value[:200], mode="eval").body
        except (SyntaxError, RecursionError, MemoryError):
            return False
    allowed = SCALARS | index.enums
    return all(name in allowed for n in ast.walk(annotation) if (name := _last(n)) is not None)


def _file_reads(file: _File) -> list[tuple[ast.AST | None, str, str]]:
    """(scope, key, where) of every read of a request key in a file. A variable's kind comes
    from the assignments of the scope that reads it."""
    names = {"request", "req", "rq"} | {
        node.arg for node in file.nodes if isinstance(node, ast.arg) and node.annotation
        is not None and _last(node.annotation) in ("Request", "HttpRequest", "HTTPConnection")
    }  # fmt: skip
    kinds: dict[int, dict[str, str]] = {}
    for node in file.nodes:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name):
            own = kinds.setdefault(id(file.scope_of(node)), {})
            own[target.id] = _source(value, own, names) or ""
    found = []
    for node in file.nodes:
        scope = file.scope_of(node)
        if read := _read(node, kinds.get(id(scope), {}), names):
            found.append((scope, *read))
    return found


def _params(
    index: _Index, routes: list[_Route]
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """Every request key the code reads, with the route whose handler (or a function inside
    it) reads it, and each route's own keys."""
    handled: dict[int, list[str]] = {}  # id(handler) -> labels of its routes
    for route in routes:
        if route.handler is not None:
            handled.setdefault(id(route.handler), []).append(route.label)
    per_route: dict[str, list[tuple[str, str]]] = {r.label: [] for r in routes}
    flat: list[dict[str, Any]] = []
    for file in index.files.values():
        memo: dict[int, list[str]] = {}
        for scope, key, where in _file_reads(file):
            labels = _labels(file, scope, handled, memo)
            for label in labels:
                per_route[label].append((key, where))
            routes_of: list[str | None] = [*labels] or [None]
            flat += [{"name": key, "in": where, "route": label} for label in routes_of]
    for route in routes:
        if route.arguments and isinstance(route.handler, (ast.FunctionDef, ast.AsyncFunctionDef)):
            found = list(_arguments(route.handler, route.path, index))
            per_route[route.label] += found
            flat += [{"name": k, "in": w, "route": route.label} for k, w in found]
    flat = _dedupe(flat, lambda p: (p["name"], p["in"], p["route"]))
    # each key's first read before its repeats, so the cap keeps as many keys as it can
    firsts = {id(p) for p in _dedupe(flat, lambda p: (p["name"], p["in"]))}
    flat.sort(key=lambda p: id(p) not in firsts)
    return flat, {
        label: [{"name": k, "in": w} for k, w in dict.fromkeys(keys)][:MAX_ROUTE_PARAMS]
        for label, keys in per_route.items()
    }


def _labels(
    file: _File, scope: ast.AST | None, handled: dict[int, list[str]], memo: dict[int, list[str]]
) -> list[str]:
    """The routes whose handler is this scope or one around it."""
    if scope is None:
        return []
    if id(scope) not in memo:
        chain = [scope]  # iterated, not recursive: a hostile file nests deep
        while (up := file.outer.get(id(chain[-1]))) is not None and id(up) not in memo:
            chain.append(up)
        labels = memo.get(id(up), []) if up is not None else []
        for s in reversed(chain):
            labels = [*labels, *handled.get(id(s), [])]
            memo[id(s)] = labels
    return memo[id(scope)]
