"""The routes a submission's code declares: the decorators of FastAPI, Flask, Quart, Sanic and
aiohttp, the routes added by a call (add_api_route, add_url_rule, aiohttp's add_get and web.get,
Starlette's Route inside a Mount), Django's urlpatterns under the prefixes they are included at,
and the paths an http.server do_<METHOD> handler compares its request path with; each with the
handler whose reads are the route's keys.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from backbench.scoring.code_surface.tree import (
    ADD_METHODS,
    METHODS,
    SCOPES,
    Func,
    _arg,
    _django_prefix,
    _File,
    _Index,
    _join,
    _keyword,
    _kw,
    _last,
    _methods,
    _normalise,
    _prefix,
    _ref,
    _regex_template,
    _Route,
    _string,
)

HTTP_WORDS = {m.upper() for m in METHODS} | {"*", "ANY"}


def _valid(path: str | None) -> bool:
    if not path or not path.startswith("/") or len(path) > 300:
        return False
    return path.isprintable() and not any(c.isspace() for c in path)


def _routes(index: _Index, file: _File) -> Iterator[_Route]:
    mounted: dict[int, str] = {}  # Starlette: id(Route call) -> the prefix of its Mount
    django = any(v.startswith("django") for v in file.imports.values())
    plain: dict[int, str | None] = {}  # id(scope) -> the method of its do_<METHOD>, if any
    for node in file.nodes:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield from _decorated(index, file, node)
        elif isinstance(node, ast.Call):
            if _last(node.func) == "Mount" and node.args:
                base = mounted.get(id(node), "") + (_string(file, node.args[0]) or "")
                inner = _kw(node, "routes")
                for e in inner.elts if isinstance(inner, (ast.List, ast.Tuple)) else []:
                    mounted[id(e)] = base
            elif django and _last(node.func) in ("path", "re_path", "url"):
                yield from _django(index, file, node)
            else:
                yield from _registered(index, file, node, mounted.get(id(node), ""))
        if isinstance(node, (ast.Compare, ast.Call, ast.Match)):
            method = _plain_method(file, file.scope_of(node), plain)
            if method is not None:
                for line, path in _plain_paths(node):
                    yield _Route(method, path, file.name, line, None)


def _decorated(index: _Index, file: _File, fn: Func) -> Iterator[_Route]:
    for dec in fn.decorator_list:
        if not isinstance(dec, ast.Call):
            continue
        name = _last(dec.func)
        first = [_string(file, a) for a in dec.args[:2]]
        path = first[0] if first else _keyword(file, dec, "path", "rule", "uri")
        if name in METHODS:
            methods = [name.upper()]
        elif name in ("route", "api_route"):
            methods = _methods(dec)
            if len(first) == 2 and (first[0] or "").upper() in HTTP_WORDS:  # aiohttp
                methods, path = [(first[0] or "").upper()], first[1]
        else:
            continue
        key = _ref(index, file, dec.func.value) if isinstance(dec.func, ast.Attribute) else None
        if path is None or not (path.startswith("/") or (path == "" and key)):
            continue
        full = _normalise(_join(_prefix(index, key), path)) or "/"
        for method in methods if _valid(full) else []:
            method = "ANY" if method == "*" else method
            yield _Route(method, full, file.name, dec.lineno, fn, True)


def _registered(index: _Index, file: _File, node: ast.Call, mounted: str) -> Iterator[_Route]:
    """Routes added by a call: add_api_route, add_route, add_url_rule, aiohttp's add_get and
    web.get, Starlette's Route in a routes list."""
    name = _last(node.func)
    first = [_string(file, a) for a in node.args[:2]]
    method_first = len(first) == 2 and (first[0] or "").upper() in HTTP_WORDS
    receiver = node.func.value if isinstance(node.func, ast.Attribute) else None
    aiohttp_web = receiver is not None and _last(receiver) == "web"
    path, arguments = (first[0] if first else None), name in ("add_api_route", "APIRoute")
    if name in ("add_api_route", "add_route", "Route", "APIRoute") and not method_first:
        path = _string(file, _arg(node, 0, "path"))
        handler, methods = _arg(node, 1, "endpoint", "route"), _methods(node)
    elif name in ("add_route", "route") and method_first and (name == "add_route" or aiohttp_web):
        path, handler, methods = first[1], _arg(node, 2, "handler"), [(first[0] or "").upper()]
    elif name == "add_url_rule":
        path = _string(file, _arg(node, 0, "rule"))
        handler, methods = _arg(node, 2, "view_func"), _methods(node)
    elif name in ADD_METHODS:
        handler, methods = _arg(node, 1, "handler"), [ADD_METHODS[name]]
    elif aiohttp_web and name in (*METHODS, "view"):
        handler, methods = _arg(node, 1, "handler"), [(name or "").upper()]
    else:
        return
    key = _ref(index, file, receiver) if receiver is not None else None
    full = _normalise(_join(_join(mounted, _prefix(index, key)), path or ""))
    if path is None or not _valid(full):
        return
    target = _handler(index, file, handler)
    for method in methods:
        method = "ANY" if method in ("*", "VIEW") else method
        yield _Route(method, full, file.name, node.lineno, target, arguments)


