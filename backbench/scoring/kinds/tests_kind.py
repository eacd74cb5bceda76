"""The tests kind: the agent's test suite, run over the code under test and its mutants.

The suite runs as the submission (the agent's code never runs as the harness) from a workspace
the harness rebuilds before every run: the agent's files as they were at submission, with the
package under test replaced by one version of it. The versions are the original (with coverage),
a hidden rewrite that behaves the same (a suite that fingerprints the source instead of testing
behaviour fails there), and generated mutants; they run in an order drawn from the sample's
secret, so a suite that keeps state between runs cannot tell which one it faces. A mutant is
killed when the suite does not pass on it (a failure, an error or a time-out, as mutation
testing counts them).

Coverage is measured inside the suite's own process, so a suite written to cheat could forge
it; `mutation_kill` rests on exit codes alone and cannot be forged that way.
"""

from __future__ import annotations

import random
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from backbench.adequacy.mutate import mutants_of_folder, select_mutants
from backbench.catalogue import Scenario
from backbench.runtime import ScoringRuntime
from backbench.sandbox.paths import remove_path
from backbench.schema import SuiteDeliverable
from backbench.scoring.kinds import KindVerdict
from backbench.scoring.kinds.workspace_runs import SKIPPED, run_in_workspace, snapshot

PYTEST_OK = 0
# coverage.py's settings for the run: the harness's, so a .coveragerc or [tool.coverage] of the
# agent's cannot omit the code its suite does not reach
COVERAGE_RC = ".backbench-coveragerc"
COVERAGE_LINE = re.compile(r"^BACKBENCH_COVERAGE (\d+(?:\.\d+)?)$", re.MULTILINE)


@dataclass
class SuiteRun:
    """One run of the suite over one version of the package."""

    version: str  # original | equivalent | a mutant's id
    returncode: int | None  # None: killed at the time limit
    coverage: float | None = None  # percent, the original's run only
    output_tail: str = ""


@dataclass
class SuiteEvidence:
    """Every run of the agent's suite."""

    has_tests: bool
    runs: list[SuiteRun] = field(default_factory=list)


def _command(deliverable: SuiteDeliverable, with_coverage: bool) -> list[str]:
    pytest = f"-m pytest -q -p no:cacheprovider {deliverable.tests}"
    if not with_coverage:
        return ["sh", "-c", f"exec python3 -s {pytest}"]
    # the total goes to the log on a line of its own; the exit code stays pytest's
    script = (
        f"python3 -s -m coverage run --rcfile={COVERAGE_RC} --branch "
        f"--source={deliverable.package} {pytest}; rc=$?; "
        "printf '\\nBACKBENCH_COVERAGE %s\\n' \"$(python3 -s -m coverage report "
        f'--rcfile={COVERAGE_RC} --format=total --precision=2 2>/dev/null)"; exit $rc'
    )
    return ["sh", "-c", script]


def agent_tests(workspace: Path, deliverable: SuiteDeliverable) -> bool:
    """Whether the workspace holds a test file in the tests folder."""
    folder = workspace / deliverable.tests
    return folder.is_dir() and not folder.is_symlink() and any(folder.rglob("test*.py"))


