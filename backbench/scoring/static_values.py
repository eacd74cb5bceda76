"""What the static rules know of a value: whether it is constant, and how a string was built.

A value is constant when it is a literal, a safe function of constants, or a name every binding
of which is constant: in its function, its module, or the submission's module it is imported
from. A constant cannot carry a client's input, so a string built only from constants is no
injection whatever its shape; anything else (parameters, attributes, call results) is not
constant. Names bound in a cycle (`q += ...`) are assumed constant while their other bindings
are checked, which makes the answer the least fixed point.
"""

from __future__ import annotations

import ast
import re
import string
from collections.abc import Iterable
from dataclasses import dataclass, field

MAX_TEXT = 64 * 1024
# builtins whose results are numbers or truth values: they carry no text of the client's
SAFE_CALLS = frozenset({"len", "int", "float", "bool", "abs", "round", "ord", "hash"})


@dataclass
class Scope:
    """The names a function (or a module's top level) binds, and those it binds opaquely."""

    assigns: dict[str, list[ast.expr]] = field(default_factory=dict)
    opaque: set[str] = field(default_factory=set)  # parameters, loop and `with` targets, ...
    outer: Scope | None = None
    module: str = ""


@dataclass
class Module:
    """One parsed file of the submission."""

    name: str  # dotted, from its path: app/routers/books.py -> app.routers.books
    tree: ast.Module
    lines: list[str]
    scope: Scope
    imports: dict[str, str]  # local name -> dotted origin (`from x import y as z`: z -> x.y)


def _bind(target: ast.expr, value: ast.expr | None, scope: Scope) -> None:
    if isinstance(target, ast.Name):
        if value is None:
            scope.opaque.add(target.id)
        else:
            scope.assigns.setdefault(target.id, []).append(value)
    elif isinstance(target, ast.Tuple | ast.List):
        items = value.elts if isinstance(value, ast.Tuple | ast.List) else []
        paired = len(items) == len(target.elts)
        for i, elt in enumerate(target.elts):
            _bind(elt, items[i] if paired else None, scope)
    elif isinstance(target, ast.Starred):
        _bind(target.value, None, scope)


def scope_of(body: list[ast.stmt], args: ast.arguments | None, outer: Scope | None) -> Scope:
    """The bindings of one function body (or module), not entering nested functions."""
    scope = Scope(outer=outer, module=outer.module if outer else "")
    if args is not None:
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
        scope.opaque.update(a.arg for a in every if a is not None)
    stack: list[ast.AST] = list(body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Assign):
            for target in node.targets:
                _bind(target, node.value, scope)
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            _bind(node.target, node.value, scope)
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            name = ast.copy_location(ast.Name(node.target.id, ast.Load()), node)
            _bind(node.target, ast.copy_location(ast.BinOp(name, node.op, node.value), node), scope)
        elif isinstance(node, ast.NamedExpr):
            _bind(node.target, node.value, scope)
        elif isinstance(node, ast.For | ast.AsyncFor):
            _bind(node.target, None, scope)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            _bind(node.optional_vars, None, scope)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            scope.opaque.add(node.name)
        elif isinstance(node, ast.Global | ast.Nonlocal):
            scope.opaque.update(node.names)
        elif isinstance(node, ast.Import | ast.ImportFrom) and outer is not None:
            scope.opaque.update((a.asname or a.name).split(".")[0] for a in node.names)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scope.opaque.add(node.name)
            continue
        if isinstance(node, ast.Lambda | ast.comprehension):
            continue
        stack.extend(ast.iter_child_nodes(node))
    return scope


def import_map(nodes: Iterable[ast.AST], package: list[str]) -> dict[str, str]:
    """Local name -> dotted origin for the imports among `nodes`, relative ones resolved
    against `package`, the dotted parts of the package the module is in."""
    found: dict[str, str] = {}
    for node in nodes:
        if isinstance(node, ast.Import):
            for a in node.names:
                found[a.asname or a.name.split(".")[0]] = (
                    a.name if a.asname else a.name.split(".")[0]
                )
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package[: max(0, len(package) - node.level + 1)]
                base = ".".join([*up, base] if base else up)
            for a in node.names:
                found[a.asname or a.name] = f"{base}.{a.name}" if base else a.name
    return found


