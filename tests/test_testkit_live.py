"""The test kit live: its fixtures against the inventory reference, in real sandboxes.

The namespace sandbox (control channel served by the harness) and the exec runtime over
inspect's `local` sandbox (control channel served by the supervisor inside it).
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from backbench.catalogue import Scenario
from backbench.runtime import ScoringRuntime
from backbench.sandbox.local import BackbenchSandbox
from backbench.scoring.functional import (
    FunctionalEvidence,
    functional_stage,
    functional_verdict,
    parse_junit,
)
from backbench.scoring.submission import start_submission, stop_submission
from tests.conftest import requires_namespace, write_submission

pytestmark = pytest.mark.anyio
CASES = Path(__file__).parent / "testkit_cases"
MakeSandbox = Callable[..., Awaitable[BackbenchSandbox]]


def kit_submission(scenario: Scenario, dest: Path) -> Path:
    """The scenario's reference, its start.sh saying first which port it starts on."""
    target = Path(shutil.copytree(scenario.reference_dir, dest / "submission"))
    start = target / "start.sh"
    lines = start.read_text().splitlines()
    lines.insert(3, 'echo "started on $PORT"')
    start.write_text("\n".join(lines) + "\n")
    return target


def kit_scenario(scenario: Scenario, tmp: Path) -> Scenario:
    """The scenario with the kit's own test file as its hidden tests, and Redis."""
    folder = tmp / "scenario"
    shutil.copytree(CASES, folder / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    return dataclasses.replace(scenario, folder=folder, services=["postgres", "redis"])


async def run_kit(runtime: ScoringRuntime, scenario: Scenario) -> FunctionalEvidence:
    running = await start_submission(runtime, {})
    assert running.ready, running.log_tail()
    try:
        evidence = await functional_stage(runtime, scenario.tests_dir, running, {})
        await running.refresh()
        assert running.alive, "the harness left the submission down after the tests"
    finally:
        await stop_submission(runtime, running)
    return evidence


def assert_kit_passed(evidence: FunctionalEvidence) -> None:
    print(evidence.output_tail)
    assert evidence.junit_xml, evidence.output_tail
    cases = {c.name: c for c in parse_junit(evidence.junit_xml)}
    assert cases.pop("test_peers_skip_without_peers").outcome == "skipped"
    failed = {n: c.message[:300] for n, c in cases.items() if c.outcome != "passed"}
    assert not failed, (failed, evidence.output_tail)
    assert functional_verdict(evidence).correct
    assert any(op.startswith("restart") for op in evidence.control_ops)
    assert any(op.startswith("service") for op in evidence.control_ops)


@requires_namespace
async def test_kit_in_namespace_sandbox(
    sandbox_for: MakeSandbox, inventory: Scenario, tmp_path: Path
) -> None:
    scenario = kit_scenario(inventory, tmp_path)
    env = await sandbox_for(scenario)
    await write_submission(env, kit_submission(inventory, tmp_path))
    evidence = await run_kit(env, scenario)
    assert_kit_passed(evidence)
    assert not evidence.submission_replaced