def _django(index: _Index, file: _File, node: ast.Call) -> Iterator[_Route]:
    if len(node.args) < 2 or isinstance(node.args[1], ast.Constant):
        return
    view, raw = node.args[1], _string(file, node.args[0])
    if raw is None or (isinstance(view, ast.Call) and _last(view.func) == "include"):
        return
    part = _normalise(raw) if _last(node.func) == "path" else _regex_template(raw)
    if part is not None:
        path = "/" + (_django_prefix(index, file.name) + part).lstrip("/")
        yield _Route("ANY", path, file.name, node.lineno, _handler(index, file, view))


def _handler(index: _Index, file: _File, expr: ast.AST | None) -> ast.AST | None:
    """The function (or class, for X.as_view()) a route's view expression names."""
    if isinstance(expr, ast.Call) and _last(expr.func) == "as_view":
        expr = expr.func.value if isinstance(expr.func, ast.Attribute) else None
    defs = index.defs.get((_last(expr) if expr is not None else None) or "", [])
    return next((d for f, d in defs if f == file.name), defs[0][1] if defs else None)


def _plain_method(file: _File, scope: ast.AST | None, memo: dict[int, str | None]) -> str | None:
    """The method of the http.server do_<METHOD> a scope is (or is inside of)."""
    chain: list[ast.AST] = []
    found = None
    while scope is not None and id(scope) not in memo:
        chain.append(scope)
        name = scope.name if isinstance(scope, SCOPES) else ""
        if match := re.fullmatch(r"do_([A-Z]+)", name):
            found = match.group(1)
            break
        scope = file.outer.get(id(scope))
    if scope is not None and id(scope) in memo:
        found = memo[id(scope)]
    for s in chain:
        memo[id(s)] = found
    return found


def _mentions_path(expr: ast.AST) -> bool:
    return any(
        "path" in name.lower() or name in ("url", "route", "target", "endpoint", "uri")
        for n in ast.walk(expr) if (name := _last(n) or "")
    )  # fmt: skip


def _slashed(node: ast.AST) -> list[str]:
    elts = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [
        e.value for e in elts
        if isinstance(e, ast.Constant) and isinstance(e.value, str) and _valid(e.value)
    ]  # fmt: skip


def _plain_paths(node: ast.AST) -> Iterator[tuple[int, str]]:
    """The paths an http.server handler compares its request path with, matches it against
    or checks it starts with."""
    if isinstance(node, ast.Compare):
        operands = [node.left, *node.comparators]
        if any(not isinstance(o, ast.Constant) and _mentions_path(o) for o in operands):
            yield from ((node.lineno, p) for o in operands for p in _slashed(o))
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
        attr, receiver, pattern = node.func.attr, node.func.value, node.args[0]
        if attr == "startswith" and _mentions_path(receiver):
            yield from ((node.lineno, p) for p in _slashed(pattern))
        elif attr in ("match", "fullmatch", "search") and _last(receiver) == "re" and len(
            node.args
        ) > 1 and _mentions_path(node.args[1]) and isinstance(pattern, ast.Constant):  # fmt: skip
            path = _regex_template(str(pattern.value))
            if _valid(path):
                yield node.lineno, str(path)
    elif isinstance(node, ast.Match) and _mentions_path(node.subject):
        for case in node.cases:
            for value in ast.walk(case.pattern):
                if isinstance(value, ast.MatchValue):
                    yield from ((case.pattern.lineno, p) for p in _slashed(value.value))
