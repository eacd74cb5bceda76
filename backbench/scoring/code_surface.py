"""What a submission's source reveals to the security stage: routes, request keys, regexes and
string literals.

The agent's Python is read with `ast`, never imported or run (it is hostile), so the probe
families (backbench.scoring.exploits) can attack what the code exposes beyond what the contract
documents: routes nobody documented and the request keys their handlers read, the attack strings
of its regular expressions that backtrack catastrophically, and the literals that may be
hard-coded credentials (CWE-798). Everything is best effort and bounded: a file that does not
parse is skipped, each file is walked once, every list has a cap, and regexploit (whose branch
expansion is exponential on a hostile pattern) runs in a child process with a timer on every
pattern.
"""

from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backbench.sandbox.paths import read_no_follow
from backbench.scoring.source_files import python_files
from backbench.scoring.static_values import import_map

MAX_ROUTES, MAX_PARAMS, MAX_REGEXES, MAX_LITERALS = 200, 200, 50, 60
MAX_ROUTE_PARAMS = 40
READ_LIMIT = 512_000
# all files together, smallest first: the service's own modules are rarely the big ones
TOTAL_LIMIT = 2_000_000
MAX_PATTERN = 500
MAX_CANDIDATES = 200
PATTERN_SECONDS = 0.5
ANALYSIS_TIMEOUT = 20
# attack sizes, about 4e9 backtracking steps: seconds of CPython's re (measured here: the
# weakest cubic and quartic patterns take 4-5 s, (a+)+ takes 20-45 s at 30 repeats)
EXPONENTIAL_REPEATS = 30
POLYNOMIAL_STEPS = 4e9
MAX_ATTACK = 100_000
# entries of the cross-file tables a hostile file could inflate
MAX_TABLE = 500

Func = ast.FunctionDef | ast.AsyncFunctionDef
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
Key = tuple[str, str]
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
HTTP_WORDS = {m.upper() for m in METHODS} | {"*", "ANY"}
ADD_METHODS = {f"add_{m}": m.upper() for m in (*METHODS, "view")}
ROUTER_CLASSES = {"APIRouter", "Blueprint", "FastAPI", "Flask", "Starlette", "Application",
                  "RouteTableDef", "Quart", "Sanic"}  # fmt: skip
# mounting calls, and the keyword of their prefix ("": the prefix is the first argument)
MOUNTS = {"include_router": "prefix", "register_blueprint": "url_prefix", "mount": "",
          "add_subapp": ""}  # fmt: skip
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
GETTERS = {"get", "getlist", "getall", "getone", "get_all", "get_list", "pop"}
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
# re's functions, and the position of their flags argument
RE_FUNCS = {"compile": 1, "match": 2, "fullmatch": 2, "search": 2, "sub": 4, "subn": 4,
            "findall": 2, "finditer": 2, "split": 3}  # fmt: skip
REGEX_NAME = re.compile(r"pattern|regex|(^|_)re($|_)", re.I)
CREDENTIAL_NAME = re.compile(r"secret|token|key|passw|pwd|api|auth|credential|salt", re.I)
NOT_SECRET = re.compile(
    r"%[sdrfiYmdHMS(]|\{[^{}]*\}|^(application|text|image|audio|video|multipart|font)/"
    r"|^[A-Z][a-z]*(-[A-Z][A-Za-z]*)+$|://|^v?\d+(\.\d+)+$"
)
# calls whose first argument names a route, a key or a variable rather than holding a value
NAMING_CALLS = {"path", "re_path", "url", "include", "route", "api_route", "add_api_route",
                "add_route", "add_url_rule", "Route", "APIRoute", "Mount", "getenv", "setdefault",
                *METHODS, *ADD_METHODS, *GETTERS}  # fmt: skip
WORDS = re.compile(r"[a-z_]+|[A-Z_]+|[A-Za-z]+|[A-Za-z_]+(\.[A-Za-z_]+)+")


@dataclass
class _File:
    """One parsed file, walked once: its nodes (parents first) and the innermost function or
    class around each."""

    name: str
    tree: ast.Module
    nodes: list[ast.AST] = field(default_factory=list)
    scope: dict[int, ast.AST] = field(default_factory=dict)  # id(node) -> scope; module: none
    outer: dict[int, ast.AST] = field(default_factory=dict)  # id(scope) -> the scope around it
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted origin
    constants: dict[str, str] = field(default_factory=dict)  # module-level NAME = "text"

    def scope_of(self, node: ast.AST) -> ast.AST | None:
        return self.scope.get(id(node))


