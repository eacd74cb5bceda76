"""The backbench scorer: start what the agent built, run every stage, report one dict score."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState
from inspect_ai.util import sandbox

from backbench.catalogue import Scenario, find_scenario
from backbench.runtime import HarnessError, ScoringRuntime, scoring_runtime
from backbench.schema import (
    ConfigDeliverable,
    ReviewDeliverable,
    SpeedupDeliverable,
    SuiteDeliverable,
)
from backbench.scoring.baseline import start_baseline
from backbench.scoring.functional import functional_stage, functional_verdict
from backbench.scoring.kinds import KindVerdict
from backbench.scoring.kinds.config import config_verdict, gather
from backbench.scoring.kinds.migration import downgrade_checks, migration_verdict, upgrade_checks
from backbench.scoring.kinds.repository import own_tests_verdict, run_own_tests
from backbench.scoring.kinds.review import read_answer, read_review, review_verdict
from backbench.scoring.kinds.seed import seeded
from backbench.scoring.kinds.speedup import speedup_verdict
from backbench.scoring.kinds.tests_kind import run_suite, suite_verdict
from backbench.scoring.load_test import (
    LOAD_ATTEMPTS,
    LoadEvidence,
    baseline_failed,
    load_generator_failed,
    load_verdict,
    not_loaded,
    run_load,
)
from backbench.scoring.peers import declared_peers, peer_env_of, start_peers
from backbench.scoring.quality import collect_quality, quality_verdict
from backbench.scoring.quiet import measuring, stage_running
from backbench.scoring.robustness import RobustEvidence, robust_verdict, run_robust
from backbench.scoring.security import (
    SecurityResult,
    bandit_high,
    run_bandit,
    security_stage,
    security_verdict,
    with_probe_errors,
)
from backbench.scoring.static_rules import run_static_rules, static_findings
from backbench.scoring.submission import (
    READY_TIMEOUT,
    RunningSubmission,
    restart_on_fresh_data,
    start_script_problem,
    start_submission,
    stop_submission,
)
from backbench.scoring.uptime import UptimeEvidence, daemonized, probe_health, uptime_verdict
from backbench.scoring.verdict import (
    StageVerdicts,
    failed_kind,
    not_served_score,
    offline_score,
    served_score,
    stopped_score,
)

HEALTH_INTERVAL = 0.5
# a speed-up's load: 0.5 s slices give 16 cycles, where one-sided Mann-Whitney U reaches
# p < 0.05 even with a few cycles out of order
SPEEDUP_LOAD_SECONDS = 8.0
AFTER_LOAD_SECONDS = 1.5
Lap = Callable[[str], None]
# The live stages `-T stages` chooses from: functional always runs (every verdict starts from a
# served, tested submission); robust has a switch of its own. A stage left out scores NaN.
STAGES = ("functional", "security", "load")
SKIPPED_KEYS = {
    "security": ("secure", "correct_secure", "exploits", "bandit_high"),
    "load": ("p50_ms", "p95_ms", "p99_ms", "rps", "error_rate", "p95_ratio", "rps_ratio",
             "uptime", "slo_met"),
}  # fmt: skip


def parse_stages(text: str | list[str]) -> tuple[str, ...]:
    """`all`, or names of STAGES that include functional, comma-separated (inspect's -T hands a
    comma-separated value over as a list); ValueError else."""
    parts = text.split(",") if isinstance(text, str) else [str(t) for t in text]
    names = tuple(n.strip() for n in parts if n.strip())
    if names == ("all",):
        return STAGES
    unknown = [n for n in names if n not in STAGES]
    if unknown or "functional" not in names:
        raise ValueError(
            f"expected all, or names among {', '.join(STAGES)} that include functional"
        )
    return tuple(n for n in STAGES if n in names)


def left_out(value: dict[str, float], stages: tuple[str, ...]) -> dict[str, float]:
    """`value` with the keys of the stages not run set to NaN: no verdict, not a failure."""
    skipped = [k for stage, keys in SKIPPED_KEYS.items() if stage not in stages for k in keys]
    return {k: (float("nan") if k in skipped else v) for k, v in value.items()}


@scorer(metrics={"*": [mean(), stderr()]})
def backbench_scorer(
    load_seconds: float = 10.0, robust: bool = True, load_baseline: str = "reference",
    stages: tuple[str, ...] = STAGES,
) -> Scorer:  # fmt: skip
    """Functional, robust, security, load, uptime and quality stages for one submission.

    Args:
        load_seconds: Duration of the locust load test.
        robust: Run the schemathesis stage (else `robust` is NaN, left out of its mean).
        load_baseline: "reference" measures the scenario's reference beside the submission and
            judges the load by ratios; "none" judges absolute figures.
        stages: The live stages to run (STAGES); the keys of the others are NaN.
    """

    async def score(state: TaskState, target: Target) -> Score:
        scenario = find_scenario(str(state.metadata["scenario"]))
        async with scoring_runtime(sandbox()) as runtime:
            result = await score_submission(
                runtime, scenario, load_seconds, robust, load_baseline == "reference", stages
            )
            (result.metadata or {}).setdefault("timings", {})["sandbox_setup"] = (
                runtime.setup_seconds
            )
            return result

    return score


async def score_submission(
    runtime: ScoringRuntime, scenario: Scenario, load_seconds: float, robust: bool = True,
    baseline: bool = True, stages: tuple[str, ...] = STAGES,
) -> Score:  # fmt: skip
    """Every stage against the submission in `runtime.workspace`."""
    if not scenario.kind_spec.server:
        async with stage_running():
            return await score_offline(runtime, scenario)
    # every database the harness creates for a seeded scenario holds the seed data
    runtime = seeded(runtime, scenario)
    timings: dict[str, float] = {}
    tool_env: dict[str, str] = {}
    clock = time.monotonic()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.monotonic()
        timings[stage] = round(now - clock, 2)
        clock = now

    # nothing the agent left running may change the files or hold the port while it is scored
    await runtime.stop_agent_processes()
    async with stage_running():
        quality, quality_text = quality_verdict(
            await collect_quality(runtime, tool_env, runtime.private)
        )
        # bandit's findings count toward `secure`, which only the security stage decides
        bandit, static = {}, {}
        if "security" in stages:
            bandit = await run_bandit(runtime, tool_env, runtime.private)
            static = await run_static_rules(runtime, tool_env, runtime.private)
    lap("static")

    before: KindVerdict | None = None
    if scenario.kind == "repository":
        # the codebase's original tests over the submitted code, before its server starts
        async with stage_running():
            before = own_tests_verdict(await run_own_tests(runtime, scenario))
        lap("own_tests")

    problem = start_script_problem(runtime.workspace)
    if problem:
        return _not_served(problem, quality, quality_text, bandit, timings, scenario, before)

    async with stage_running():
        peers = await start_peers(runtime, declared_peers(scenario), tool_env)
        try:
            running = await start_submission(runtime, tool_env, peers.submission_env)
            running.test_env = peers.test_env
        except BaseException:
            await peers.stop()
            raise
    lap("start")
    try:
        if running.ready:
            score = await _score_live(
                runtime, scenario, running, load_seconds, tool_env, (quality, quality_text),
                bandit, lap, robust, baseline, stages, before, static,
            )  # fmt: skip
            score.metadata = {**(score.metadata or {}), "timings": timings}
        else:
            why = (
                f"start.sh exited with code {running.proc.returncode} before its port accepted"
                if not running.alive
                else f"the server did not accept connections on $PORT within {READY_TIMEOUT:.0f} s"
            )
            score = _not_served(why, quality, quality_text, bandit, timings, scenario, before)
    finally:
        await stop_submission(runtime, running)
        await peers.stop()
    # read after the stop: a sandbox may hand the log over only then
    score.metadata = {**(score.metadata or {}), "server_log": running.log_tail(3000)}
    return score


async def _score_live(
    runtime: ScoringRuntime, scenario: Scenario, running: RunningSubmission, load_seconds: float,
    tool_env: dict[str, str], quality: tuple[float, str], bandit: dict[str, Any], lap: Lap,
    robust_stage: bool = True, baseline: bool = True, stages: tuple[str, ...] = STAGES,
    before: KindVerdict | None = None, static: dict[str, Any] | None = None,
) -> Score:  # fmt: skip
    kind: KindVerdict | None = before  # a check judged before the server started
    upgraded = None
    if scenario.kind == "migration":
        # before any hidden test writes: the seeded rows as the upgrade left them
        async with stage_running():
            upgraded = await upgrade_checks(runtime, scenario, running, tool_env)
        lap("migration_up")
    async with stage_running():
        functional_evidence = await functional_stage(runtime, scenario.tests_dir, running, tool_env)
    functional = functional_verdict(functional_evidence)
    lap("functional")
    if functional.out_of_time:
        # a server that cannot answer the tests in time cannot be fuzzed, probed or loaded in
        # time either: the later stages would only stretch the sample's scoring
        stopped = before or (failed_kind(scenario.kind) if scenario.kind != "service" else None)
        value, explanation = stopped_score(functional, *quality, len(bandit_high(bandit)), stopped)
        return Score(
            value=value, answer="start.sh", explanation=explanation,
            metadata={"failed_tests": [asdict(c) for c in functional.failed],
                      "passed_tests": functional.passed,
                      "test_output": functional_evidence.output_tail[-3000:]},
        )  # fmt: skip

    # the server's output while the hidden tests ran: the restart below starts a new log
    tested_log = running.log_tail(3000)
    if upgraded is not None:
        async with stage_running():
            code, downgraded = await downgrade_checks(runtime, scenario, running, tool_env)
        kind = migration_verdict(upgraded, code, downgraded)
        lap("migration_down")
        if not robust_stage:
            # the downgrade stopped the server: the later stages score it started again
            async with stage_running():
                await restart_on_fresh_data(
                    runtime, running, tool_env, runtime.private / "server-after-downgrade.log"
                )
    robust_evidence = RobustEvidence(operations=[])
    robust, robust_text = float("nan"), "robust: not run (-T robust=false)"
    if robust_stage:
        # the cases draw ids from the answers: on the data the tests left (random names, and
        # as many rows as their timing made) the same contract would give other cases each run
        async with stage_running():
            await restart_on_fresh_data(
                runtime, running, tool_env, runtime.private / "server-robust.log"
            )
        lap("restart")
        if running.ready:
            async with stage_running():
                robust_evidence = await run_robust(
                    runtime, running.base_url, scenario.openapi_file, tool_env,
                    scenario.load.get("jwt"),
                )  # fmt: skip
            robust, robust_text = robust_verdict(robust_evidence)
        else:
            robust, robust_text = (
                0.0,
                "robust: 0, the server did not start again on an empty database",
            )
        lap("robust")

    probe_evidence: list[dict[str, Any]] = []
    security = SecurityResult(explanation=f"security: not run (-T stages={','.join(stages)})")
    if "security" in stages:
        async with stage_running():
            probe_evidence = await security_stage(runtime, running, scenario.probes, tool_env)
        security = security_verdict(probe_evidence, bandit, static)
        robust, robust_text = with_probe_errors(robust, robust_text, probe_evidence)
        lap("security")

    load_evidence = LoadEvidence(returncode=0, aggregated=None, seconds=0.0)
    probes: list[dict[str, Any]] = []
    load = not_loaded(f"load and uptime: not run (-T stages={','.join(stages)})")
    uptime, uptime_text, gone = float("nan"), "", False
    quiet_wait = float("nan")
    if "load" in stages:
        # a speed-up's significance test needs the machine to itself (backbench.scoring.quiet)
        hold = measuring() if scenario.kind == "speedup" else stage_running()
        async with hold as waited:
            load_evidence, probes = await load_stage(
                runtime, scenario, running, load_seconds, tool_env, baseline
            )
        quiet_wait = round(waited, 2)
        load = load_verdict(
            load_evidence, scenario.slo,
            "the starting code" if scenario.kind == "speedup" else "reference",
        )  # fmt: skip
        if isinstance(scenario.deliverable, SpeedupDeliverable):
            kind = speedup_verdict(
                load_evidence.cycle_p95, scenario.deliverable.required,
                scenario.deliverable.alpha,
            )  # fmt: skip
        await running.refresh()
        uptime_evidence = UptimeEvidence(probes, running.alive)
        uptime, uptime_text = uptime_verdict(uptime_evidence)
        gone = daemonized(uptime_evidence)
        lap("load")

    value, explanation = served_score(
        StageVerdicts(
            functional, security, load, uptime, uptime_text, gone, *quality,
            robust=robust, robust_text=robust_text, kind=kind,
        )
    )  # fmt: skip
    value = left_out(value, stages)
    metadata = {
        "failed_tests": [asdict(c) for c in functional.failed],
        "passed_tests": functional.passed,
        "exploited_probes": security.exploited,
        "probe_evidence": probe_evidence,
        "robust_evidence": [asdict(op) for op in robust_evidence.operations],
        "robust_cases_sha256": robust_evidence.cases_sha256 if robust_evidence.operations else "",
        "server_log_during_tests": tested_log,
        "bandit_high_findings": [
            {k: r.get(k) for k in ("test_id", "filename", "line_number", "issue_text")}
            for r in bandit_high(bandit)
        ],
        "static_findings": [asdict(a) for a in static_findings(static or {})],
        "load": asdict(load),
        "load_stats": load_evidence.aggregated,
        "baseline_load_stats": load_evidence.baseline,
        "health_probes": len(probes),
        "slo": scenario.slo,
        "ready_seconds": running.ready_seconds,
        "test_output": functional_evidence.output_tail[-3000:],
        "control_ops": functional_evidence.control_ops,
        "restored_after_functional": functional_evidence.restored,
        "failed_checks": kind.failed if kind else [],
        # how long the load stage waited for the other samples' stages to end
        "load_wait_seconds": quiet_wait,
    }
    return Score(value=value, answer="start.sh", explanation=explanation, metadata=metadata)


async def load_stage(
    runtime: ScoringRuntime, scenario: Scenario, running: RunningSubmission, load_seconds: float,
    tool_env: dict[str, str], baseline: bool,
) -> tuple[LoadEvidence, list[dict[str, Any]]]:  # fmt: skip
    """Locust's figures, with the reference's beside them when `baseline`, and the health
    probes made meanwhile. A load generator or reference that failed is retried once, then
    the harness's error: never a score."""
    # a scenario without a reference (a test's own) has nothing to load beside the submission;
    # a speed-up is judged beside its starting code whatever -T load_baseline says, over enough
    # cycles for its significance test whatever -T load_seconds says
    beside = (baseline or scenario.kind == "speedup") and scenario.baseline_dir.is_dir()
    if scenario.kind == "speedup":
        load_seconds = max(load_seconds, SPEEDUP_LOAD_SECONDS)
    reference = (
        await start_baseline(runtime, scenario, tool_env, peer_env_of(running.env))
        if beside
        else None
    )
    try:
        for attempt in range(LOAD_ATTEMPTS):
            health_task = asyncio.create_task(
                probe_health(
                    runtime, running.base_url,
                    load_seconds * (2 if reference else 1) + AFTER_LOAD_SECONDS,
                    HEALTH_INTERVAL, tool_env, runtime.private,
                )
            )  # fmt: skip
            evidence = await run_load(
                runtime, running.base_url, scenario.load, load_seconds, tool_env,
                reference.base_url if reference else "",
            )  # fmt: skip
            probes = await health_task
            why = baseline_failed(evidence) or (
                "locust completed no request while the server answered its health checks"
                if load_generator_failed(evidence, probes)
                else ""
            )
            if not why:
                return evidence, probes
            if attempt == LOAD_ATTEMPTS - 1:
                raise HarnessError(f"{why}, twice: {evidence.output_tail[-400:]}")
    finally:
        if reference:
            await reference.proc.kill()  # not stop_submission: that sweeps the agent's processes
    raise AssertionError("unreachable")