class Values:
    """Constness and string shape of expressions, across the submission's modules."""

    def __init__(self, modules: dict[str, Module]) -> None:
        self.modules = modules
        self._visiting: set[tuple[int, str]] = set()
        # names' answers, kept only when no cycle was assumed on the way: without them a chain
        # `b = a + a; c = b + b; ...` costs time exponential in its length
        self._constant: dict[tuple[int, str], bool] = {}
        self._text: dict[tuple[int, str], str | None] = {}
        self._assumed = False

    def find_module(self, dotted: str) -> Module | None:
        """The submission's module `dotted` names, matched on whole trailing components."""
        if dotted in self.modules:
            return self.modules[dotted]
        hits = [m for name, m in self.modules.items() if name.endswith("." + dotted)]
        return hits[0] if len(hits) == 1 else None

    def bindings(self, name: str, scope: Scope) -> tuple[list[ast.expr], Scope] | None:
        """Every value `name` is bound to where `scope` sees it; None when any is opaque."""
        current: Scope | None = scope
        while current is not None:
            if name in current.opaque:
                return None
            if name in current.assigns:
                return current.assigns[name], current
            current = current.outer
        module = self.modules.get(scope.module)
        origin = module.imports.get(name) if module else None
        if origin and "." in origin:
            source, _, attr = origin.rpartition(".")
            other = self.find_module(source)
            if other is not None and attr in other.scope.assigns:
                if attr not in other.scope.opaque:
                    return other.scope.assigns[attr], other.scope
        return None

    def constant(self, node: ast.expr, scope: Scope) -> bool:
        """Whether `node` can only hold values the code itself wrote."""
        match node:
            case ast.Constant():
                return True
            case ast.JoinedStr(values=values):
                return all(self.constant(v, scope) for v in values)
            case ast.FormattedValue(value=value):
                return self.constant(value, scope)
            case ast.BinOp(left=left, right=right):
                return self.constant(left, scope) and self.constant(right, scope)
            case ast.UnaryOp(operand=operand):
                return self.constant(operand, scope)
            case ast.BoolOp(values=values) | ast.Tuple(elts=values) | ast.List(elts=values):
                return all(self.constant(v, scope) for v in values)
            case ast.Set(elts=values):
                return all(self.constant(v, scope) for v in values)
            case ast.Dict(keys=keys, values=values):
                return all(k is not None and self.constant(k, scope) for k in keys) and all(
                    self.constant(v, scope) for v in values
                )
            case ast.IfExp(body=body, orelse=orelse):
                return self.constant(body, scope) and self.constant(orelse, scope)
            case ast.Subscript(value=value):
                # an item of a constant container is constant, whatever the index
                return self.constant(value, scope)
            case ast.Name(id=name):
                return self._constant_name(name, scope)
            case ast.Call(func=ast.Name(id=fn)) if fn in SAFE_CALLS:
                return self.builtin(fn, scope)
            case ast.Call(func=ast.Attribute(value=receiver), args=args, keywords=keywords):
                return (
                    self.constant(receiver, scope)
                    and all(self.constant(a, scope) for a in args)
                    and all(self.constant(k.value, scope) for k in keywords)
                )
        return False

    def builtin(self, name: str, scope: Scope) -> bool:
        """Whether `name` is Python's own there: neither bound nor imported by the code."""
        current: Scope | None = scope
        while current is not None:
            if name in current.opaque or name in current.assigns:
                return False
            current = current.outer
        module = self.modules.get(scope.module)
        return module is None or name not in module.imports

    def _constant_name(self, name: str, scope: Scope) -> bool:
        found = self.bindings(name, scope)
        if found is None:
            return False
        values, where = found
        key = (id(where), name)
        if key in self._constant:
            return self._constant[key]
        if key in self._visiting:
            self._assumed = True
            return True
        self._visiting.add(key)
        outer, self._assumed = self._assumed, False
        try:
            answer = all(self.constant(v, where) for v in values)
        finally:
            self._visiting.discard(key)
        if not self._assumed:
            self._constant[key] = answer
        self._assumed |= outer
        return answer

    def text(self, node: ast.expr, scope: Scope) -> str | None:
        """The string `node` always holds, when the code fixes it; else None."""
        match node:
            case ast.Constant(value=str() as value):
                return value
            case ast.JoinedStr(values=values):
                parts = [self.text(v, scope) for v in values]
                return None if None in parts else _capped("".join(p or "" for p in parts))
            case ast.FormattedValue(value=value):
                return self.text(value, scope)
            case ast.BinOp(left=left, op=ast.Add(), right=right):
                a, b = self.text(left, scope), self.text(right, scope)
                return None if a is None or b is None else _capped(a + b)
            case ast.Name(id=name):
                found = self.bindings(name, scope)
                if found is None or len(found[0]) != 1:
                    return None
                key = (id(found[1]), name)
                if key in self._text or key in self._visiting:
                    return self._text.get(key)
                self._visiting.add(key)
                try:
                    self._text[key] = self.text(found[0][0], found[1])
                finally:
                    self._visiting.discard(key)
                return self._text[key]
        return None


