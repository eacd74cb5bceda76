"""The AST checks behind backbench.scoring.static_rules: one walk of a module finds every rule.

Each hit is (rule id, first line, last line, what was found). Names of callees are resolved
through the module's imports (`from pickle import loads as l; l(x)` is `pickle.loads`); values
are judged by backbench.scoring.static_values.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from backbench.scoring.static_values import (
    MAX_TEXT,
    Built,
    Module,
    Scope,
    Values,
    built_strings,
    scope_of,
)

Hit = tuple[str, int, int, str]  # rule id, first and last line, what was found

STRONG_SQL_SINKS = {"execute", "executemany", "executescript", "exec_driver_sql", "mogrify", "SQL"}
# names generic enough that the string must look like SQL too
WEAK_SQL_SINKS = {"fetch", "fetchrow", "fetchval", "raw", "text"}
TAIL = 40  # how much of the text before a spliced value tells where SQL puts it
SQL_ARG_NAMES = ("query", "sql", "statement", "operation", "raw_query")
SQL_PAIRS = (("select", "from"), ("update", "set"), ("insert", "into"), ("delete", "from"))
# the text before a spliced value that puts it where SQL expects a value (not a name or clause)
VALUE_POSITION = re.compile(
    r"(=|<|>|~\*?|\b(?:i?like|limit|offset|similar\s+to)|\bin\s*\(|\bvalues\s*\()\s*$", re.I
)
DESERIALIZERS = {
    "pickle.loads", "pickle.load", "pickle.Unpickler", "_pickle.loads", "_pickle.load",
    "cPickle.loads", "cPickle.load", "dill.loads", "dill.load", "marshal.loads", "marshal.load",
    "jsonpickle.decode", "yaml.unsafe_load", "yaml.unsafe_load_all", "yaml.full_load",
    "yaml.full_load_all", "pandas.read_pickle", "shelve.open",
}  # fmt: skip
SHELL_CALLS = {"os.system", "os.popen", "subprocess.getoutput", "subprocess.getstatusoutput"}
SUBPROCESS = {"subprocess.run", "subprocess.call", "subprocess.check_call",
              "subprocess.check_output", "subprocess.Popen"}  # fmt: skip
HTTP_CALLS = {"get", "post", "put", "patch", "delete", "head", "options", "request", "stream",
              "send", "Client", "AsyncClient", "Session", "ClientSession"}  # fmt: skip
HASHES = {"md5", "sha1", "sha224", "sha256", "sha384", "sha512", "sha3_224", "sha3_256",
          "sha3_384", "sha3_512", "blake2b", "blake2s", "new"}  # fmt: skip
KDF_WORDS = {"pbkdf2", "pbkdf2_hmac", "scrypt", "bcrypt", "hashpw", "argon2", "passlib",
             "PasswordHasher", "CryptContext", "make_password",
             "generate_password_hash"}  # fmt: skip
PASSWORD_WORDS = {"pass", "password", "passwd", "passphrase", "pwd", "pw"}
# matched on whole words of the snake-cased name: `tokens` of a token bucket are no secret
SECRET_NAME = re.compile(
    r"(^|_)(secret|token|api_key|apikey|password|passwd|private_key|signing_key|jwt_key)(_|$)"
)
# a name ending so is about a secret (where it lives, how long it is), not the secret itself
ABOUT_A_SECRET = {
    "header", "field", "type", "url", "uri", "path", "file", "env", "var", "name", "prefix",
    "length", "len", "pattern", "regex", "scheme", "column", "param", "message", "msg", "error",
    "label", "endpoint", "ttl", "expiry", "expires", "seconds", "minutes", "timeout", "size",
    "count", "min", "max", "id", "algorithm", "alg", "format", "kind", "mode", "dir",
}  # fmt: skip
# keys read as nothing else: any non-empty literal for them is a hard-coded secret
KEY_NAMES = {"secret_key", "jwt_secret", "jwt_secret_key", "jwt_key", "signing_key"}
ITSDANGEROUS = {"Serializer", "URLSafeSerializer", "TimedSerializer", "URLSafeTimedSerializer",
                "Signer", "TimestampSigner"}  # fmt: skip
ENV_DEFAULTS = {"os.environ.get", "os.getenv", "os.environ.setdefault"}


def looks_like_sql(text: str) -> bool:
    """SELECT … FROM, UPDATE … SET, INSERT … INTO or DELETE … FROM, as words (no regular
    expression that backtracks over a long literal)."""
    found = re.findall(r"[a-z]+", text[:MAX_TEXT].lower())
    for first, then in SQL_PAIRS:
        if first in found and then in found[found.index(first) + 1 :]:
            return True
    return False


def words(name: str) -> list[str]:
    """`passwordHash`, `PASSWORD_HASH` -> ['password', 'hash']."""
    snake = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return [w for w in re.split(r"[^a-zA-Z0-9]+", snake.lower()) if w]


def names_secret(name: str) -> bool:
    """Whether a variable, keyword or key called `name` holds a secret."""
    parts = words(name)
    return (
        bool(parts)
        and parts[-1] not in ABOUT_A_SECRET
        and bool(SECRET_NAME.search("_".join(parts)))
    )


def about_password(name: str) -> bool:
    """Whether `name` is about a password (a password reset token is not one)."""
    parts = set(words(name))
    return bool(PASSWORD_WORDS & parts) and "token" not in parts


def secret_literal(node: ast.expr | None, name: str) -> bool:
    """A literal that reads as a secret for `name`. For a key name (SECRET_KEY, jwt_secret) any
    non-empty one: placeholders ('changeme') count, a service that runs with a well-known key is
    as open as one whose key leaked. For other names (token, password, api_key) at least 8
    characters, no spaces, and not a lower-case word or slug, which names a thing (a parser's
    ':decline' token, a 'set-password' route) rather than being a credential."""
    if not isinstance(node, ast.Constant) or not isinstance(node.value, str | bytes):
        return False
    value = node.value.decode(errors="replace") if isinstance(node.value, bytes) else node.value
    if "_".join(words(name)) in KEY_NAMES:
        return bool(value)
    if re.fullmatch(r"[A-Z0-9_]+|[a-z_:./-]+|(.)\1*", value):
        return False  # an environment variable's name, a word or a slug, a mask ('****')
    return len(value) >= 8 and not re.search(r"\s", value)


def target_name(node: ast.expr) -> str | None:
    """The name a value is stored under: `x`, `obj.x`, `d["x"]`."""
    match node:
        case ast.Name(id=name) | ast.Attribute(attr=name):
            return name
        case ast.Subscript(slice=ast.Constant(value=str() as name)):
            return name
    return None


def mentions_password(node: ast.AST) -> bool:
    """Whether a name, attribute or string key inside `node` is about a password."""
    for sub in ast.walk(node):
        name = target_name(sub) if isinstance(sub, ast.expr) else None
        if name and about_password(name):
            return True
    return False


class Checker(ast.NodeVisitor):
    """Walks one module, keeping the scope of the function it is in, collecting hits."""

    def __init__(self, module: Module, values: Values, settings: bool) -> None:
        self.module, self.values, self.settings = module, values, settings
        self.scope = module.scope
        self.hits: list[Hit] = []
        self.in_kdf = 0  # inside a key-derivation call, a hash is a pre-hash

    def hit(self, rule: str, node: ast.AST, what: str) -> None:
        """Record `rule` at `node`'s lines."""
        line = getattr(node, "lineno", 0)
        self.hits.append((rule, line, getattr(node, "end_lineno", None) or line, what))

    def qualified(self, node: ast.expr) -> str:
        """The dotted name of a callee, through the module's imports."""
        match node:
            case ast.Name(id=name):
                bound = name in self.scope.assigns or name in self.scope.opaque
                return name if bound else self.module.imports.get(name, name)
            case ast.Attribute(value=value, attr=attr):
                return f"{self.qualified(value)}.{attr}"
        return ""

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        args = node.args
        paired = [*zip(args.args[::-1], args.defaults[::-1], strict=False)]
        paired += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d]
        for arg, default in paired:
            self.secret(arg.arg, default, default)
        outer, self.scope = self.scope, scope_of(node.body, args, self.scope)
        self.generic_visit(node)
        self.scope = outer

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign | ast.AnnAssign) -> None:
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        for target in targets:
            name = target_name(target)
            if name is None or value is None:
                continue
            self.secret(name, value, node)
            self.debug_flag(target, name, value, node)
            self.cert_none(value, node)
            if about_password(name):
                self.password_hash_in(value)
        self.generic_visit(node)

    visit_AnnAssign = visit_Assign

    def visit_Dict(self, node: ast.Dict) -> None:
        for key, value in zip(node.keys, node.values, strict=True):
            if isinstance(key, ast.Constant) and isinstance(key.value, str):
                self.secret(key.value, value, value)
                if about_password(key.value):
                    self.password_hash_in(value)
        self.generic_visit(node)

    def visit_Compare(self, node: ast.Compare) -> None:
        sides = [node.left, *node.comparators]
        named = [target_name(s) for s in sides]
        for name in filter(None, named):
            for side in sides:
                self.secret(name, side, node)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        name = self.qualified(node.func)
        short = name.rpartition(".")[2]
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        self.sql_sink(node, short)
        self.debug_call(short, keywords, node)
        self.code_and_data(node, name, keywords)
        self.network(node, name, short, keywords)
        self.secret_sinks(node, name, short, keywords)
        for key, value in keywords.items():
            self.cert_none(value, node)
            self.secret(key, value, node)
            if about_password(key):
                self.password_hash_in(value)
        hashed = node.args[:2] if self.is_hash(name) else []
        if short == "update" and self.hasher(node.func):
            hashed = node.args[:1]
        if not self.in_kdf and any(mentions_password(a) for a in hashed):
            self.hit("weak-password-hash", node, f"{name} of a password, no key derivation")
        kdf = short in KDF_WORDS or name.startswith(("passlib.", "argon2.", "bcrypt."))
        self.in_kdf += kdf
        self.generic_visit(node)
        self.in_kdf -= kdf

    # -- the rules ------------------------------------------------------------------------------

    def sql_sink(self, node: ast.Call, short: str) -> None:
        """CWE-89: a string built from non-constants reaching a call that runs SQL."""
        if short not in STRONG_SQL_SINKS | WEAK_SQL_SINKS:
            return
        given = node.args[:1] or [k.value for k in node.keywords if k.arg in SQL_ARG_NAMES][:1]
        for arg in given:
            for built, scope in self.sql_candidates(arg):
                spliced = self.spliced(built.parts, scope)
                text = "".join(t for t, _ in self.pieces(built.parts, scope))
                if not spliced or (short in WEAK_SQL_SINKS and not looks_like_sql(text)):
                    continue
                if looks_like_sql(text) or short in STRONG_SQL_SINKS:
                    self.hit(
                        "sql-string-built", built.node, f"SQL built from values, run by {short}"
                    )
                if any(self.value_position(before, v, scope) for before, v in spliced):
                    self.hit(
                        "sql-value-spliced", built.node, f"a value spliced into SQL for {short}"
                    )

    def sql_candidates(self, arg: ast.expr) -> Iterator[tuple[Built, Scope]]:
        """The strings `arg` builds, or those built into the variable `arg` in this function."""
        given = [arg]
        if isinstance(arg, ast.Name) and arg.id in self.scope.assigns:
            given += self.scope.assigns[arg.id]
        for value in given:
            yield from ((b, self.scope) for b in built_strings(value, self.values, self.scope))

    def pieces(
        self, parts: list[str | ast.expr], scope: Scope
    ) -> list[tuple[str, ast.expr | None]]:
        """Each part as (its text, or '?' when unknown; the part when it is not constant)."""
        out: list[tuple[str, ast.expr | None]] = []
        for part in parts:
            if isinstance(part, str):
                out.append((part, None))
            elif self.values.constant(part, scope):
                text = self.values.text(part, scope)
                out.append(("?" if text is None else text, None))
            else:
                out.append(("?", part))
        return out

    def spliced(self, parts: list[str | ast.expr], scope: Scope) -> list[tuple[str, ast.expr]]:
        """(the end of the text before it, the value) for every non-constant value in the
        string; the end starts with a quote when the text before it leaves one open."""
        found: list[tuple[str, ast.expr]] = []
        tail, quoted = "", False
        for text, value in self.pieces(parts, scope):
            if value is not None:
                found.append((("'" if quoted else "") + tail, value))
            else:
                quoted ^= text.count("'") % 2 == 1
                tail = (tail + text)[-TAIL:].replace("'", "")
        return found

    def value_position(self, before: str, value: ast.expr, scope: Scope) -> bool:
        """Whether SQL reads the spliced value as a value: inside quotes, after a comparison,
        LIKE, LIMIT, IN ( or VALUES (; or the value is a variable holding a quoted splice."""
        if before.endswith("$"):
            return False  # asyncpg's $n placeholder: the spliced value is its number
        if before.startswith("'") or VALUE_POSITION.search(before):
            return True
        if isinstance(value, ast.Name) and value.id in scope.assigns:
            for assigned in scope.assigns[value.id]:
                for built in built_strings(assigned, self.values, scope):
                    if any(b.startswith("'") for b, _ in self.spliced(built.parts, scope)):
                        return True
        return False

    def debug_call(self, short: str, keywords: dict[str, ast.expr], node: ast.Call) -> None:
        """CWE-489: a framework's debug mode or werkzeug's debugger switched on."""
        on = {k for k, v in keywords.items() if isinstance(v, ast.Constant) and v.value is True}
        if "debug" in on and short in {"run", "run_simple", "FastAPI", "Starlette", "Quart"}:
            self.hit("debug-mode", node, f"{short}(debug=True)")
        if on & {"use_debugger", "use_evalex", "evalex"}:
            self.hit("debug-mode", node, f"{short}() with the interactive debugger")
        if "DEBUG" in on:
            self.hit("debug-mode", node, f"{short}(DEBUG=True)")

    def debug_flag(self, target: ast.expr, name: str, value: ast.expr, node: ast.AST) -> None:
        if not (isinstance(value, ast.Constant) and value.value is True):
            return
        at_top = self.scope is self.module.scope and isinstance(target, ast.Name)
        owner = target.value if isinstance(target, ast.Attribute) else None
        app = isinstance(owner, ast.Name) and owner.id != "self"
        if (name == "debug" and app) or (
            name == "DEBUG" and (isinstance(target, ast.Subscript) or (at_top and self.settings))
        ):
            self.hit("debug-mode", node, f"{name} = True")

    def code_and_data(self, node: ast.Call, name: str, keywords: dict[str, ast.expr]) -> None:
        """CWE-94 and 502: code run from, or objects rebuilt from, data."""
        first = node.args[0] if node.args else None
        if name in {"eval", "exec", "builtins.eval", "builtins.exec"} and first is not None:
            if not self.values.constant(first, self.scope):
                self.hit("eval-exec", node, f"{name.rpartition('.')[2]}() of a non-constant")
        loader = keywords.get("Loader", node.args[1] if len(node.args) > 1 else None)
        safe = loader is not None and self.qualified(loader).endswith(("SafeLoader", "BaseLoader"))
        if name in DESERIALIZERS or (name in {"yaml.load", "yaml.load_all"} and not safe):
            self.hit("unsafe-deserialization", node, f"{name}() can build any object")

    def network(self, node: ast.Call, name: str, short: str, keywords: dict[str, ast.expr]) -> None:
        """CWE-78, 295 and 347: shell commands, unchecked TLS, unchecked JWT signatures."""
        first = node.args[0] if node.args else keywords.get("args")
        shell = keywords.get("shell")
        constant_first = first is None or self.values.constant(first, self.scope)
        if (name in SHELL_CALLS or (name in SUBPROCESS and _true(shell))) and not constant_first:
            self.hit("shell-command", node, f"{name}() runs a shell on a non-constant command")
        if short in HTTP_CALLS and any(_false(keywords.get(k)) for k in ("verify", "ssl")):
            self.hit("tls-unverified", node, f"{short}() without certificate checks")
        if name == "ssl._create_unverified_context":
            self.hit("tls-unverified", node, "an unverified TLS context")
        if name.endswith("jwt.decode"):
            options = keywords.get("options")
            off = isinstance(options, ast.Dict) and any(
                isinstance(k, ast.Constant) and k.value == "verify_signature" and _false(v)
                for k, v in zip(options.keys, options.values, strict=True)
            )
            algorithms = keywords.get("algorithms")
            none = algorithms is not None and any(
                isinstance(c, ast.Constant) and str(c.value).lower() == "none"
                for c in ast.walk(algorithms)
            )
            if off or none or _false(keywords.get("verify")):
                self.hit("jwt-unverified", node, "jwt.decode without checking the signature")

    def cert_none(self, value: ast.expr, node: ast.AST) -> None:
        """CWE-295: ssl.CERT_NONE set or passed (compared with, it checks nothing off)."""
        if isinstance(value, ast.Attribute) and self.qualified(value) == "ssl.CERT_NONE":
            self.hit("tls-unverified", node, "certificates not checked (ssl.CERT_NONE)")

    def secret_sinks(
        self, node: ast.Call, name: str, short: str, keywords: dict[str, ast.expr]
    ) -> None:
        """CWE-798: a literal key for jwt, hmac, itsdangerous, or a secret's env default."""
        key: ast.expr | None = None
        if name.endswith(("jwt.encode", "jwt.decode")):
            key = node.args[1] if len(node.args) > 1 else keywords.get("key")
        elif name in {"hmac.new", "hmac.digest"}:
            key = node.args[0] if node.args else keywords.get("key")
        elif name.startswith("itsdangerous") and short in ITSDANGEROUS:
            key = node.args[0] if node.args else keywords.get("secret_key")
        if key is not None and self.literal(key):
            self.hit("hardcoded-secret", node, f"a literal key for {short}")
        if name in ENV_DEFAULTS and len(node.args) > 1 and isinstance(node.args[0], ast.Constant):
            env_name = str(node.args[0].value)
            if names_secret(env_name) and self.literal(node.args[1]):
                self.hit("secret-env-default", node, f"a literal default for ${env_name}")

    def literal(self, node: ast.expr) -> bool:
        return (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str | bytes)
            and bool(node.value)
        )

    def secret(self, name: str, value: ast.expr, node: ast.AST) -> None:
        """CWE-798: a literal stored under, passed as, or compared with a secret's name."""
        if names_secret(name) and secret_literal(value, name):
            self.hit("hardcoded-secret", node, f"a literal {name}")

    def is_hash(self, name: str) -> bool:
        return name.startswith("hashlib.") and name.rpartition(".")[2] in HASHES

    def hasher(self, func: ast.expr) -> bool:
        """Whether `func` is `h.update` for a variable `h` this function made with hashlib."""
        if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)):
            return False
        made = self.scope.assigns.get(func.value.id, [])
        return any(isinstance(v, ast.Call) and self.is_hash(self.qualified(v.func)) for v in made)

    def password_hash_in(self, value: ast.expr) -> None:
        """CWE-916: a fast hash stored as a password; hashes inside a KDF call are pre-hashes."""
        stack: list[ast.AST] = [value]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Call):
                name = self.qualified(node.func)
                if name.rpartition(".")[2] in KDF_WORDS or self.in_kdf:
                    continue
                if self.is_hash(name):
                    self.hit("weak-password-hash", node, f"{name} stored as a password hash")
                    return
            stack.extend(ast.iter_child_nodes(node))


def _true(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def _false(node: ast.expr | None) -> bool:
    return isinstance(node, ast.Constant) and node.value is False


def check_module(module: Module, values: Values, settings: bool) -> list[Hit]:
    """Every rule's hits in one module, one per rule and line."""
    checker = Checker(module, values, settings)
    checker.visit(module.tree)
    seen: dict[tuple[str, int], Hit] = {}
    for hit in checker.hits:
        seen.setdefault((hit[0], hit[1]), hit)
    return sorted(seen.values(), key=lambda h: (h[1], h[0]))
