"""The test kit live: its fixtures against the inventory reference, in real sandboxes.

The namespace sandbox (control channel served by the harness) and the exec runtime over
inspect's `local` sandbox (control channel served by the supervisor inside it).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from backbench.catalogue import Scenario
from backbench.runtime import ScoringRuntime
from backbench.sandbox.local import BackbenchSandbox
from backbench.sandbox.services import SERVICE_USER, SampleServices, _pg_bin
from backbench.scoring.functional import (
    FunctionalEvidence,
    functional_stage,
    functional_verdict,
    parse_junit,
)
from backbench.scoring.submission import start_submission, stop_submission
from tests.conftest import requires_namespace, runtime_for, write_submission

pytestmark = pytest.mark.anyio
CASES = Path(__file__).parent / "testkit_cases"
MakeSandbox = Callable[..., Awaitable[BackbenchSandbox]]


def kit_submission(scenario: Scenario, dest: Path) -> Path:
    """The scenario's reference, its start.sh saying first which port it starts on."""
    target = Path(shutil.copytree(scenario.reference_dir, dest / "submission"))
    start = target / "start.sh"
    lines = start.read_text().splitlines()
    lines.insert(3, 'echo "started on $PORT${BB_KIT_NOTE:+ with $BB_KIT_NOTE}"')
    # a worker beside the server, in its process group, for the processes and kill_process ops
    lines.insert(4, "(exec -a bb-kit-worker sleep 600 >/dev/null 2>&1) &")
    start.write_text("\n".join(lines) + "\n")
    return target


def kit_scenario(scenario: Scenario, tmp: Path) -> Scenario:
    """The scenario with the kit's own test file as its hidden tests, and Redis."""
    folder = tmp / "scenario"
    (folder / "tests").mkdir(parents=True)
    # kept under another name in the repository, so the repository's own test run skips it
    shutil.copyfile(CASES / "kit_fixtures_case.py", folder / "tests" / "test_kit_fixtures.py")
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


def assert_kit_passed(
    evidence: FunctionalEvidence, expected_failures: frozenset[str] | set[str] = frozenset()
) -> None:
    assert evidence.junit_xml, evidence.output_tail
    cases = {c.name: c for c in parse_junit(evidence.junit_xml)}
    assert cases.pop("test_peers_skip_without_peers").outcome == "skipped"
    failed = {n: c.message[:300] for n, c in cases.items() if c.outcome != "passed"}
    assert set(failed) == set(expected_failures), (
        [c.message for c in cases.values()],
        evidence.output_tail,
    )
    assert functional_verdict(evidence).correct == (not expected_failures)
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


def pg_ctl_commands(services: SampleServices) -> dict[str, list[str]]:
    """Stop / start the test's PostgreSQL from another process, as a sandbox's root would."""
    as_service = ["runuser", "-u", SERVICE_USER, "--"] if os.geteuid() == 0 else []
    options = f"-p {services.postgres_port} -h {services.host} -k {services.sockets()} -c fsync=off"
    pg_ctl = [*as_service, _pg_bin("pg_ctl"), "-D", str(services.pgdata), "-w", "-t", "30"]
    return {
        "stop": [*pg_ctl, "-m", "fast", "stop"],
        "start": [*pg_ctl, "-l", str(services.root / "pg_ctl.log"), "-o", options, "start"],
    }


async def test_kit_through_exec_runtime(
    exec_services: SampleServices, inventory: Scenario, tmp_path: Path
) -> None:
    services = exec_services
    scenario = kit_scenario(inventory, tmp_path)
    runtime = await runtime_for(services, kit_submission(inventory, tmp_path), tmp_path)
    # the superuser, as the docker image's POSTGRES_USER is (over the socket: trust)
    superuser = (
        f"postgresql://postgres@/postgres?host={services.sockets()}&port={services.postgres_port}"
    )
    runtime.config = dataclasses.replace(
        runtime.config,
        database_url=superuser,
        service_commands={"postgres": pg_ctl_commands(services)},
    )
    try:
        evidence = await run_kit(runtime, scenario)
    finally:
        runtime.close()
    # Redis has no stop/start commands here: the test fails with the channel's reason
    cases = {c.name: c for c in parse_junit(evidence.junit_xml or "<testsuites/>")}
    redis_case = cases["test_redis_stop_and_start"]
    assert redis_case.outcome == "failed" and "cannot be stopped" in redis_case.message
    assert evidence.submission_replaced and evidence.restored
    assert_kit_passed(evidence, expected_failures={"test_redis_stop_and_start"})