def _capped(text: str) -> str | None:
    """`text`, unless it is longer than any query: names that double a string at each step
    must not cost memory exponential in their number."""
    return text if len(text) <= MAX_TEXT else None


@dataclass
class Built:
    """A string built at run time: its literal pieces and the values spliced between them."""

    node: ast.expr
    parts: list[str | ast.expr]


def _flatten(node: ast.expr) -> list[str | ast.expr]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [p for v in node.values for p in _flatten(v)]
    if isinstance(node, ast.FormattedValue):
        return [node.value]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [*_flatten(node.left), *_flatten(node.right)]
    return [node]


_PERCENT = re.compile(
    r"%(?:\((\w+)\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])"
)


def _percent_parts(template: str, right: ast.expr) -> list[str | ast.expr]:
    named = dict(zip(right.keys, right.values, strict=True)) if isinstance(right, ast.Dict) else {}
    items = list(right.elts) if isinstance(right, ast.Tuple) else [right]
    parts: list[str | ast.expr] = []
    last, index = 0, 0
    for match in _PERCENT.finditer(template):
        if match.group(2) == "%":
            continue
        parts.append(template[last : match.start()])
        key = match.group(1)
        if key is not None:
            keyed = [v for k, v in named.items() if isinstance(k, ast.Constant) and k.value == key]
            parts.append(keyed[0] if keyed else right)
        else:
            parts.append(items[index] if index < len(items) else right)
            index += 1
        last = match.end()
    return [*parts, template[last:]]


def _format_parts(template: str, call: ast.Call) -> list[str | ast.expr] | None:
    try:
        fields = list(string.Formatter().parse(template))
    except ValueError:
        return None
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    parts: list[str | ast.expr] = []
    auto = 0
    for literal, name, _, _ in fields:
        parts.append(literal)
        if name is None:
            continue
        head = re.split(r"[.\[]", name)[0]
        if head == "":
            head, auto = str(auto), auto + 1
        value = call.args[int(head)] if head.isdigit() and int(head) < len(call.args) else None
        parts.append(value if value is not None else keywords.get(head, call))
    return parts


def built_strings(node: ast.expr, values: Values, scope: Scope) -> list[Built]:
    """The strings `node` builds at run time from pieces, with their pieces (both branches of
    a conditional); literals and plain names build nothing."""
    match node:
        case ast.IfExp(body=body, orelse=orelse):
            return built_strings(body, values, scope) + built_strings(orelse, values, scope)
        case ast.JoinedStr() | ast.BinOp(op=ast.Add()):
            parts = _flatten(node)
            texts = [p for p in parts if isinstance(p, str) or values.text(p, scope) is not None]
            if texts and len(texts) < len(parts):
                return [Built(node, parts)]
        case ast.BinOp(left=left, op=ast.Mod(), right=right):
            template = values.text(left, scope)
            if template is not None:
                return [Built(node, _percent_parts(template, right))]
        case ast.Call(func=ast.Attribute(value=receiver, attr="format")):
            template = values.text(receiver, scope)
            fields = _format_parts(template, node) if template is not None else None
            if fields is not None:
                return [Built(node, fields)]
        case ast.Call(func=ast.Attribute(value=receiver, attr="replace"), args=[old, new, *_]):
            template, gone = values.text(receiver, scope), values.text(old, scope)
            if template is not None and gone and gone in template:
                before, _, after = template.partition(gone)
                return [Built(node, [before, new, after])]
    return []
