"""Generate mutants of a reference solution's Python source, for `backbench adequacy`.

Why our own mutator and not mutmut or cosmic-ray: both are built to mutate a package and run
a test command in the same tree, one mutant at a time (mutmut 3 even switches mutants inside
the test process through a trampoline, and needs the tests to import the code). Here the code
under test runs as a separate server started by `start.sh` from a copied folder in a sandbox,
and the hidden tests only speak HTTP to it; and many of the interesting faults sit inside SQL
string literals (a dropped `WHERE` term, `FOR UPDATE` or `ORDER BY`), which neither tool
mutates. So each mutant here is a full mutated source file that the runner copies into its own
folder, and the operators include SQL-aware ones. libcst is not installed; the standard `ast`
module locates the nodes, `ast.unparse` renders the replaced piece, and the piece is spliced
into the original text, so comments and layout elsewhere survive and the diff stays minimal.

A mutant's id survives unrelated edits of the file: it is built from the file, the enclosing
function's qualified name (or the module-level name assigned), the operator and a short hash of
the original code and the change, with an ordinal only to tell identical sites of one scope
apart; never a line number.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from backbench.adequacy.sql_text import is_ddl, looks_like_dml, sql_mutations

OPERATORS = (
    "boundary", "comparison", "arithmetic", "bool_operator", "negate_condition",
    "drop_condition", "drop_condition_term", "remove_statement", "remove_early_return",
    "remove_decorator", "constant", "string_constant", "status_code", "sort_direction",
    "remove_transaction", "remove_lock", "sql_drop_where", "sql_drop_where_term",
    "sql_drop_order_by", "sql_sort_direction", "sql_drop_limit", "sql_drop_offset",
    "sql_drop_for_update",
)  # fmt: skip
BOUNDARY = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt}
COMPARISON = {
    ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Lt: ast.Gt, ast.Gt: ast.Lt, ast.LtE: ast.GtE,
    ast.GtE: ast.LtE,
}  # fmt: skip
ARITHMETIC = {
    ast.Add: ast.Sub, ast.Sub: ast.Add, ast.Mult: ast.Div, ast.Div: ast.Mult,
    ast.FloorDiv: ast.Div, ast.Mod: ast.FloorDiv, ast.Pow: ast.Mult,
}  # fmt: skip
STATUS_SWAP = {
    200: 201, 201: 200, 204: 200, 400: 422, 401: 403, 403: 401, 404: 400, 405: 404, 409: 400,
    422: 400, 429: 400, 500: 400, 503: 500,
}  # fmt: skip
STATUS_KEYWORDS = {"status_code", "status"}
TRANSACTION_CALLS = {"transaction", "begin", "begin_nested", "atomic"}
LOCK_NAME = re.compile(r"(^|_)r?lock($|_)", re.IGNORECASE)
ROW_LOCK = re.compile(r"\bFOR\s+(NO\s+KEY\s+)?(UPDATE|SHARE|KEY\s+SHARE)\b|advisory", re.I)
SQL_CALLS = {"SQL", "text"}  # psycopg.sql.SQL, sqlalchemy.text
CONNECT_CALLS = {"connect", "create_engine"}
POOL_CALLS = {"ConnectionPool", "AsyncConnectionPool"}
REGISTRATION_DECORATORS = {
    "middleware", "exception_handler", "on_event", "field_validator", "model_validator",
    "validator", "root_validator",
}  # fmt: skip
REMOVABLE = (ast.Expr, ast.Raise, ast.If, ast.For, ast.While, ast.AugAssign, ast.Delete, ast.Assert)
BINARY_PRECEDENCE = {
    ast.BitOr: 6, ast.BitXor: 7, ast.BitAnd: 8, ast.LShift: 9, ast.RShift: 9, ast.Add: 10,
    ast.Sub: 10, ast.Mult: 11, ast.Div: 11, ast.FloorDiv: 11, ast.Mod: 11, ast.MatMult: 11,
    ast.Pow: 13,
}  # fmt: skip
ATOM = 100
HASH_CHARS = 8
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
TRIPLE_QUOTES = ('"""', "'''")
DESCRIPTION_WIDTH = 70


