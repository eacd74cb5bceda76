"""`backbench catalogue --check`: every scenario folder against the schema and its own files.

The schema checks scenario.yaml alone (backbench.catalogue loads through it); the checks here
read the rest of the folder: the prompt, the hidden tests, the reference, the mutants' patches,
and the files the rules quote. Each problem is one line naming the file and the field.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable
from pathlib import Path

from backbench.adequacy.mutate import OPERATORS, python_files, qualified
from backbench.catalogue import (
    ERROR,
    WARNING,
    Problem,
    Scenario,
    load_scenario,
    read_scenario_file,
)
from backbench.identity import DESCRIPTIVE_KEYS, descriptive_line
from backbench.registry import CHECK_KINDS, DELIVERABLE_KINDS, SLO_METRICS, one_of
from backbench.scoring.attack_surface import possible_probe_ids, unknown_operations
from backbench.testkit import FIXTURE_NAMES

# A non-empty tests/conftest.py is a warning while the scenarios move their fixtures into the
# test kit (backbench.testkit); once they all have, set this to ERROR.
CONFTEST_SEVERITY = ERROR
# A scenario that declares no rules at all: a warning until every scenario states its rules.
NO_RULES_SEVERITY = ERROR
RULES_MARK = "rules"
# a generated mutant's id (backbench/adequacy/mutate.py): file:scope:operator:hash[:ordinal]
MUTANT_ID = re.compile(
    r"^(?P<file>[^:]+\.py):(?P<scope>[^:]+):(?P<operator>\w+):[0-9a-f]{8}(:[1-9][0-9]*)?$"
)


def check_folder(folder: Path) -> list[Problem]:
    """Every problem of one scenario folder, errors and warnings, in a stable order."""
    model, problems = read_scenario_file(folder)
    problems += file_problems(folder, model.deliverable.kind if model else "service")
    if model is None or any(p.severity == ERROR for p in problems):
        return problems
    scenario = load_scenario(folder)
    return (
        problems + test_problems(scenario) + mutant_problems(scenario)
        + equivalent_problems(scenario) + rule_problems(scenario)
        + metadata_problems(scenario) + operation_problems(folder)
    )  # fmt: skip


def operation_problems(folder: Path) -> list[Problem]:
    """Operations `probes.owned` and `probes.admin_only` name that openapi.yaml lacks: the
    authorization probes would skip them without a word."""
    model, _ = read_scenario_file(folder)
    if model is None or model.probes is None:
        return []
    config = model.probes.model_dump(by_alias=True, exclude_none=True)
    return [
        Problem(folder / "scenario.yaml", f"probes.{where}",
                f"{name!r} is no operationId or 'METHOD /path' of openapi.yaml")
        for where, name in unknown_operations(folder / "openapi.yaml", config)
    ]  # fmt: skip


def planned_cwes(scenario: Scenario) -> list[int]:
    """The CWEs the contract's probes plan for a scenario, ascending (its `cwes:`)."""
    return sorted({int(p["cwe"]) for p in scenario.probes})


def metadata_problems(scenario: Scenario) -> list[Problem]:
    """The descriptive keys: `section` as the folder says, `cwes` as the contract plans them,
    and a warning for any of the four not on a line of its own (the validation digest leaves
    out only such lines)."""
    meta = scenario.folder / "scenario.yaml"
    problems = []
    if scenario.declared_section != scenario.section:
        problems.append(
            Problem(
                meta,
                "section",
                f"{scenario.declared_section!r} differs from "
                f"the section folder {scenario.section!r}",
            )
        )
    planned = planned_cwes(scenario)
    if sorted(scenario.cwes) != planned or len(set(scenario.cwes)) != len(scenario.cwes):
        problems.append(
            Problem(meta, "cwes", f"{scenario.cwes} differs from the planned probes' {planned}")
        )
    lines = meta.read_text().splitlines()
    for key in DESCRIPTIVE_KEYS:
        if not any(descriptive_line(line) == key for line in lines):
            problems.append(
                Problem(
                    meta,
                    key,
                    "not on one line of its own: changing it calls for a new validation",
                    WARNING,
                )
            )
    return problems


