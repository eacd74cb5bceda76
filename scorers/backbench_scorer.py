"""The backbench scorer: start what the agent built, run every stage, report one dict score."""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict
from typing import Any

from inspect_ai.scorer import Score, Scorer, Target, mean, scorer, stderr
from inspect_ai.solver import TaskState
from inspect_ai.util import sandbox

from backbench.catalogue import Scenario, find_scenario
from backbench.sandbox import BackbenchSandbox
from scorers.exec_runtime import ExecScoringRuntime, config_for
from scorers.functional import functional_verdict, run_functional
from scorers.load_test import NO_RESPONSE_MS, load_verdict, run_load
from scorers.quality import collect_quality, quality_verdict
from scorers.runtime import ScoringRuntime
from scorers.security import bandit_high, run_bandit, run_probes, security_verdict
from scorers.submission import (
    READY_TIMEOUT,
    RunningSubmission,
    start_script_problem,
    start_submission,
    stop_submission,
)
from scorers.uptime import UptimeEvidence, daemonized, probe_health, uptime_verdict

SCORE_KEYS = [
    "correct", "functional", "secure", "correct_secure", "exploits", "bandit_high",
    "p50_ms", "p95_ms", "p99_ms", "rps", "error_rate", "uptime", "quality", "slo_met",
]  # fmt: skip
HEALTH_INTERVAL = 0.5
AFTER_LOAD_SECONDS = 1.5


def not_served_values(quality: float, bandit_high: int) -> dict[str, float]:
    """Score values for a submission whose server never became ready."""
    return {
        "correct": 0, "functional": 0.0, "secure": 0, "correct_secure": 0, "exploits": 0,
        "bandit_high": bandit_high, "p50_ms": NO_RESPONSE_MS, "p95_ms": NO_RESPONSE_MS,
        "p99_ms": NO_RESPONSE_MS, "rps": 0.0, "error_rate": 1.0, "uptime": 0.0,
        "quality": quality, "slo_met": 0,
    }  # fmt: skip


@scorer(metrics={"*": [mean(), stderr()]})
def backbench_scorer(load_seconds: float = 10.0) -> Scorer:
    """Functional, security, load, uptime and quality stages for one submission.

    Args:
        load_seconds: Duration of the locust load test.
    """

    async def score(state: TaskState, target: Target) -> Score:
        scenario = find_scenario(str(state.metadata["scenario"]))
        environment = sandbox()
        try:
            # inspect hands out a proxy that logs events: as_type reaches the sandbox itself
            own = environment.as_type(BackbenchSandbox)
        except TypeError:
            own = None
        if own is not None:
            score = await score_submission(own, scenario, load_seconds)
            timings = (score.metadata or {}).get("timings", {})
            timings["sandbox_setup"] = own.setup_seconds
            return score
        # docker, k8s or any other sandbox: the harness's tools run inside it
        runtime = ExecScoringRuntime(environment, config_for(environment))
        try:
            await runtime.prepare()
            return await score_submission(runtime, scenario, load_seconds)
        finally:
            runtime.close()

    return score


async def score_submission(
    runtime: ScoringRuntime, scenario: Scenario, load_seconds: float
) -> Score:
    """Every stage against the submission in `runtime.workspace`."""
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
    quality_evidence = await collect_quality(runtime, tool_env, runtime.private)
    quality, quality_text = quality_verdict(quality_evidence)
    bandit = await run_bandit(runtime, tool_env, runtime.private)
    lap("static")

    problem = start_script_problem(runtime.workspace)
    if problem:
        return _not_served(problem, quality, quality_text, bandit_high_count(bandit), timings)

    running = await start_submission(runtime, tool_env)
    lap("start")
    try:
        if running.ready:
            score = await _score_live(
                runtime, scenario, running, load_seconds, tool_env, quality, quality_text, bandit,
                lap, timings,
            )  # fmt: skip
        else:
            why = (
                f"start.sh exited with code {running.proc.returncode} before its port accepted"
                if not running.alive
                else f"the server did not accept connections on $PORT within {READY_TIMEOUT:.0f} s"
            )
            score = _not_served(why, quality, quality_text, bandit_high_count(bandit), timings)
    finally:
        await stop_submission(runtime, running)
    # read after the stop: a sandbox may hand the log over only then
    score.metadata = {**(score.metadata or {}), "server_log": running.log_tail(3000)}
    return score


