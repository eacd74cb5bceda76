"""The kinds that run the agent's own code, in real sandboxes, in both directions."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from backbench.catalogue import find_scenario
from backbench.sandbox.local import BackbenchSandbox
from backbench.schema import SuiteDeliverable
from backbench.scoring.kinds.tests_kind import run_suite, suite_verdict
from tests.conftest import mutant_copy, requires_namespace, write_submission

pytestmark = [pytest.mark.anyio, requires_namespace]
MakeSandbox = Callable[..., Awaitable[BackbenchSandbox]]
SUITE = find_scenario("rates-client-tests")
MUTANTS = 4  # the runner over a few generated mutants; validate runs the scenario's full count


async def _suite(
    make: MakeSandbox, source: Path, tmp_path: Path
) -> tuple[list[str], dict[str, float]]:
    env = await make(SUITE)
    workspace = tmp_path / "workspace"
    shutil.copytree(SUITE.files_dir, workspace)
    shutil.copytree(source, workspace, dirs_exist_ok=True)
    await write_submission(env, workspace)
    evidence = await run_suite(env, SUITE, env.app_secret, limit=MUTANTS)
    deliverable = SUITE.deliverable
    assert isinstance(deliverable, SuiteDeliverable)
    # the workspace is left as it was submitted
    assert (env.workspace / "tests").is_dir() and not (
        env.workspace / ".backbench-coveragerc"
    ).exists()
    verdict = suite_verdict(evidence, deliverable)
    return verdict.failed, verdict.values


async def test_the_reference_suite_passes_covers_and_kills(
    sandbox_for: MakeSandbox, tmp_path: Path
) -> None:
    failed, values = await _suite(sandbox_for, SUITE.reference_dir, tmp_path)
    assert failed == [] and values["mutants_run"] == MUTANTS and values["coverage"] > 0.9


@pytest.mark.parametrize(
    ("mutant", "check"),
    [("asserts-nothing", "mutation_kill"), ("fingerprints-source", "tests_pass")],
)
async def test_a_suite_that_asserts_nothing_or_reads_the_source_fails(
    sandbox_for: MakeSandbox, tmp_path: Path, mutant: str, check: str
) -> None:
    source = mutant_copy(SUITE, mutant, tmp_path / "mutants")
    failed, _ = await _suite(sandbox_for, source, tmp_path)
    assert check in failed


async def test_the_history_bundle_becomes_the_workspaces_repository(
    sandbox_for: MakeSandbox,
) -> None:
    from backbench.scoring.kinds.seed import HISTORY_BUNDLE, UNBUNDLE

    scenario = find_scenario("library-loans-extension")
    env = await sandbox_for(scenario)
    await write_submission(env, scenario.files_dir)
    assert (await env.exec(["sh", "-c", UNBUNDLE])).success
    log = await env.exec(["git", "log", "--oneline"])
    status = await env.exec(["git", "status", "--porcelain"])
    assert log.success and len(log.stdout.splitlines()) >= 4
    assert status.success and status.stdout == ""  # the tip's tree is the starting code
    assert not (env.workspace / HISTORY_BUNDLE).exists()


@pytest.mark.parametrize("weakened", [False, True], ids=["as-is", "tests-weakened"])
async def test_the_original_tests_judge_the_code_whatever_the_agent_did_to_them(
    sandbox_for: MakeSandbox, tmp_path: Path, weakened: bool
) -> None:
    from backbench.scoring.kinds.repository import own_tests_verdict, run_own_tests

    scenario = find_scenario("library-loans-extension")
    reference = await sandbox_for(scenario)
    await write_submission(reference, scenario.reference_dir)
    assert own_tests_verdict(await run_own_tests(reference, scenario)).passed

    broken = mutant_copy(scenario, "breaks-existing-books", tmp_path / "mutants")
    if weakened:  # the agent's copy of the failing test asserts nothing; the original comes back
        for test in (broken / "tests").glob("test_books.py"):
            test.write_text("def test_nothing():\n    pass\n")
    env = await sandbox_for(scenario)
    await write_submission(env, broken)
    verdict = own_tests_verdict(await run_own_tests(env, scenario))
    assert verdict.failed == ["own_tests"]
    if weakened:  # the workspace is left as the agent submitted it
        assert "test_nothing" in (env.workspace / "tests" / "test_books.py").read_text()