@dataclass
class _Index:
    """What the files say about one another: definitions, routers and how they are mounted."""

    files: dict[str, _File]
    defs: dict[str, list[tuple[str, ast.AST]]] = field(default_factory=dict)
    enums: set[str] = field(default_factory=set)
    routers: dict[Key, str] = field(default_factory=dict)  # (file, variable) -> own prefix
    mounts: dict[Key, tuple[Key | None, str | None, bool]] = field(default_factory=dict)
    includes: list[tuple[str, str, str]] = field(default_factory=list)  # Django


@dataclass
class _Route:
    method: str
    path: str
    file: str
    line: int
    handler: ast.AST | None  # the function (or view class) whose reads are the route's
    arguments: bool = False  # FastAPI style: the handler's arguments are request parameters

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"


def code_surface(files: dict[str, str]) -> dict[str, Any]:
    """Routes, request keys, vulnerable regexes and credential candidates of a submission's
    .py files (relative path -> source), as JSON; see the module's docstring."""
    index = _index(_parse(files))
    order = {f: n for n, f in enumerate(index.files)}
    every = [r for f in index.files.values() for r in _routes(index, f)]
    every.sort(key=lambda r: (order[r.file], r.line))
    routes = _dedupe(every, lambda r: r.label)[:MAX_ROUTES]
    params, per_route = _params(index, routes)
    patterns = _patterns(index)
    exclude = {p["name"] for p in params} | {p for p, _, _, _ in patterns}
    return {
        "routes": [
            {"method": r.method, "path": r.path, "file": r.file, "line": r.line,
             "params": per_route.get(r.label, [])}
            for r in routes
        ],
        "params": params[:MAX_PARAMS],
        "regexes": _vulnerable(patterns)[:MAX_REGEXES],
        "literals": _literals(index, exclude)[:MAX_LITERALS],
    }  # fmt: skip


def code_surface_of(root: Path) -> dict[str, Any]:
    """code_surface of a workspace's own .py files, read without following any link the agent
    made: up to READ_LIMIT bytes each, TOTAL_LIMIT in all, smallest files first."""
    files: dict[str, str] = {}
    total = 0
    for path in sorted(python_files(root), key=_size):
        name = path.relative_to(root).as_posix()
        data = read_no_follow(root, name, limit=READ_LIMIT)
        if data is None or total + len(data) > TOTAL_LIMIT:
            continue
        total += len(data)
        files[name] = data.decode("utf-8", errors="replace")
    return code_surface(files)


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0


# --- parsing and the index -----------------------------------------------------------------


def _parse(files: dict[str, str]) -> dict[str, _File]:
    parsed = {}
    for name in sorted(files):
        try:
            with warnings.catch_warnings():  # the agent's invalid escapes are not ours to show
                warnings.simplefilter("ignore")
                tree = ast.parse(files[name], filename=name)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue  # not Python, or built to break the parser: nothing to read
        parsed[name] = _walk(_File(name, tree))
    return parsed


def _walk(file: _File) -> _File:
    stack: list[tuple[ast.AST, ast.AST | None]] = [(file.tree, None)]
    while stack:
        node, around = stack.pop()
        file.nodes.append(node)
        if around is not None:
            file.scope[id(node)] = around
        inner = around
        if isinstance(node, SCOPES):
            if around is not None:
                file.outer[id(node)] = around
            inner = node
        stack.extend((child, inner) for child in reversed(list(ast.iter_child_nodes(node))))
    file.imports = _imports(file)
    file.constants = {
        t.id: node.value.value
        for node in file.tree.body if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        for t in node.targets if isinstance(t, ast.Name)
    }  # fmt: skip
    return file


def _module(path: str) -> str:
    parts = path.removesuffix(".py").split("/")
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _same_module(file: str, dotted: str) -> bool:
    """Whether `file` is module `dotted`, either one possibly rooted deeper than the other."""
    mine = _module(file)
    return mine == dotted or mine.endswith("." + dotted) or dotted.endswith("." + mine)


def _imports(file: _File) -> dict[str, str]:
    package = _module(file.name).split(".")[: None if file.name.endswith("__init__.py") else -1]
    return import_map(file.nodes, package)


