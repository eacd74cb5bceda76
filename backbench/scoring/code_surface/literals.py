"""The string literals of a submission's code that may be hard-coded credentials (CWE-798):
environment defaults and literals named as credentials first, then literals compared with
something, then the rest; routes, names looked up, docstrings, format strings and any text that
cannot be a secret (paths, URLs, MIME types, header names, versions) are left out.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from typing import Any

from backbench.scoring.code_surface.tree import (
    ADD_METHODS,
    GETTERS,
    METHODS,
    _arg,
    _dedupe,
    _Index,
    _last,
)

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
