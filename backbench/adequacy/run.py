"""`backbench adequacy`: score generated mutants of each reference through the functional stage.

Per scenario, `jobs` sample sandboxes are opened once and reused: for each mutant the workspace
is emptied and refilled with a mutated copy of the reference, and `start.sh` runs against a new
database (`submission_env` recreates it and empties Redis), exactly as the scorer starts a
submission; then the hidden tests run with the scorer's own pytest invocation. The reference
itself runs first: if it does not pass, no kill means anything and the scenario is a problem.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backbench.adequacy.mutate import Mutant, mutants_of_folder, select_mutants
from backbench.adequacy.report import (
    EQUIVALENT,
    ERROR,
    KILLED,
    KILLED_BY_START,
    SURVIVED,
    Outcome,
    ScenarioReport,
    outcome,
    render_readme,
    run_record,
)
from backbench.catalogue import Scenario, tasks_dir
from backbench.identity import adequacy_sha256
from backbench.model import submission_files
from backbench.runtime import HarnessError
from backbench.sandbox.local import BackbenchSandbox
from backbench.sandbox.namespace import NamespaceSandbox, namespace_support
from backbench.sandbox.paths import empty_folder
from backbench.scoring.functional import functional_stage, functional_verdict
from backbench.scoring.kinds.migration import downgrade_checks, upgrade_checks
from backbench.scoring.kinds.seed import seeded
from backbench.scoring.peers import declared_peers, start_peers
from backbench.scoring.submission import READY_TIMEOUT, start_submission, stop_submission

Echo = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """What to measure and how."""

    scenarios: list[Scenario]
    max_mutants: int | None
    seed: int
    jobs: int
    min_kill_rate: float
    sandbox: str  # namespace | local

    def settings(self) -> dict[str, Any]:
        return {
            "max_mutants": self.max_mutants, "seed": self.seed, "jobs": self.jobs,
            "min_kill_rate": self.min_kill_rate, "sandbox": self.sandbox,
        }  # fmt: skip


@dataclass
class Trial:
    """One submission started and tested in a sandbox."""

    status: (
        str  # killed | killed_by_start | survived | error (for the reference: survived = passed)
    )
    failed_tests: list[str]
    detail: str
    seconds: float


def default_sandbox() -> str:
    """The namespace sandbox where this machine supports it, else the host one."""
    return "namespace" if namespace_support() is None else "local"


async def open_sandbox(scenario: Scenario, kind: str) -> BackbenchSandbox:
    """A sample sandbox for the scenario's services, set up as inspect would."""
    cls = NamespaceSandbox if kind == "namespace" else BackbenchSandbox
    envs = await cls.sample_init("adequacy", None, {"services": ",".join(scenario.services)})
    return envs["default"].as_type(BackbenchSandbox)


async def close_sandbox(env: BackbenchSandbox) -> None:
    """Stop the sandbox's processes and services and remove its files."""
    await type(env).sample_cleanup("adequacy", None, {"default": env}, False)


async def load_workspace(env: BackbenchSandbox, source: Path) -> None:
    """Empty the sandbox's workspace and copy a submission into it, keeping exec bits."""
    workspace = env.host_path(env.sandbox_workspace)
    empty_folder(workspace)
    for rel in submission_files(source):
        await env.write_file(str(rel), (source / rel).read_bytes())
        if (source / rel).stat().st_mode & 0o111:
            env.host_path(f"{env.sandbox_workspace}/{rel}").chmod(0o755)


async def trial(env: BackbenchSandbox, scenario: Scenario, source: Path) -> Trial:
    """Start `source` in the sandbox and run the hidden tests against it, as the scorer does."""
    clock = time.monotonic()
    tool_env: dict[str, str] = {}
    await env.stop_agent_processes()
    await load_workspace(env, source)
    peers = await start_peers(env, declared_peers(scenario), tool_env)
    runtime = seeded(env, scenario)  # a seeded scenario's servers start on its data
    try:
        running = await start_submission(runtime, tool_env, peers.submission_env)
        running.test_env = peers.test_env
    except BaseException:
        await peers.stop()
        raise
    try:
        if not running.ready:
            why = (
                f"start.sh exited with code {running.proc.returncode}"
                if not running.alive
                else f"not ready within {READY_TIMEOUT:.0f} s"
            )
            return Trial(KILLED_BY_START, [], why, time.monotonic() - clock)
        checks = []
        if scenario.kind == "migration":
            # the migration's own checks judge a mutant too, as the scorer runs them
            checks.append(await upgrade_checks(runtime, scenario, running, tool_env))
        evidence = await functional_stage(runtime, scenario.tests_dir, running, tool_env)
        if scenario.kind == "migration":
            code, down = await downgrade_checks(runtime, scenario, running, tool_env)
            if down is None:
                return Trial(
                    KILLED, ["downgrade"], f"downgrade exit {code}", time.monotonic() - clock
                )
            checks.append(down)
    finally:
        await stop_submission(env, running)
        await peers.stop()
        for copy in env.private.glob("functional-*"):  # this trial's copy of the tests
            shutil.rmtree(copy, ignore_errors=True)
    seconds = time.monotonic() - clock
    try:
        verdicts = [functional_verdict(e) for e in (*checks, evidence)]
    except HarnessError as ex:
        return Trial(ERROR, [], str(ex), seconds)
    failed = [case.name for verdict in verdicts for case in verdict.failed]
    wrong = [v for v in verdicts if not v.correct]
    status = KILLED if wrong else SURVIVED
    detail = wrong[0].explanation.splitlines()[0] if wrong else ""
    return Trial(status, failed, detail, seconds)