def _index(files: dict[str, _File]) -> _Index:
    index = _Index(files)
    for file in files.values():
        for node in file.nodes:
            if isinstance(node, SCOPES):
                defs = index.defs.setdefault(node.name, [])
                if len(defs) < MAX_TABLE:
                    defs.append((file.name, node))
            if isinstance(node, ast.ClassDef) and {_last(b) for b in node.bases} & {
                "Enum", "IntEnum", "StrEnum"
            }:  # fmt: skip
                index.enums.add(node.name)
            if (
                isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)
                and _last(node.value.func) in ROUTER_CLASSES and len(index.routers) < MAX_TABLE
            ):  # fmt: skip
                own = _keyword(file, node.value, "prefix", "url_prefix") or ""
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        index.routers[(file.name, t.id)] = own
    for file in files.values():
        for node in file.nodes:
            if isinstance(node, ast.Call) and len(index.includes) < MAX_TABLE:
                _mount(index, file, node)
    return index


def _mount(index: _Index, file: _File, node: ast.Call) -> None:
    """Record a router included, a blueprint registered, a sub-application mounted, or a
    Django urls module included under a prefix."""
    name = _last(node.func)
    if name in ("path", "re_path", "url") and len(node.args) >= 2:
        inner, route = node.args[1], _string(file, node.args[0]) or ""
        if isinstance(inner, ast.Call) and _last(inner.func) == "include" and inner.args:
            target = _string(file, inner.args[0])
            part = _normalise(route) if name == "path" else _regex_template(route)
            if target and part is not None:
                index.includes.append((file.name, part, target))
        return
    if name not in MOUNTS or not isinstance(node.func, ast.Attribute):
        return
    keyword = MOUNTS[name]
    child = _arg(node, 0 if keyword else 1, "app", "router")
    prefix = _keyword(file, node, keyword) if keyword else _string(file, _arg(node, 0, "path"))
    key = _ref(index, file, child) if child is not None else None
    if key is not None:
        parent = _ref(index, file, node.func.value)
        index.mounts[key] = (parent, prefix, name == "register_blueprint")


def _ref(index: _Index, file: _File, expr: ast.AST) -> Key | None:
    """The router or application variable an expression names, through imports."""
    if isinstance(expr, ast.Attribute) and expr.attr in ("router", "app"):
        inner = _ref(index, file, expr.value) if isinstance(expr.value, ast.Name) else None
        if inner is not None:
            return inner
    module, var = "", ""
    if isinstance(expr, ast.Name):
        if (file.name, expr.id) in index.routers:
            return (file.name, expr.id)
        module, _, var = file.imports.get(expr.id, "").rpartition(".")
    elif isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        module, var = file.imports.get(expr.value.id, ""), expr.attr
    if module:
        return next((k for k in index.routers if k[1] == var and _same_module(k[0], module)), None)
    return None


def _prefix(index: _Index, key: Key | None, depth: int = 0) -> str:
    if key is None or depth > 8:
        return ""
    own = index.routers.get(key, "")
    if key not in index.mounts:
        return own
    parent, prefix, replaces = index.mounts[key]
    base = _prefix(index, parent, depth + 1)
    if replaces:  # Flask: register_blueprint's url_prefix replaces the blueprint's own
        return _join(base, own if prefix is None else prefix)
    return _join(_join(base, prefix or ""), own)


def _django_prefix(index: _Index, file: str, depth: int = 0) -> str:
    for source, part, target in index.includes:
        if depth < 8 and source != file and _same_module(file, target):
            return _django_prefix(index, source, depth + 1) + part
    return ""


# --- small readers of the tree -------------------------------------------------------------