async def _score_live(
    runtime: ScoringRuntime, scenario: Scenario, running: RunningSubmission, load_seconds: float,
    tool_env: dict[str, str], quality: float, quality_text: str, bandit: dict[str, Any],
    lap: Any, timings: dict[str, float],
) -> Score:  # fmt: skip
    test_env = {
        **tool_env,
        "BASE_URL": running.base_url,
        "APP_SECRET": runtime.app_secret,
        **{k: v for k, v in running.env.items() if k in ("DATABASE_URL", "REDIS_URL")},
    }
    functional_evidence = await run_functional(runtime, scenario.tests_dir, test_env)
    functional = functional_verdict(functional_evidence)
    lap("functional")

    probe_evidence = await run_probes(
        runtime, running.base_url, scenario.probes, tool_env, runtime.private
    )
    security = security_verdict(probe_evidence, bandit)
    lap("security")

    health_task = asyncio.create_task(
        probe_health(
            runtime, running.base_url, load_seconds + AFTER_LOAD_SECONDS, HEALTH_INTERVAL,
            tool_env, runtime.private,
        )
    )  # fmt: skip
    load_evidence = await run_load(runtime, running.base_url, scenario.load, load_seconds, tool_env)
    probes = await health_task
    load = load_verdict(load_evidence, scenario.slo)
    await running.refresh()
    uptime_evidence = UptimeEvidence(probes, running.alive)
    uptime, uptime_text = uptime_verdict(uptime_evidence)
    lap("load")

    secure = int(not security.exploited and security.bandit_high == 0)
    correct = int(functional.correct and not daemonized(uptime_evidence))
    if daemonized(uptime_evidence):
        uptime_text += (
            "; correct=0: start.sh exited while its server kept answering (daemonized); "
            "the contract asks for a server in the foreground"
        )
    value: dict[str, float] = {
        "correct": correct,
        "functional": round(functional.fraction, 4),
        "secure": secure,
        "correct_secure": correct * secure,
        "exploits": len(security.exploited),
        "bandit_high": security.bandit_high,
        "p50_ms": load.p50_ms,
        "p95_ms": load.p95_ms,
        "p99_ms": load.p99_ms,
        "rps": load.rps,
        "error_rate": load.error_rate,
        "uptime": uptime,
        "quality": quality,
        "slo_met": int(load.slo_met),
    }
    explanation = "\n".join(
        [functional.explanation, security.explanation, load.explanation, uptime_text, quality_text]
    )
    metadata = {
        "failed_tests": [asdict(c) for c in functional.failed],
        "passed_tests": functional.passed,
        "exploited_probes": security.exploited,
        "probe_evidence": probe_evidence,
        "bandit_high_findings": [
            {k: r.get(k) for k in ("test_id", "filename", "line_number", "issue_text")}
            for r in bandit.get("results", [])
            if r.get("issue_severity") == "HIGH"
        ],
        "load": asdict(load),
        "load_stats": load_evidence.aggregated,
        "health_probes": len(probes),
        "slo": scenario.slo,
        "ready_seconds": running.ready_seconds,
        "timings": timings,
        "test_output": functional_evidence.output_tail[-3000:],
    }
    return Score(value=value, answer="start.sh", explanation=explanation, metadata=metadata)


def bandit_high_count(bandit: dict[str, Any]) -> int:
    """High-severity bandit findings in a report."""
    return len(bandit_high(bandit))


def _not_served(
    why: str, quality: float, quality_text: str, bandit_high: int, timings: dict[str, float]
) -> Score:
    explanation = (
        f"not served: {why}; every functional test counts as failed, no load or security "
        f"test could run.\n{quality_text}"
    )
    return Score(
        value=not_served_values(quality, bandit_high),
        answer="",
        explanation=explanation,
        metadata={"not_served": why, "timings": timings},
    )