@dataclass(frozen=True)
class Mutant:
    """One mutated version of one file."""

    id: str
    file: str  # path relative to the reference folder
    scope: str  # enclosing function's qualified name, a module-level name, or <module>
    operator: str
    description: str
    line: int  # where the change starts in the original (for reading only; not in the id)
    source: str  # the whole mutated file
    diff: str  # unified diff against the original


@dataclass(frozen=True)
class Edit:
    """A replacement of the characters [start, end) of a source text."""

    start: int
    end: int
    replacement: str
    operator: str
    description: str
    anchor: str  # the original code the id hashes: the segment, or a statement's first line
    scope: str
    line: int


class SourceText:
    """A source text with conversions from ast positions (UTF-8 byte columns) to offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = re.split(r"(?<=\n)", text)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, lineno: int, col: int) -> int:
        """Character offset of a 1-based line and a byte column."""
        line = self.lines[lineno - 1] if lineno - 1 < len(self.lines) else ""
        return self.starts[lineno - 1] + len(line.encode()[:col].decode(errors="ignore"))

    def line_start(self, lineno: int) -> int:
        return self.starts[min(lineno - 1, len(self.starts) - 1)]

    def span(self, node: ast.AST) -> tuple[int, int]:
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        end = self.offset(node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
        return start, end

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]


def short(code: str, width: int = DESCRIPTION_WIDTH) -> str:
    """One line of code for a description."""
    flat = " ".join(code.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def qualified(scope: str, name: str) -> str:
    """The qualified name of `name` defined in `scope`."""
    return name if scope == "<module>" else f"{scope}.{name}"


def call_name(node: ast.AST) -> str:
    """The last name of a call's function (`pool.connection()` → `connection`), or ''."""
    if not isinstance(node, ast.Call):
        return ""
    func = node.func
    if isinstance(func, ast.Attribute):
        return func.attr
    return func.id if isinstance(func, ast.Name) else ""


def is_docstring(node: ast.AST, parent: ast.AST | None) -> bool:
    """Whether an expression statement is the docstring of its module, class or function."""
    body = getattr(parent, "body", None)
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        and isinstance(body, list)
        and bool(body)
        and body[0] is node
    )


@dataclass
class _Context:
    """Where the walk is: enclosing nodes, scope name, and what the position forbids."""

    parents: list[ast.AST] = field(default_factory=list)
    scope: str = "<module>"
    in_function: bool = False
    in_fstring: bool = False
    in_annotation: bool = False
    in_decorator: bool = False

    @property
    def parent(self) -> ast.AST | None:
        return self.parents[-1] if self.parents else None