def _last(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    return node.attr if isinstance(node, ast.Attribute) else None


def _string(file: _File, node: ast.AST | None, depth: int = 0) -> str | None:
    """A string the code spells out: a literal, a module constant, or their concatenation."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else None
    if isinstance(node, ast.Name):
        return file.constants.get(node.id)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add) and depth < 4:
        left, right = _string(file, node.left, depth + 1), _string(file, node.right, depth + 1)
        return None if left is None or right is None else left + right
    return None


def _kw(node: ast.Call, *names: str) -> ast.expr | None:
    return next((k.value for k in node.keywords if k.arg in names), None)


def _keyword(file: _File, node: ast.Call, *names: str) -> str | None:
    return _string(file, _kw(node, *names))


def _arg(node: ast.Call, at: int, *names: str) -> ast.expr | None:
    return node.args[at] if len(node.args) > at else _kw(node, *names)


def _methods(node: ast.Call) -> list[str]:
    given = _kw(node, "methods")
    if given is None:
        return ["GET"]
    elts = given.elts if isinstance(given, (ast.List, ast.Tuple, ast.Set)) else []
    words = [e.value.upper() for e in elts
             if isinstance(e, ast.Constant) and isinstance(e.value, str)]  # fmt: skip
    return words or ["ANY"]


def _join(prefix: str, path: str) -> str:
    if not path:
        return prefix
    return prefix.rstrip("/") + ("" if path.startswith("/") else "/") + path


def _dedupe(items: list[Any], key: Any) -> list[Any]:
    seen: dict[Any, Any] = {}
    for item in items:
        seen.setdefault(key(item), item)
    return list(seen.values())


# --- routes --------------------------------------------------------------------------------


def _normalise(path: str) -> str:
    """Every path parameter as {name}: Flask and Django <conv:name>, Starlette and aiohttp
    {name:conv} or {name:regex} (whose regex may hold braces of its own)."""
    path = re.sub(r"<(?:[^<>:]*:)?(\w+)>", r"{\1}", path)
    out, i = [], 0
    while i < len(path):
        named = re.match(r"\{(\w+)", path[i:]) if path[i] == "{" else None
        if named is None:
            out.append(path[i])
            i += 1
            continue
        depth, j = 0, i
        for j in range(i, len(path)):
            depth += {"{": 1, "}": -1}.get(path[j], 0)
            if depth == 0:
                break
        out.append("{" + named.group(1) + "}")
        i = j + 1
    return "".join(out)


def _group_end(text: str, start: int) -> int:
    depth, i, in_class = 0, start, False
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 1
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch in "()":
            depth += 1 if ch == "(" else -1
            if depth == 0:
                return i
        i += 1
    return -1


def _regex_template(pattern: str) -> str | None:
    """A path template from a URL regex: (?P<pk>..) becomes {pk}, an unnamed group {id},
    an optional group or '?' goes; None when what remains is not a plain path."""
    text = re.sub(r"(\$|\\Z|\\z)$", "", pattern.removeprefix("^").removeprefix(r"\A"))
    out: list[str] = []
    i, unnamed = 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text) and text[i + 1] in "./-_~":
            out.append(text[i + 1])
            i += 2
        elif ch == "(":
            end = _group_end(text, i)
            if end < 0:
                return None
            inner, after = text[i + 1 : end], text[end + 1 : end + 2]
            named = re.match(r"\?P<(\w+)>", inner)
            if not (inner.endswith(("?", "*")) or after in ("?", "*")):
                if named is None and inner.startswith("?"):
                    return None
                unnamed += named is None
                name = named.group(1) if named else "id" if unnamed == 1 else f"id{unnamed}"
                out.append("{" + name + "}")
            i = end + (2 if after in ("?", "*") else 1)
        elif ch in "?*" and out and out[-1] == "/":
            i += 1
        elif ch in "\\[]{}|+*?$^.":
            return None
        else:
            out.append(ch)
            i += 1
    return "".join(out)


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


# --- request keys --------------------------------------------------------------------------


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
        marker = _marker(default) or _marker(arg.annotation)
        if marker is None:
            if _scalar(arg.annotation, index):
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


# --- regular expressions -------------------------------------------------------------------


def _flags(node: ast.AST | None) -> int:
    flags = 0
    for n in ast.walk(node) if node is not None else []:
        name = _last(n)
        if name and name.isupper() and isinstance(getattr(re, name, None), re.RegexFlag):
            flags |= int(getattr(re, name))
    return flags


def _patterns(index: _Index) -> list[tuple[str, int, str, int]]:
    """(pattern, flags, file, line) of every string the code uses as a regular expression."""
    found: list[tuple[ast.AST, int, str, int]] = []
    for file in index.files.values():
        for node in file.nodes:
            if isinstance(node, ast.Call):
                name, func = _last(node.func), node.func
                module = _last(func.value) if isinstance(func, ast.Attribute) else None
                if isinstance(func, ast.Name):  # from re import compile (as rx)
                    module, _, name = file.imports.get(func.id, "").rpartition(".")
                if name in RE_FUNCS and module in ("re", "regex") and node.args:
                    flags = _arg(node, RE_FUNCS[name], "flags")
                    found.append((node.args[0], _flags(flags), file.name, node.lineno))
                found += [(k.value, 0, file.name, node.lineno) for k in node.keywords
                          if k.arg in ("pattern", "regex")]  # fmt: skip
            elif (
                isinstance(node, ast.Assign)
                and isinstance(file.scope_of(node), (ast.ClassDef, type(None)))
                and any(isinstance(t, ast.Name) and REGEX_NAME.search(t.id) for t in node.targets)
            ):  # module or class level  # fmt: skip
                found.append((node.value, 0, file.name, node.lineno))
    kept = [
        (node.value, flags, file, line) for node, flags, file, line in found
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and 0 < len(node.value) <= MAX_PATTERN
    ]  # fmt: skip
    return _dedupe(kept, lambda p: (p[0], p[1]))[:MAX_CANDIDATES]


def _vulnerable(patterns: list[tuple[str, int, str, int]]) -> list[dict[str, Any]]:
    """The patterns regexploit finds vulnerable, exponential ones first, with attack strings."""
    found = _analyse([(p, flags) for p, flags, _, _ in patterns])
    regexes = [
        {"pattern": p, "attack": found[(p, flags)][0], "file": f, "line": line,
         "kind": found[(p, flags)][1]}
        for p, flags, f, line in patterns if (p, flags) in found
    ]  # fmt: skip
    return sorted(regexes, key=lambda r: r["kind"] != "exponential")


def _analyse(candidates: list[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, str]]:
    """(attack, kind) of each vulnerable (pattern, flags), found by regexploit in a child
    process: its analysis can run for ever on a hostile pattern, and a thread cannot be
    stopped. The child times each pattern; the timeout here only backs that up."""
    if not candidates:
        return {}
    command = [sys.executable, "-I", "-m", "backbench.scoring.code_surface"]
    try:
        done = subprocess.run(
            command, input=json.dumps(candidates), capture_output=True, text=True,
            timeout=min(ANALYSIS_TIMEOUT, 5 + PATTERN_SECONDS * len(candidates)), check=False,
        )  # fmt: skip
        output: str | bytes | None = done.stdout
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout
    text = output.decode(errors="replace") if isinstance(output, bytes) else output or ""
    found = {}
    for line in text.splitlines():
        try:
            pattern, flags, attack, kind = json.loads(line)
        except (ValueError, TypeError):
            continue  # a line cut by the timeout
        found[(pattern, flags)] = (attack, kind)
    return found


def attack_string(redos: Any) -> tuple[str, str]:
    """(attack string, kind) of one of regexploit's findings: its prefix, the repeated
    character enough times for seconds of CPython backtracking, then the character that
    makes the match fail (as regexploit's own Redos.example builds it)."""
    repeated, killer = redos.repeated_character, redos.killer
    if killer is not None and (both := repeated & killer):
        repeated, killer = both, None
    prefix, tail = redos.example_prefix, killer.example() if killer is not None else ""
    if redos.starriness > 10:
        kind, repeats = "exponential", EXPONENTIAL_REPEATS
    else:
        degree = redos.starriness
        kind = "polynomial"
        repeats = math.ceil((POLYNOMIAL_STEPS * math.factorial(degree)) ** (1 / degree))
    repeats = min(repeats, MAX_ATTACK - len(prefix) - len(tail))
    return prefix + repeated.example() * repeats + tail, kind


def _worker() -> None:
    """The child of _analyse: [pattern, flags] pairs on stdin, one JSON line per vulnerable
    one, each pattern's analysis under a timer (regexploit never catches the alarm)."""
    import resource
    import signal

    from regexploit.ast.sre import SreOpParser
    from regexploit.redos import find

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError

    resource.setrlimit(resource.RLIMIT_AS, (2**31, 2**31))
    signal.signal(signal.SIGALRM, expire)
    for pattern, flags in json.load(sys.stdin):
        signal.setitimer(signal.ITIMER_REAL, PATTERN_SECONDS)
        try:
            parsed = SreOpParser().parse_sre(pattern, flags)
            worst = next((r for r in find(parsed) if r.starriness > 2), None) if parsed else None
            found = attack_string(worst) if worst is not None else None
        except Exception:  # noqa: BLE001 - unparsable, too slow, or too big: not reported
            found = None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if found is not None:
            print(json.dumps([pattern, flags, *found]), flush=True)


# --- literals ------------------------------------------------------------------------------


def _compared(node: ast.Compare) -> Iterator[ast.AST]:
    """The operands of == and != and the members of the container of `in`."""
    operands = [node.left, *node.comparators]
    for op, left, right in zip(node.ops, operands, operands[1:], strict=False):
        sides = [left, right] if isinstance(op, (ast.Eq, ast.NotEq)) else [right]
        if isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)):
            for o in sides:
                yield from o.elts if isinstance(o, (ast.Tuple, ast.List, ast.Set)) else [o]


