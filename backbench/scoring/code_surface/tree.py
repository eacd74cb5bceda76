"""The parsed files and what they say about one another, shared by the package's other modules:
the constants more than one of them uses, a parsed file (`_File`), the index of definitions,
routers and mounts across files (`_Index`) and a route found (`_Route`); parsing each file once
and indexing them; the small readers of the tree (names, the strings the code spells out, a
call's arguments, route methods and prefixes); and the path templates the index and the routes
both build (Flask's <conv:name>, Starlette's {name:conv} and a Django URL regex, each as {name}).
"""

from __future__ import annotations

import ast
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

from backbench.scoring.static_values import import_map

# entries of the cross-file tables a hostile file could inflate
MAX_TABLE = 500
Func = ast.FunctionDef | ast.AsyncFunctionDef
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
Key = tuple[str, str]
METHODS = ("get", "post", "put", "patch", "delete", "head", "options")
ADD_METHODS = {f"add_{m}": m.upper() for m in (*METHODS, "view")}
ROUTER_CLASSES = {"APIRouter", "Blueprint", "FastAPI", "Flask", "Starlette", "Application",
                  "RouteTableDef", "Quart", "Sanic"}  # fmt: skip
# mounting calls, and the keyword of their prefix ("": the prefix is the first argument)
MOUNTS = {"include_router": "prefix", "register_blueprint": "url_prefix", "mount": "",
          "add_subapp": ""}  # fmt: skip
GETTERS = {"get", "getlist", "getall", "getone", "get_all", "get_list", "pop"}


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
    # module-level type aliases (IdFilter = Annotated[int | None, Query(...)]): name -> type
    aliases: dict[str, ast.AST] = field(default_factory=dict)


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
                isinstance(node, ast.Assign) and isinstance(node.value, ast.Subscript)
                and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and len(index.aliases) < MAX_TABLE
            ):  # fmt: skip
                index.aliases.setdefault(node.targets[0].id, node.value)
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


# --- path templates ------------------------------------------------------------------------


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