def _not_served(
    why: str, quality: float, quality_text: str, bandit: dict[str, Any],
    timings: dict[str, float], scenario: Scenario, before: KindVerdict | None = None,
) -> Score:  # fmt: skip
    kind = before or (failed_kind(scenario.kind) if scenario.kind != "service" else None)
    value, explanation = not_served_score(
        why, quality, quality_text, len(bandit_high(bandit)), kind
    )
    return Score(
        value=value,
        answer="",
        explanation=explanation,
        metadata={"not_served": why, "timings": timings,
                  "failed_checks": kind.failed if kind else []},
    )  # fmt: skip


async def score_offline(runtime: ScoringRuntime, scenario: Scenario) -> Score:
    """A kind whose deliverable is not a running service: its own checks decide."""
    started = time.monotonic()
    await runtime.stop_agent_processes()
    deliverable = scenario.deliverable
    metadata: dict[str, Any] = {}
    if isinstance(deliverable, ReviewDeliverable):
        answer = read_answer(scenario.folder / "review.yaml")
        kind = review_verdict(
            read_review(runtime.workspace, deliverable.output), answer,
            deliverable.min_recall, deliverable.min_precision,
        )  # fmt: skip
    elif isinstance(deliverable, ConfigDeliverable):
        kind = config_verdict(await gather(seeded(runtime, scenario), scenario), deliverable)
    elif isinstance(deliverable, SuiteDeliverable):
        evidence = await run_suite(runtime, scenario, runtime.app_secret)
        kind = suite_verdict(evidence, deliverable)
        metadata["suite_runs"] = [asdict(r) for r in evidence.runs]
    else:
        raise HarnessError(f"no offline scorer for kind {scenario.kind!r}")
    value, explanation = offline_score(kind)
    metadata["failed_checks"] = kind.failed
    metadata["timings"] = {scenario.kind: round(time.monotonic() - started, 2)}
    return Score(value=value, answer=deliverable.kind, explanation=explanation, metadata=metadata)