async def run_suite(
    runtime: ScoringRuntime, scenario: Scenario, secret: str, limit: int | None = None
) -> SuiteEvidence:
    """The agent's suite over the original package, its rewrite and its mutants."""
    deliverable = scenario.deliverable
    assert isinstance(deliverable, SuiteDeliverable)
    if not agent_tests(runtime.workspace, deliverable):
        return SuiteEvidence(has_tests=False)
    package = scenario.files_dir / deliverable.package
    declared = {e.id for e in scenario.equivalent_mutants}
    mutants = [m for m in mutants_of_folder(package) if m.id not in declared]
    mutants = select_mutants(mutants, limit or deliverable.max_mutants, seed=0)
    with tempfile.TemporaryDirectory(prefix="backbench-suite-") as tmp:
        base = snapshot(runtime.workspace, Path(tmp) / "submitted")
        versions: list[tuple[str, Path, dict[str, str]]] = [
            ("original", package, {}),
            ("equivalent", scenario.equivalent_dir / deliverable.package, {}),
        ]
        versions += [(m.id, package, {m.file: m.source}) for m in mutants]
        random.Random(secret).shuffle(versions)
        runs = []
        for version, source, replaced in versions:
            tree = Path(tmp) / "run"
            shutil.rmtree(tree, ignore_errors=True)
            shutil.copytree(base, tree, symlinks=True)
            # the harness's version of the package, whatever the agent left there
            remove_path(tree / deliverable.package)
            shutil.copytree(source, tree / deliverable.package, ignore=SKIPPED)
            for file, text in replaced.items():
                (tree / deliverable.package / file).write_text(text)
            remove_path(tree / COVERAGE_RC)
            (tree / COVERAGE_RC).write_text("[run]\n")
            runs.append(await _one_run(runtime, tree, version, deliverable))
        # the workspace as submitted, for whatever reads it after this stage
        await runtime.replace_workspace(base)
    return SuiteEvidence(has_tests=True, runs=runs)


async def _one_run(
    runtime: ScoringRuntime, tree: Path, version: str, deliverable: SuiteDeliverable
) -> SuiteRun:
    run = await run_in_workspace(
        runtime, tree, _command(deliverable, version == "original"), {}, "suite"
    )
    coverage = None
    if version == "original" and (found := COVERAGE_LINE.findall(run.output)):
        coverage = float(found[-1])
    return SuiteRun(version, run.returncode, coverage, run.output[-1500:])


def suite_verdict(evidence: SuiteEvidence, deliverable: SuiteDeliverable) -> KindVerdict:
    """`tests_pass`, `coverage` and `mutation_kill` of the agent's suite."""
    if not evidence.has_tests:
        return KindVerdict(
            {"tests_pass": 0.0, "coverage": 0.0, "mutation_kill": 0.0, "mutants_run": 0.0},
            ["tests_pass", "coverage", "mutation_kill"],
            f"tests: no test file in {deliverable.tests}/",
        )  # fmt: skip
    by_version = {r.version: r for r in evidence.runs}
    original, equivalent = by_version["original"], by_version["equivalent"]
    passes = original.returncode == PYTEST_OK and equivalent.returncode == PYTEST_OK
    mutants = [r for r in evidence.runs if r.version not in ("original", "equivalent")]
    killed = [r for r in mutants if r.returncode != PYTEST_OK]
    # a suite that fails on correct code kills every mutant for nothing: it kills none
    kill = len(killed) / len(mutants) if mutants and passes else 0.0
    coverage = (original.coverage or 0.0) / 100 if passes else 0.0
    failed = [
        name for name, bad in (
            ("tests_pass", not passes), ("coverage", coverage < deliverable.min_coverage),
            ("mutation_kill", kill < deliverable.min_mutation_kill),
        ) if bad
    ]  # fmt: skip
    lines = [
        f"tests: {'pass' if passes else 'do not pass'} on the code (exit "
        f"{original.returncode}) and its rewrite (exit {equivalent.returncode}); coverage "
        f"{coverage:.2%} (needs {deliverable.min_coverage:.0%}); killed {len(killed)}/"
        f"{len(mutants)} mutants ({kill:.2%}, needs {deliverable.min_mutation_kill:.0%})"
    ]
    survivors = [r.version for r in mutants if r.returncode == PYTEST_OK]
    if passes and survivors:
        lines.append(f"  survived: {', '.join(survivors[:10])}")
    return KindVerdict(
        {"tests_pass": float(passes), "coverage": round(coverage, 4),
         "mutation_kill": round(kill, 4), "mutants_run": float(len(mutants))},
        failed, "\n".join(lines),
    )  # fmt: skip