class EditFinder:
    """Walks one module and proposes every edit of every operator."""

    def __init__(self, source: SourceText) -> None:
        self.src = source
        self.edits: list[Edit] = []

    # -- walking ---------------------------------------------------------------------------------

    def walk(self, node: ast.AST, ctx: _Context) -> None:
        self.visit(node, ctx)
        for name, value in ast.iter_fields(node):
            children = value if isinstance(value, list) else [value]
            for child in children:
                if isinstance(child, ast.AST):
                    self.walk(child, self.child_context(node, name, child, ctx))

    def child_context(self, node: ast.AST, name: str, child: ast.AST, ctx: _Context) -> _Context:
        scope = ctx.scope
        in_function = ctx.in_function
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            # defaults, decorators and bases belong to the definition, not to the module
            scope = qualified(ctx.scope, node.name)
            if name == "body":
                in_function = in_function or not isinstance(node, ast.ClassDef)
        if isinstance(node, ast.Module) and isinstance(child, ast.Assign | ast.AnnAssign):
            targets = child.targets if isinstance(child, ast.Assign) else [child.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                scope = targets[0].id
        return _Context(
            parents=[*ctx.parents, node],
            scope=scope,
            in_function=in_function,
            in_fstring=ctx.in_fstring or isinstance(node, ast.JoinedStr),
            in_annotation=ctx.in_annotation or name in ("annotation", "returns"),
            in_decorator=ctx.in_decorator or name == "decorator_list",
        )

    def visit(self, node: ast.AST, ctx: _Context) -> None:
        if ctx.in_fstring:
            return  # positions inside f-strings are not reliable before Python 3.12
        if isinstance(node, ast.Compare):
            self.compare(node, ctx)
        elif isinstance(node, ast.BinOp):
            self.arithmetic(node, ctx)
        elif isinstance(node, ast.BoolOp):
            self.bool_op(node, ctx)
        elif isinstance(node, ast.Constant):
            self.constant(node, ctx)
        elif isinstance(node, ast.Call):
            self.call(node, ctx)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            self.decorators(node, ctx)
        if isinstance(node, ast.If | ast.While | ast.IfExp | ast.Assert):
            self.condition(node, ctx)
        if isinstance(node, ast.With | ast.AsyncWith):
            self.with_block(node, ctx)
        if isinstance(node, ast.stmt) and ctx.in_function:
            self.statement(node, ctx)

    # -- emitting --------------------------------------------------------------------------------

    def emit(
        self, start: int, end: int, replacement: str, operator: str, description: str,
        anchor: str, ctx: _Context, line: int,
    ) -> None:  # fmt: skip
        self.edits.append(
            Edit(start, end, replacement, operator, description, anchor, ctx.scope, line)
        )

    def replace_expr(
        self, node: ast.expr, new: ast.expr, operator: str, description: str, ctx: _Context,
        text: str | None = None,
    ) -> None:  # fmt: skip
        start, end = self.src.span(node)
        text = ast.unparse(new) if text is None else text
        outer = precedence(ctx.parent) if isinstance(ctx.parent, ast.expr) else ATOM
        if outer < ATOM and precedence(new) <= outer:
            text = f"({text})"
        original = self.src.text[start:end]
        self.emit(start, end, text, operator, description, original, ctx, node.lineno)

    def changed(self, node: ast.expr, new: ast.expr, keyword: str | None = None) -> str:
        """`old` → `new` as a description (`name=old` → `name=new` for a keyword argument)."""
        old_text, new_text = short(self.src.segment(node), 40), short(ast.unparse(new), 40)
        if keyword:
            old_text, new_text = f"{keyword}={old_text}", f"{keyword}={new_text}"
        return f"`{old_text}` → `{new_text}`"

    # -- expression operators --------------------------------------------------------------------

    def compare(self, node: ast.Compare, ctx: _Context) -> None:
        for i, op in enumerate(node.ops):
            for operator, table in (("boundary", BOUNDARY), ("comparison", COMPARISON)):
                swap = table.get(type(op))
                if swap is None:
                    continue
                ops = [*node.ops[:i], swap(), *node.ops[i + 1 :]]
                new = ast.Compare(left=node.left, ops=ops, comparators=node.comparators)
                self.replace_expr(node, new, operator, self.changed(node, new), ctx)

    def arithmetic(self, node: ast.BinOp, ctx: _Context) -> None:
        swap = ARITHMETIC.get(type(node.op))
        strings = [n for n in (node.left, node.right) if _is_text(n)]
        if swap is None or strings:
            return  # string concatenation and %-formatting would only raise TypeError
        new = ast.BinOp(left=node.left, op=swap(), right=node.right)
        self.replace_expr(node, new, "arithmetic", self.changed(node, new), ctx)

    def bool_op(self, node: ast.BoolOp, ctx: _Context) -> None:
        other = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        swapped = ast.BoolOp(op=other, values=node.values)
        self.replace_expr(node, swapped, "bool_operator", self.changed(node, swapped), ctx)
        for i, value in enumerate(node.values):
            rest = [v for j, v in enumerate(node.values) if j != i]
            new = rest[0] if len(rest) == 1 else ast.BoolOp(op=node.op, values=rest)
            description = f"drop `{short(self.src.segment(value), 50)}` from the condition"
            self.replace_expr(node, new, "drop_condition_term", description, ctx)

    def condition(self, node: ast.If | ast.While | ast.IfExp | ast.Assert, ctx: _Context) -> None:
        test = node.test
        self.negate(test, ctx)
        # an `elif` made always true would be a syntax change of its chain, not a dropped test
        if isinstance(node, ast.If) and not self.is_elif(node):
            always = ast.Constant(True)
            description = f"drop the condition `{short(self.src.segment(test), 50)}` (always true)"
            self.replace_expr(test, always, "drop_condition", description, ctx)

    def negate(self, test: ast.expr, ctx: _Context) -> None:
        is_not = isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
        new = test.operand if isinstance(test, ast.UnaryOp) and is_not else None
        negated = new if new is not None else ast.UnaryOp(op=ast.Not(), operand=test)
        text = ast.unparse(negated)
        if new is None and precedence(test) < ATOM:
            text = f"not ({ast.unparse(test)})"  # `not a is not None` reads wrong, though valid
        # a test sits in its statement (or in an `x if test else y`): `not` needs no parentheses
        test_ctx = _Context([*ctx.parents, ast.Pass()], ctx.scope, ctx.in_function)
        description = f"`{short(self.src.segment(test), 40)}` → `{short(text, 40)}`"
        self.replace_expr(test, negated, "negate_condition", description, test_ctx, text)

    def is_elif(self, node: ast.If) -> bool:
        line = self.src.lines[node.lineno - 1]
        return line[len(line) - len(line.lstrip()) :].startswith("elif")

    def constant(self, node: ast.Constant, ctx: _Context) -> None:
        value = node.value
        keyword = ctx.parent.arg if isinstance(ctx.parent, ast.keyword) else None
        if isinstance(value, bool):
            new = ast.Constant(not value)
            self.replace_expr(node, new, "constant", self.changed(node, new, keyword), ctx)
        elif isinstance(value, int | float):
            if self.is_status_code(node, ctx):
                new = ast.Constant(STATUS_SWAP.get(int(value), 500))
                self.replace_expr(node, new, "status_code", self.changed(node, new, keyword), ctx)
                return
            new = ast.Constant(value + 1)
            self.replace_expr(node, new, "constant", self.changed(node, new, keyword), ctx)
        elif isinstance(value, str):
            self.string(node, value, ctx)

    def is_status_code(self, node: ast.Constant, ctx: _Context) -> bool:
        if not isinstance(node.value, int) or not 100 <= node.value <= 599:
            return False
        parent = ctx.parent
        if isinstance(parent, ast.keyword):
            return parent.arg in STATUS_KEYWORDS
        if isinstance(parent, ast.Assign):
            return any(getattr(t, "attr", None) in STATUS_KEYWORDS for t in parent.targets)
        return isinstance(parent, ast.Call) and bool(parent.args) and parent.args[0] is node

    def string(self, node: ast.Constant, value: str, ctx: _Context) -> None:
        parent = ctx.parent
        if isinstance(parent, ast.Expr) or ctx.in_annotation:
            return  # docstrings and annotations are not behaviour
        in_sql_call = isinstance(parent, ast.Call) and call_name(parent) in SQL_CALLS
        if in_sql_call or looks_like_dml(value):
            start, end = self.src.span(node)
            original = self.src.text[start:end]
            triple = original.startswith(TRIPLE_QUOTES)
            # a fragment spliced into a query: say which one, the change alone is ambiguous
            where = "" if looks_like_dml(value) else f" in `{short(value, 40)}`"
            for mutation in sql_mutations(value):
                text = string_literal(mutation.text, triple)
                self.emit(
                    start, end, text, mutation.operator, mutation.description + where, original,
                    ctx, node.lineno,
                )  # fmt: skip
            return
        if ctx.in_decorator or is_ddl(value):
            return  # route paths would only 404 every test; the schema is not logic
        start, end = self.src.span(node)
        original, text = self.src.text[start:end], string_literal(f"XX{value}XX")
        description = f"`{short(original, 40)}` → `{short(text, 40)}`"
        self.emit(start, end, text, "string_constant", description, original, ctx, node.lineno)

    def call(self, node: ast.Call, ctx: _Context) -> None:
        name = call_name(node)
        if name in ("sorted", "sort"):
            self.sort_direction(node, ctx)
        for kw in node.keywords:
            if kw.arg == "transaction" and isinstance(kw.value, ast.Constant) and kw.value.value:
                off = ast.keyword(arg="transaction", value=ast.Constant(False))
                keywords = [off if k is kw else k for k in node.keywords]
                new = ast.Call(func=node.func, args=node.args, keywords=keywords)
                description = f"`{short(self.src.segment(node), 50)}` without its transaction"
                self.replace_expr(node, new, "remove_transaction", description, ctx)
        if name in POOL_CALLS | CONNECT_CALLS:
            self.autocommit(node, name, ctx)

    def sort_direction(self, node: ast.Call, ctx: _Context) -> None:
        reverse = next((k for k in node.keywords if k.arg == "reverse"), None)
        value: ast.expr
        if reverse is None:
            value = ast.Constant(True)
        elif isinstance(reverse.value, ast.Constant):
            value = ast.Constant(not reverse.value.value)
        else:
            value = ast.UnaryOp(op=ast.Not(), operand=reverse.value)
        keywords = [k for k in node.keywords if k is not reverse]
        keywords.append(ast.keyword(arg="reverse", value=value))
        new = ast.Call(func=node.func, args=node.args, keywords=keywords)
        self.replace_expr(node, new, "sort_direction", self.changed(node, new), ctx)

    def autocommit(self, node: ast.Call, name: str, ctx: _Context) -> None:
        """Connections in autocommit mode: every statement its own transaction."""
        on = ast.Constant(True)
        if name in POOL_CALLS:
            kwargs = next((k for k in node.keywords if k.arg == "kwargs"), None)
            if kwargs is None or not isinstance(kwargs.value, ast.Dict):
                return
            if any(
                isinstance(k, ast.Constant) and k.value == "autocommit" for k in kwargs.value.keys
            ):
                return
            new_dict = ast.Dict(
                keys=[*kwargs.value.keys, ast.Constant("autocommit")],
                values=[*kwargs.value.values, on],
            )
            keywords = [
                ast.keyword(arg="kwargs", value=new_dict) if k is kwargs else k
                for k in node.keywords
            ]
        else:
            if any(k.arg == "autocommit" for k in node.keywords):
                return
            keywords = [*node.keywords, ast.keyword(arg="autocommit", value=on)]
        new = ast.Call(func=node.func, args=node.args, keywords=keywords)
        description = f"`{name}(...)` connections in autocommit mode (no transactions)"
        self.replace_expr(node, new, "remove_transaction", description, ctx)

    def decorators(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: _Context) -> None:
        for decorator in node.decorator_list:
            if call_name(decorator) not in REGISTRATION_DECORATORS:
                continue
            start = self.src.line_start(decorator.lineno)
            end = self.src.line_start(decorator.end_lineno + 1)  # type: ignore[operator]
            text = self.src.segment(decorator)
            description = f"remove the decorator `@{short(text, 50)}` of `{node.name}`"
            inner = _Context(ctx.parents, qualified(ctx.scope, node.name), ctx.in_function)
            self.emit(
                start, end, "", "remove_decorator", description, text, inner, decorator.lineno
            )

    # -- statement operators ---------------------------------------------------------------------

    def statement(self, node: ast.stmt, ctx: _Context) -> None:
        parent = ctx.parent
        first_line = short(self.src.segment(node).splitlines()[0])
        if isinstance(node, ast.Return) and not self.is_final_return(node, ctx):
            self.remove(node, "remove_early_return", f"remove the early `{first_line}`", ctx)
            return
        if is_docstring(node, parent) or (isinstance(node, ast.If) and self.is_elif(node)):
            return
        if isinstance(node, ast.Expr) and ROW_LOCK.search(self.src.segment(node)):
            self.remove(node, "remove_lock", f"remove the lock `{first_line}`", ctx)
        elif isinstance(node, REMOVABLE) or _assigns_attribute(node):
            self.remove(node, "remove_statement", f"remove `{first_line}`", ctx)

    def is_final_return(self, node: ast.Return, ctx: _Context) -> bool:
        """Whether nothing of the function would run after this return anyway."""
        functions = [i for i, p in enumerate(ctx.parents) if isinstance(p, FUNCTIONS)]
        if not functions:
            return False
        chain = [*ctx.parents[functions[-1] :], node]
        for parent, child in itertools.pairwise(chain):
            blocks = [v for _, v in ast.iter_fields(parent) if isinstance(v, list) and child in v]
            if not blocks or any(block[-1] is not child for block in blocks):
                return False
        return True

    def remove(self, node: ast.stmt, operator: str, description: str, ctx: _Context) -> None:
        start, end = self.src.span(node)
        anchor = self.src.segment(node).splitlines()[0]
        self.emit(start, end, "pass", operator, description, anchor, ctx, node.lineno)

    def with_block(self, node: ast.With | ast.AsyncWith, ctx: _Context) -> None:
        for i, item in enumerate(node.items):
            operator = _with_operator(item.context_expr)
            if operator is None:
                continue
            what = short(ast.unparse(item.context_expr), 50)
            kind = "transaction" if operator == "remove_transaction" else "lock"
            if len(node.items) == 1:
                self.unwrap(node, operator, f"run the body without the {kind} `{what}`", ctx)
            else:
                self.drop_item(node, i, operator, f"drop the {kind} `{what}` from the `with`", ctx)

    def unwrap(
        self, node: ast.With | ast.AsyncWith, operator: str, description: str, ctx: _Context
    ) -> None:
        """Replace a `with` by its body, dedented: comments in the body survive."""
        first = node.body[0]
        if first.lineno == node.lineno:
            return  # `with x: body` on one line: nothing to dedent
        start, end = self.src.span(node)
        shift = first.col_offset - node.col_offset
        body = self.src.text[self.src.line_start(first.lineno) : end]
        indent = " " * shift
        lines = [
            line[shift:] if line.startswith(indent) else line for line in body.splitlines(True)
        ]
        replacement = "".join(lines).lstrip()
        anchor = self.src.lines[node.lineno - 1].strip()
        self.emit(start, end, replacement, operator, description, anchor, ctx, node.lineno)

    def drop_item(
        self,
        node: ast.With | ast.AsyncWith,
        index: int,
        operator: str,
        description: str,
        ctx: _Context,
    ) -> None:
        spans = [self.item_span(item) for item in node.items]
        if index == 0:
            start, end = spans[0][0], spans[1][0]
        else:
            start, end = spans[index - 1][1], spans[index][1]
        anchor = self.src.text[spans[index][0] : spans[index][1]]
        self.emit(start, end, "", operator, description, anchor, ctx, node.lineno)

    def item_span(self, item: ast.withitem) -> tuple[int, int]:
        start, end = self.src.span(item.context_expr)
        if item.optional_vars is not None:
            end = self.src.span(item.optional_vars)[1]
        return start, end


def precedence(node: ast.AST) -> int:
    """Python's binding strength of an expression (higher binds tighter); atoms bind most."""
    if isinstance(node, ast.NamedExpr):
        return -1
    if isinstance(node, ast.Lambda):
        return 0
    if isinstance(node, ast.IfExp):
        return 1
    if isinstance(node, ast.BoolOp):
        return 2 if isinstance(node.op, ast.Or) else 3
    if isinstance(node, ast.UnaryOp):
        return 4 if isinstance(node.op, ast.Not) else 12
    if isinstance(node, ast.Compare):
        return 5
    if isinstance(node, ast.BinOp):
        return BINARY_PRECEDENCE[type(node.op)]
    if isinstance(node, ast.Await):
        return 14
    return ATOM


def string_literal(value: str, triple: bool = False) -> str:
    """Python source for a string, in double quotes (triple ones to keep a multi-line query)."""
    if triple and '"""' not in value and "\\" not in value and not value.endswith('"'):
        return f'"""{value}"""'
    text = repr(value)
    if text.startswith("'") and '"' not in value and "'" not in value:
        text = f'"{text[1:-1]}"'
    return text


def _is_text(node: ast.expr) -> bool:
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
        return True
    return isinstance(node, ast.Call) and call_name(node) in SQL_CALLS


def _assigns_attribute(node: ast.stmt) -> bool:
    """An assignment to an attribute or item (`response.headers["X"] = ...`): a side effect."""
    if not isinstance(node, ast.Assign | ast.AnnAssign):
        return False
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    return all(isinstance(t, ast.Attribute | ast.Subscript) for t in targets)


def _with_operator(expr: ast.expr) -> str | None:
    """Which operator removes this `with` item: a transaction, a lock, or neither."""
    if call_name(expr) in TRANSACTION_CALLS:
        return "remove_transaction"
    name = call_name(expr) or (
        expr.attr if isinstance(expr, ast.Attribute) else getattr(expr, "id", "")
    )
    return "remove_lock" if LOCK_NAME.search(name) else None


# -- from edits to mutants -----------------------------------------------------------------------


def _structure(tree: ast.AST) -> str:
    return ast.dump(tree, annotate_fields=False, include_attributes=False)


def _hash(*parts: str) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:HASH_CHARS]


