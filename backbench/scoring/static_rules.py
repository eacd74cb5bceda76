"""Static security rules of our own: a secondary signal beside the probes and bandit.

The rules are AST checks (backbench.scoring.static_checks), vendored as code: semgrep runs
offline in about 3 s a service, but no release of it installs beside the harness's pins (click,
jsonschema, rich, opentelemetry). A rule is scored (its alarms may count against `secure`) only
when it raises no alarm on any correct code of the catalogue: scripts/static_false_alarms.py
measures that into results/static_rules.json, the `scored` flags below are its findings, and
tests/test_static_rules.py keeps them honest. Test files are not scanned: they do not serve.

    python -I -m backbench.scoring.static_rules --root <workspace> --out <report.json> <file>...
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from backbench.sandbox.paths import read_no_follow
from backbench.scoring.source_files import python_files
from backbench.scoring.static_checks import check_module
from backbench.scoring.static_values import Module, Values, import_map, scope_of

if TYPE_CHECKING:  # the runtime pulls in inspect_ai: 2 s more for every scan's subprocess
    from backbench.runtime import ScoringRuntime

MAX_FILE_BYTES = 512 * 1024
MAX_TOTAL_BYTES = 16 * 1024 * 1024
TIMEOUT = 120
ENGINE = "backbench-ast"


@dataclass(frozen=True)
class StaticRule:
    """One rule: what it finds and whether it decides `secure`."""

    id: str
    cwe: int
    title: str
    scored: bool


@dataclass(frozen=True)
class StaticFinding:
    """One alarm of one rule, in a file of the submission (path relative to its root); the
    construct found spans `line` to `end_line`."""

    rule: str
    cwe: int
    file: str
    line: int
    text: str
    scored: bool
    end_line: int = 0


# rules left unscored whatever their measurement: what they find is never exploitable here
UNSCORED_BY_CHOICE = {"secret-env-default"}
RULES: dict[str, StaticRule] = {
    r.id: r
    for r in [
        StaticRule("debug-mode", 489, "a framework's debug mode or werkzeug's debugger on", True),
        StaticRule("sql-string-built", 89, "SQL built from non-constants reaches a query", False),
        StaticRule("sql-value-spliced", 89, "a value spliced into SQL where a value goes", True),
        StaticRule("eval-exec", 94, "eval or exec of a non-constant", True),
        StaticRule("unsafe-deserialization", 502, "pickle, marshal, unsafe yaml, jsonpickle", True),
        StaticRule("hardcoded-secret", 798, "a literal secret or key", True),
        # unscored by choice: the harness always sets the variable, so the default never runs
        # here; the hard-coded credentials probe proves one that the server does accept
        StaticRule("secret-env-default", 798, "a literal default of a secret's variable", False),
        StaticRule("weak-password-hash", 916, "a password hashed without key derivation", True),
        StaticRule("shell-command", 78, "a shell runs a non-constant command", True),
        StaticRule("tls-unverified", 295, "TLS certificates not checked", True),
        StaticRule("jwt-unverified", 347, "a JWT decoded without checking its signature", True),
    ]
}


def is_test_file(name: str) -> bool:
    """Test code (tests/ folders, test_*.py, *_test.py, conftest.py): it never serves."""
    path = PurePosixPath(name)
    return (
        bool({"tests", "test"} & set(path.parts[:-1]))
        or path.name.startswith("test_")
        or path.name.endswith("_test.py")
        or path.name == "conftest.py"
    )


def _parse(name: str, data: bytes) -> Module:
    source = data.decode("utf-8", errors="replace")
    tree = ast.parse(source, filename=name)
    dotted = name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    scope = scope_of(tree.body, None, None)
    scope.module = dotted
    imports = import_map(tree.body, dotted.split(".")[:-1])
    return Module(dotted, tree, source.splitlines(), scope, imports)


def _is_settings(module: Module) -> bool:
    """A Django settings module: named so, or setting what only settings set."""
    markers = {"INSTALLED_APPS", "ROOT_URLCONF"}
    return "settings" in module.name.split(".")[-1] or bool(markers & set(module.scope.assigns))


def scan(root: Path, names: list[str]) -> dict[str, Any]:
    """The raw report of every rule over the files `names` (relative, '/'-separated) under
    `root`, each read without following links; files too big, unparsable or past the byte
    budget are listed as skipped, with why."""
    modules: dict[str, Module] = {}
    files: dict[str, str] = {}
    skipped: list[dict[str, str]] = []
    total = 0
    for name in names:
        if is_test_file(name):
            continue
        data = read_no_follow(root, name, MAX_FILE_BYTES + 1)
        if data is None or len(data) > MAX_FILE_BYTES or total + len(data) > MAX_TOTAL_BYTES:
            why = "unreadable or a link" if data is None else "over the size budget"
            skipped.append({"file": name, "why": why})
            continue
        total += len(data)
        try:
            module = _parse(name, data)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            skipped.append({"file": name, "why": f"does not parse: {type(exc).__name__}"})
            continue
        modules[module.name] = module
        files[module.name] = name
    values = Values(modules)
    results: list[dict[str, Any]] = []
    for dotted, module in modules.items():
        try:
            hits = check_module(module, values, _is_settings(module))
        except RecursionError:
            skipped.append({"file": files[dotted], "why": "nested too deeply to check"})
            continue
        for rule, line, end, what in hits:
            source = module.lines[line - 1].strip() if 0 < line <= len(module.lines) else ""
            results.append(
                {"rule": rule, "file": files[dotted], "line": line, "end_line": end,
                 "text": f"{what}: {source[:160]}"}
            )  # fmt: skip
    return {"engine": ENGINE, "files": len(modules), "skipped": skipped, "results": results}


def static_findings(report: dict[str, Any]) -> list[StaticFinding]:
    """The report's alarms as findings, each with its rule's CWE and whether it is scored;
    alarms of rules this version does not know are dropped."""
    return [
        StaticFinding(r["rule"], RULES[r["rule"]].cwe, r["file"], int(r["line"]), r["text"],
                      RULES[r["rule"]].scored, int(r.get("end_line", r["line"])))
        for r in report.get("results", [])
        if r.get("rule") in RULES
    ]  # fmt: skip


def _relative(root: Path, files: list[Path]) -> list[str]:
    return [f.relative_to(root).as_posix() for f in files]


def scan_folder(folder: Path) -> list[StaticFinding]:
    """Every rule over the .py files of `folder`, in this process."""
    return static_findings(scan(folder, _relative(folder, python_files(folder))))


async def run_static_rules(
    runtime: ScoringRuntime, tool_env: dict[str, str], cwd: Path
) -> dict[str, Any]:
    """The raw report of the rules over the submission's Python files, from a subprocess."""
    from backbench.runtime import HarnessError

    names = _relative(runtime.workspace, python_files(runtime.workspace))
    if not names:
        return {"engine": ENGINE, "files": 0, "skipped": [], "results": []}
    report = cwd / "static_rules.json"
    argv = [
        sys.executable, "-I", "-m", "backbench.scoring.static_rules",
        "--root", str(runtime.workspace), "--out", str(report), *names,
    ]  # fmt: skip
    try:
        result = await runtime.run_static(argv, env=tool_env, cwd=cwd, timeout=TIMEOUT)
    except TimeoutError as exc:
        raise HarnessError(f"static rules took over {TIMEOUT} s") from exc
    if result.returncode != 0 or not report.exists():
        raise HarnessError(
            f"static rules failed (exit {result.returncode}): {result.stderr[-600:]}"
        )
    data: dict[str, Any] = json.loads(report.read_text())
    return data


def main(argv: list[str] | None = None) -> int:
    """Scan the named files and write the raw report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("files", nargs="*")
    args = parser.parse_args(argv)
    args.out.write_text(json.dumps(scan(args.root, args.files)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