def file_problems(folder: Path, kind: str = "service") -> list[Problem]:
    """The files a scenario of its deliverable kind needs (DELIVERABLE_KINDS[kind].files): the
    prompt, hidden tests, an executable reference, the starting code and the kind's own."""
    problems = []
    for entry in DELIVERABLE_KINDS[kind].files:
        problems += _entry_problems(folder, entry, kind)
    for solution in sorted(p for p in (folder / "solutions").glob("*") if p.is_dir()):
        start = solution / "start.sh"
        if not start.is_file() or not os.access(start, os.X_OK):
            problems.append(Problem(solution, "start.sh", "missing or not executable"))
    return problems


def _entry_problems(folder: Path, entry: str, kind: str) -> list[Problem]:
    """What is wrong with one required entry: a file, a folder (ending in /) or start.sh."""
    path = folder / entry.rstrip("/")
    if entry == "prompt.md" and not path.is_file():
        return [Problem(folder, entry, "missing; the agent's task is stated there")]
    if entry == "tests/" and not sorted(path.rglob("test_*.py")):
        return [Problem(path, "test_*.py", "none found; expected at least one test file")]
    if entry.endswith("/"):
        if not path.is_dir() or not any(path.rglob("*")):
            return [Problem(folder, entry, f"missing or empty; a {kind} scenario needs it")]
        return []
    if not path.is_file():
        return [Problem(path.parent, path.name, f"missing; a {kind} scenario needs it")]
    if entry.endswith("start.sh") and not os.access(path, os.X_OK):
        return [Problem(path, "mode", "not executable; run chmod +x on it")]
    return []


def test_problems(scenario: Scenario) -> list[Problem]:
    """Hidden test files that use no test-kit fixture, and a conftest.py that is not empty."""
    problems = []
    for file in sorted(scenario.tests_dir.rglob("test_*.py")):
        tree, error = _parse(file)
        if tree is None:
            problems.append(Problem(file, "syntax", error))
        elif not kit_fixtures_used(tree):
            problems.append(
                Problem(
                    file, "fixtures",
                    "uses no test-kit fixture; expected a test parameter or "
                    f"@pytest.mark.usefixtures naming one of {one_of(FIXTURE_NAMES)}",
                )
            )  # fmt: skip
    conftest = scenario.tests_dir / "conftest.py"
    if conftest.is_file():
        tree, _ = _parse(conftest)
        if tree is None or _statements(tree):
            problems.append(
                Problem(
                    conftest, "",
                    "not empty; the test kit (backbench.testkit) provides the fixtures",
                    CONFTEST_SEVERITY,
                )
            )  # fmt: skip
    return problems


def equivalent_problems(scenario: Scenario) -> list[Problem]:
    """Declared equivalent mutants whose id cannot name a generated mutant: not of the form
    file:scope:operator:hash, or naming a file the reference lacks, an operator the mutator
    lacks or a scope the file does not define (the schema refuses an id declared twice).

    Whether the mutator still generates the mutant is `backbench adequacy`'s check (it fails
    the scenario): generating them takes seconds a scenario, and CI runs adequacy on the
    scenarios whose reference or declarations changed.
    """
    meta = scenario.folder / "scenario.yaml"
    reference = scenario.mutated_dir
    files = {p.relative_to(reference).as_posix(): p for p in python_files(reference)}
    scopes: dict[str, set[str]] = {}
    problems = []
    for i, declared in enumerate(scenario.equivalent_mutants):
        field = f"equivalent_mutants[{i}].id"
        parts = MUTANT_ID.match(declared.id)
        if parts is None:
            problems.append(
                Problem(meta, field, "not a generated mutant's id: file:scope:operator:hash")
            )
            continue
        file, scope, operator = parts["file"], parts["scope"], parts["operator"]
        if file not in files:
            problems.append(Problem(meta, field, f"the reference has no {file}"))
            continue
        if operator not in OPERATORS:
            problems.append(
                Problem(meta, field, f"unknown operator {operator!r}; expected one of "
                        f"{one_of(OPERATORS)}")
            )  # fmt: skip
        if file not in scopes:
            tree, _ = _parse(files[file])
            scopes[file] = _mutant_scopes(tree) if tree is not None else set()
        if scope not in scopes[file]:
            problems.append(Problem(meta, field, f"{file} defines no scope {scope!r}"))
    return problems