def mutant_folder(reference: Path, mutant: Mutant, scratch: Path) -> Path:
    """A copy of the reference with the mutant's file replaced."""
    folder = Path(tempfile.mkdtemp(dir=scratch, prefix="mutant-"))
    shutil.copytree(
        reference, folder, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__")
    )
    (folder / mutant.file).write_text(mutant.source, encoding="utf-8")
    return folder


async def measure_scenario(
    scenario: Scenario, plan: Plan, echo: Echo, generated: list[Mutant] | None = None
) -> ScenarioReport:
    """Select and score the mutants of one scenario (generated from its reference by default)."""
    clock = time.monotonic()
    if generated is None:
        generated = mutants_of_folder(scenario.reference_dir, scenario.unmutated)
    chosen = select_mutants(generated, plan.max_mutants, plan.seed)
    # the typed schema has checked every declaration has an id and a one-line reason
    declared = {e.id: e.reason for e in scenario.equivalent_mutants}
    report = ScenarioReport(
        scenario=scenario.id,
        digest=adequacy_sha256(scenario.folder),
        generated=len(generated),
        unknown_equivalents=sorted(set(declared) - {m.id for m in generated}),
    )
    pending = [m for m in chosen if m.id not in declared]
    for mutant in chosen:
        if mutant.id in declared:
            report.outcomes.append(outcome(mutant, EQUIVALENT, detail=declared[mutant.id]))
    echo(f"{scenario.id}: {len(generated)} mutants generated, {len(pending)} to run")
    if pending:
        await _run_pending(scenario, plan, pending, report, echo)
    order = {m.id: i for i, m in enumerate(chosen)}
    report.outcomes.sort(key=lambda o: order[o.id])
    report.seconds = time.monotonic() - clock
    return report


async def _run_pending(
    scenario: Scenario, plan: Plan, pending: list[Mutant], report: ScenarioReport, echo: Echo
) -> None:
    """Check the reference passes, then score the mutants, in sandboxes opened for them."""
    scratch = Path(tempfile.mkdtemp(prefix="backbench-adequacy-"))
    sandboxes: list[BackbenchSandbox] = []
    try:
        for _ in range(min(plan.jobs, len(pending))):
            sandboxes.append(await open_sandbox(scenario, plan.sandbox))
        reference = await trial(sandboxes[0], scenario, scenario.reference_dir)
        report.reference_seconds = reference.seconds
        if reference.status != SURVIVED:
            report.problems.append(f"the reference does not pass: {reference.detail}")
        else:
            report.outcomes += await _score_all(scenario, pending, sandboxes, scratch, echo)
    finally:
        for env in sandboxes:
            await close_sandbox(env)
        shutil.rmtree(scratch, ignore_errors=True)


async def _score_all(
    scenario: Scenario, mutants: list[Mutant], sandboxes: list[BackbenchSandbox], scratch: Path,
    echo: Echo,
) -> list[Outcome]:  # fmt: skip
    queue: asyncio.Queue[Mutant] = asyncio.Queue()
    for mutant in mutants:
        queue.put_nowait(mutant)
    outcomes: list[Outcome] = []

    async def worker(env: BackbenchSandbox) -> None:
        while not queue.empty():
            mutant = queue.get_nowait()
            folder = mutant_folder(scenario.reference_dir, mutant, scratch)
            result = await trial(env, scenario, folder)
            shutil.rmtree(folder, ignore_errors=True)
            outcomes.append(
                outcome(
                    mutant,
                    result.status,
                    failed_tests=result.failed_tests,
                    detail=result.detail,
                    seconds=round(result.seconds, 2),
                )  # fmt: skip
            )
            echo(f"  [{len(outcomes)}/{len(mutants)}] {result.status:<15} {mutant.id}")

    await asyncio.gather(*(worker(env) for env in sandboxes))
    return outcomes


def run_adequacy(plan: Plan, echo: Echo) -> tuple[list[ScenarioReport], dict[str, Any]]:
    """Measure every planned scenario, one after the other."""
    started = datetime.now(UTC)
    clock = time.monotonic()
    reports = [asyncio.run(measure_scenario(s, plan, echo)) for s in plan.scenarios]
    return reports, run_record(reports, started, time.monotonic() - clock, plan.settings())


def write_results(run: dict[str, Any], output: Path, readme: bool) -> Path:
    """Write <output>/<UTC date-time>.json, and the README when the run covers the catalogue."""
    output.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(run["started"]).strftime("%Y-%m-%dT%H-%M-%SZ")
    path = output / f"{stamp}.json"
    path.write_text(json.dumps(run, indent=2) + "\n")
    if readme:
        (output / "README.md").write_text(render_readme(run, path.name))
    return path


def default_output() -> Path:
    """results/adequacy/ of the repository that holds the tasks/ folder."""
    return tasks_dir().parent / "results" / "adequacy"