def _context_names(node: ast.AST) -> Iterator[tuple[ast.AST, str]]:
    """(value, name) pairs where the code names a value: assignments, keywords, dict entries,
    argument defaults."""
    if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for t in targets:
            if isinstance(t, ast.Subscript) and isinstance(t.slice, ast.Constant):
                yield node.value, str(t.slice.value)
            elif name := _last(t):
                yield node.value, name
    elif isinstance(node, ast.Call):
        yield from ((k.value, k.arg) for k in node.keywords if k.arg)
    elif isinstance(node, ast.Dict):
        pairs = zip(node.keys, node.values, strict=True)
        yield from ((v, str(k.value)) for k, v in pairs if isinstance(k, ast.Constant))
    elif isinstance(node, ast.arguments):
        positional = [*node.posonlyargs, *node.args]
        named = positional[len(positional) - len(node.defaults) :]
        yield from ((d, a.arg) for a, d in zip(named, node.defaults, strict=True))
        yield from ((d, a.arg) for a, d in zip(node.kwonlyargs, node.kw_defaults, strict=True) if d)


def _env_lookup(node: ast.Call) -> tuple[ast.AST | None, str] | None:
    """(default, variable) of os.getenv / os.environ.get / environ.setdefault."""
    name, func = _last(node.func), node.func
    environ = isinstance(func, ast.Attribute) and _last(func.value) == "environ"
    if not (name == "getenv" or (environ and name in ("get", "setdefault"))) or not node.args:
        return None
    variable = node.args[0].value if isinstance(node.args[0], ast.Constant) else ""
    return _arg(node, 1, "default"), str(variable)