def unified_diff(original: str, mutated: str, file: str) -> str:
    """The diff of one file, as `diff -u reference/<file> mutant/<file>` would print it."""
    return "".join(
        difflib.unified_diff(
            original.splitlines(True), mutated.splitlines(True),
            fromfile=f"reference/{file}", tofile=f"mutant/{file}", n=2,
        )
    )  # fmt: skip


def mutants_of_source(source: str, file: str) -> list[Mutant]:
    """Every compilable mutant of one Python file, in the order of the walk."""
    tree = ast.parse(source)
    finder = EditFinder(SourceText(source))
    finder.walk(tree, _Context())
    original = _structure(tree)
    seen: set[str] = {source}
    ordinals: dict[str, int] = {}
    result = []
    for edit in finder.edits:
        mutated = source[: edit.start] + edit.replacement + source[edit.end :]
        if mutated in seen:
            continue
        try:
            compile(mutated, file, "exec", dont_inherit=True)
        except (SyntaxError, ValueError):
            continue
        if _structure(ast.parse(mutated)) == original:
            continue  # only formatting changed
        seen.add(mutated)
        base = f"{file}:{edit.scope}:{edit.operator}:{_hash(edit.anchor, edit.description)}"
        ordinal = ordinals.get(base, 0)
        ordinals[base] = ordinal + 1
        result.append(
            Mutant(
                id=base if ordinal == 0 else f"{base}:{ordinal}",
                file=file,
                scope=edit.scope,
                operator=edit.operator,
                description=edit.description,
                line=edit.line,
                source=mutated,
                diff=unified_diff(source, mutated, file),
            )  # fmt: skip
        )
    return result


