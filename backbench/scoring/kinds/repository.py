"""The repository kind: a service extended from an existing codebase, whose own tests must pass.

The harness runs the codebase's original tests, not the agent's copy of them: the original test
files are put back over the workspace's (a deleted or weakened test comes back; a test the agent
added stays) and the suite runs as the submission on a fresh database. `-s` keeps the agent's
user site-packages out and `--confcutdir` the conftest files above the test folder, so nothing
outside the tests decides their outcome; a conftest inside it is the original's.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from backbench.catalogue import Scenario
from backbench.runtime import ScoringRuntime
from backbench.schema import RepositoryDeliverable
from backbench.scoring.kinds import KindVerdict
from backbench.scoring.kinds.workspace_runs import (
    WorkspaceRun,
    overlay,
    run_in_workspace,
    snapshot,
)

PYTEST_OK = 0
# the ini the run uses, written by the harness: the agent's pytest.ini or pyproject add nothing
OWN_TESTS_INI = ".backbench-own-tests.ini"


def own_tests_command(deliverable: RepositoryDeliverable) -> list[str]:
    """The own tests' run: the harness's ini, no user site, no conftest above the folder."""
    folder = deliverable.own_tests
    return ["python3", "-s", "-m", "pytest", "-q", "-p", "no:cacheprovider", "-c", OWN_TESTS_INI,
            "--rootdir", ".", f"--confcutdir={folder}", folder]  # fmt: skip


async def run_own_tests(runtime: ScoringRuntime, scenario: Scenario) -> WorkspaceRun:
    """The original tests over the submitted code, on a fresh database; the workspace is left
    as the agent submitted it."""
    deliverable = scenario.deliverable
    assert isinstance(deliverable, RepositoryDeliverable)
    env = await runtime.submission_env()
    with tempfile.TemporaryDirectory(prefix="backbench-own-") as tmp:
        base = snapshot(runtime.workspace, Path(tmp) / "submitted")
        tree = snapshot(base, Path(tmp) / "run")
        overlay(tree, scenario.files_dir / deliverable.own_tests, deliverable.own_tests)
        (tree / OWN_TESTS_INI).unlink(missing_ok=True)
        (tree / OWN_TESTS_INI).write_text("[pytest]\n")
        run = await run_in_workspace(
            runtime, tree, own_tests_command(deliverable), env, "own-tests"
        )
        await runtime.replace_workspace(base)
    return run


def own_tests_verdict(run: WorkspaceRun) -> KindVerdict:
    """`own_tests`: the codebase's original tests pass on the submission."""
    passed = run.returncode == PYTEST_OK
    why = "out of time" if run.returncode is None else f"pytest exit {run.returncode}"
    tail = run.output.strip().splitlines()[-1][:200] if run.output.strip() else ""
    text = f"own_tests: the codebase's original tests {'pass' if passed else 'fail'} ({why})"
    if not passed and tail:
        text += f": {tail}"
    return KindVerdict({"own_tests": float(passed)}, [] if passed else ["own_tests"], text)