def _text(node: ast.AST | None) -> str | None:
    value = node.value if isinstance(node, ast.Constant) else None
    if isinstance(value, bytes) and value.isascii():
        value = value.decode()
    return value if isinstance(value, str) else None


def _plausible(value: str, shortest: int, strict: bool) -> bool:
    """Whether a literal could be a credential: no path, URL, format string, MIME type,
    header name, version or whitespace; `strict` also drops plain words and dotted names."""
    if not shortest <= len(value) <= 128 or not value.isprintable() or value.startswith("/"):
        return False
    if any(c.isspace() for c in value) or NOT_SECRET.search(value):
        return False
    return not (strict and WORDS.fullmatch(value))


def _literals(index: _Index, exclude: set[str]) -> list[dict[str, Any]]:
    """Credential candidates: environment defaults and literals named as credentials first,
    then those compared with something, then the rest."""
    found: list[tuple[int, int, str, str, int, bool]] = []  # rank, order, value, file, line, env
    for file in index.files.values():
        skipped: set[int] = set()
        rank: dict[int, int] = {}
        for node in file.nodes:
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
                skipped.add(id(node.value))  # docstrings and other bare strings
            elif isinstance(node, ast.JoinedStr):
                skipped |= {id(n) for n in ast.walk(node)}
            elif isinstance(node, ast.Compare):
                rank.update((id(o), min(rank.get(id(o), 1), 1)) for o in _compared(node))
            elif isinstance(node, ast.Call):
                if _last(node.func) in NAMING_CALLS and node.args:
                    skipped.add(id(node.args[0]))  # a route, or the name of what is looked up
                if _last(node.func) == "compare_digest":
                    rank.update((id(a), min(rank.get(id(a), 1), 1)) for a in node.args)
                if env := _env_lookup(node):
                    default, variable = env
                    text = _text(default)
                    if text and 4 <= len(text) <= 128 and text.isprintable() and "://" not in text:
                        level = 0 if CREDENTIAL_NAME.search(variable) else 1
                        found.append((level, len(found), text, file.name, node.lineno, True))
                        skipped.add(id(default))
            for value, name in _context_names(node):
                if CREDENTIAL_NAME.search(name):
                    rank[id(value)] = 0
        for node in file.nodes:
            text = _text(node)
            if text is None or id(node) in skipped or text in exclude:
                continue
            level = rank.get(id(node), 2)
            if _plausible(text, 4 if level == 0 else 6, strict=level == 2):
                found.append(
                    (level, len(found), text, file.name, getattr(node, "lineno", 0), False)
                )
    best = _dedupe(sorted(found), lambda f: f[2])
    return [{"value": v, "env_default": e, "file": f, "line": n} for _, _, v, f, n, e in best]


if __name__ == "__main__":
    _worker()