def python_files(folder: Path, skipped: tuple[str, ...] = ()) -> Iterator[Path]:
    """The Python files of a reference folder, in a stable order, but for the top-level folders
    named in `skipped`."""
    for path in sorted(folder.rglob("*.py")):
        parts = path.relative_to(folder).parts
        if "__pycache__" not in parts and parts[0] not in skipped:
            yield path


def mutants_of_folder(folder: Path, skipped: tuple[str, ...] = ()) -> list[Mutant]:
    """Every mutant of every Python file of a reference solution (but for `skipped` folders)."""
    result = []
    for path in python_files(folder, skipped):
        rel = path.relative_to(folder).as_posix()
        result.extend(mutants_of_source(path.read_text(encoding="utf-8"), rel))
    return result


def select_mutants(mutants: list[Mutant], limit: int | None, seed: int) -> list[Mutant]:
    """At most `limit` mutants, spread over the operators, chosen deterministically by `seed`.

    Each mutant's rank is a hash of the seed and its id, so adding or removing one mutant does
    not reshuffle the others. Operators take turns, so rare ones (locks, transactions) are not
    crowded out by the many constants.
    """
    if limit is None or len(mutants) <= limit:
        return list(mutants)
    by_operator: dict[str, list[Mutant]] = {}
    for mutant in sorted(mutants, key=lambda m: _hash(str(seed), m.id)):
        by_operator.setdefault(mutant.operator, []).append(mutant)
    chosen: list[Mutant] = []
    queues = [by_operator[name] for name in sorted(by_operator)]
    while len(chosen) < limit:
        for queue in queues:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    order = {m.id: i for i, m in enumerate(mutants)}
    return sorted(chosen, key=lambda m: order[m.id])