def _mutant_scopes(tree: ast.Module) -> set[str]:
    """The scopes a mutant id of this module can name: the module, every function and class by
    qualified name, and each module-level name assigned alone."""
    found = {"<module>"}
    for statement in tree.body:
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            if len(targets) == 1 and isinstance(targets[0], ast.Name):
                found.add(targets[0].id)

    def definitions(node: ast.AST, scope: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = qualified(scope, child.name)
                found.add(name)
                definitions(child, name)
            else:
                definitions(child, scope)

    definitions(tree, "<module>")
    return found


def mutant_problems(scenario: Scenario) -> list[Problem]:
    """Mutants without a patch, or catching with a test, probe or SLO metric that is not there."""
    meta = scenario.folder / "scenario.yaml"
    probes = possible_probe_ids(scenario.probes)
    tests = hidden_test_names(scenario.tests_dir)
    problems = []
    for i, mutant in enumerate(scenario.mutants):
        if not mutant.patch.is_file():
            where = mutant.patch.relative_to(scenario.folder)
            problems.append(Problem(meta, f"mutants[{i}].name", f"no patch {where}"))
        problem = catch_problem(
            mutant.catches, probes, tests, scenario.slo, scenario.kind_spec.checks
        )
        if problem:
            kind = next(iter(mutant.catches), "")
            problems.append(Problem(meta, f"mutants[{i}].catches.{kind}", problem))
    for metric in scenario.slo:
        if metric not in SLO_METRICS:
            problems.append(Problem(meta, f"slo.{metric}", "not scored yet: ignored", WARNING))
    return problems


def rule_matrix(tests_dir: Path) -> dict[str, list[str]]:
    """Per hidden test, the rule ids it declares with `@pytest.mark.rules(...)` (on the test, its
    class, or the module's `pytestmark`), in the order written."""
    matrix: dict[str, list[str]] = {}
    for file in sorted(tests_dir.rglob("test_*.py")):
        tree, _ = _parse(file)
        if tree is None:
            continue
        module_rules = _marked_rules(_pytestmark(tree.body))
        for node in tree.body:
            for test, rules in _tests_with_rules(node, module_rules):
                matrix.setdefault(test, [])
                matrix[test] += [r for r in rules if r not in matrix[test]]
    return matrix


def coverage_problems(scenario: Scenario) -> list[Problem]:
    """Rules no test checks, tests that check no rule, and rule ids no rule has."""
    meta = scenario.folder / "scenario.yaml"
    if not scenario.rules:
        why = "none declared; every stated behaviour is a rule that hidden tests name"
        return [Problem(meta, "rules", f"{why} with @pytest.mark.rules", NO_RULES_SEVERITY)]
    matrix = rule_matrix(scenario.tests_dir)
    known = {rule.id for rule in scenario.rules}
    # a rule a kind's check judges (a review's matching, a suite's coverage) needs no test
    checked = {r for rules in matrix.values() for r in rules}
    checked |= {r.id for r in scenario.rules if r.check in scenario.kind_spec.checks}
    problems = [
        Problem(meta, f"rules[{i}]", f"{rule.id}: no hidden test checks it")
        for i, rule in enumerate(scenario.rules)
        if rule.id not in checked
    ]
    problems += [
        Problem(meta, f"rules[{i}].check", f"{rule.check!r} is not a check of the "
                f"{scenario.kind} kind ({one_of(scenario.kind_spec.checks) or 'none'})")
        for i, rule in enumerate(scenario.rules)
        if rule.check is not None and rule.check not in scenario.kind_spec.checks
    ]  # fmt: skip
    for test, rules in sorted(matrix.items()):
        where = scenario.tests_dir / "test_*.py"
        if not rules:
            problems.append(Problem(where, test, "checks no rule: add @pytest.mark.rules(...)"))
        problems += [
            Problem(where, test, f"names rule {r!r}, which scenario.yaml does not declare")
            for r in rules
            if r not in known
        ]
    return problems


def _tests_with_rules(node: ast.stmt, inherited: list[str]) -> list[tuple[str, list[str]]]:
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test"):
        return [(node.name, inherited + _marked_rules(node.decorator_list))]
    if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
        own = inherited + _marked_rules(node.decorator_list) + _marked_rules(_pytestmark(node.body))
        return [pair for child in node.body for pair in _tests_with_rules(child, own)]
    return []


def _pytestmark(body: list[ast.stmt]) -> list[ast.expr]:
    """The marks of a `pytestmark = ...` assignment (one mark or a list of them)."""
    for statement in body:
        if isinstance(statement, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in statement.targets
        ):
            value = statement.value
            return list(value.elts) if isinstance(value, ast.List | ast.Tuple) else [value]
    return []


def _marked_rules(marks: list[ast.expr]) -> list[str]:
    rules: list[str] = []
    for mark in marks:
        if isinstance(mark, ast.Call) and _dotted(mark.func).split(".")[-1] == RULES_MARK:
            rules += [str(a.value) for a in mark.args if isinstance(a, ast.Constant)]
    return rules


def rule_problems(scenario: Scenario) -> list[Problem]:
    """Rules whose quote does not occur in the file they name (whitespace-normalised), and the
    rule -> test coverage."""
    meta = scenario.folder / "scenario.yaml"
    problems = coverage_problems(scenario)
    texts: dict[str, str] = {}
    for i, rule in enumerate(scenario.rules):
        source = scenario.folder / rule.source.file
        if rule.source.file not in texts:
            texts[rule.source.file] = _normalised(source.read_text()) if source.is_file() else ""
        if _normalised(rule.source.quote) not in texts[rule.source.file]:
            problems.append(
                Problem(meta, f"rules[{i}].source.quote", f"not found in {rule.source.file}")
            )
    return problems


def catch_problem(
    catches: dict[str, str], probe_ids: Iterable[str], test_names: Iterable[str],
    slo: dict[str, float], checks: Iterable[str] = (),
) -> str:  # fmt: skip
    """Why a mutant's `catches` declaration cannot be checked, or '' when it can."""
    kinds = [k for k in catches if k in CHECK_KINDS]
    if len(catches) != 1 or len(kinds) != 1:
        return f"catches must set exactly one of {one_of(CHECK_KINDS)}, got {catches}"
    kind, target = kinds[0], str(catches[kinds[0]])
    if kind == "test" and target not in set(test_names):
        return f"declares test {target}, which is not defined in tests/"
    if kind == "probe" and target not in set(probe_ids):
        return f"declares probe {target}, which is not among the scenario's probes"
    if kind == "slo" and (target not in SLO_METRICS or target not in slo):
        return f"declares slo {target}, which the scenario's slo does not set"
    if kind == "check" and target not in set(checks):
        known = one_of(checks) or "none"
        return f"declares check {target}, which its deliverable kind lacks (it has: {known})"
    return ""


def hidden_test_names(tests_dir: Path) -> set[str]:
    """Names of the test functions defined in a scenario's tests/ folder."""
    names: set[str] = set()
    for file in sorted(tests_dir.rglob("test_*.py")):
        tree, _ = _parse(file)
        names |= {
            n.name
            for n in ast.walk(tree or ast.Module(body=[], type_ignores=[]))
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name.startswith("test")
        }
    return names


def kit_fixtures_used(tree: ast.Module) -> set[str]:
    """Kit fixtures a test file asks for: by test or fixture parameter, or by usefixtures."""
    used: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and (
            node.name.startswith("test") or any(map(_is_fixture, node.decorator_list))
        ):
            args = node.args
            used |= {a.arg for a in [*args.posonlyargs, *args.args, *args.kwonlyargs]}
        elif isinstance(node, ast.Call) and _dotted(node.func).endswith("usefixtures"):
            used |= {str(a.value) for a in node.args if isinstance(a, ast.Constant)}
    return used & FIXTURE_NAMES


def _is_fixture(decorator: ast.expr) -> bool:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return _dotted(target).split(".")[-1] == "fixture"


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _statements(tree: ast.Module) -> list[ast.stmt]:
    """The module's statements besides its docstring."""
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:]
    return body


def _parse(file: Path) -> tuple[ast.Module | None, str]:
    try:
        return ast.parse(file.read_text(), filename=str(file)), ""
    except SyntaxError as ex:
        return None, f"line {ex.lineno}: {ex.msg}"


def _normalised(text: str) -> str:
    return " ".join(text.split())
