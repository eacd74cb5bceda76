"""Load stage: locust headless, as a subprocess, with the scenario's profile."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backbench.runtime import HarnessError, ScoringRuntime

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Latency of a server that answered no load request: not a number, so that inspect leaves the
# sample out of the latency means (a made-up figure would drag them); also a ratio not measured.
NO_LATENCY = float("nan")
LOAD_ATTEMPTS = 2
# The length of one server's slice when the reference is measured beside the submission, chosen
# by measurement (README, "Load figures as ratios"); scripts/benchmark.py sets others to compare.
SLICE_SECONDS = float(os.environ.get("BACKBENCH_LOAD_SLICE_SECONDS", "0.5"))
# The window starts at the first answered request (see locustfile.py); -t caps the whole run.
STARTUP_ALLOWANCE = 30


@dataclass
class LoadEvidence:
    """Each server's figures in the column names of locust's aggregated statistics (None when
    it answered no request): the submission's and, measured beside it, the reference's."""

    returncode: int
    aggregated: dict[str, str] | None
    seconds: float
    output_tail: str = ""
    baseline: dict[str, str] | None = None
    slices: int = 0
    # per cycle, the submission's and the reference's p95 in their pair of slices
    cycle_p95: list[list[float | None]] = field(default_factory=list)


@dataclass
class LoadResult:
    """The load verdict: latency percentiles, throughput, errors, ratios to the reference, and
    the SLO check."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    error_rate: float
    requests: int
    slo_met: bool
    slo_misses: list[str] = field(default_factory=list)
    explanation: str = ""
    # submission over reference, measured in the same slices of time; NaN without a reference
    p95_ratio: float = NO_LATENCY
    rps_ratio: float = NO_LATENCY
    baseline_p95_ms: float = NO_LATENCY
    baseline_rps: float = NO_LATENCY
    # the median over cycles of each cycle's p95 ratio (reported, not scored)
    p95_ratio_cycles: float = NO_LATENCY


def not_loaded(explanation: str) -> LoadResult:
    """The load verdict of a stage that did not run: no figures, no SLO verdict."""
    return LoadResult(
        NO_LATENCY, NO_LATENCY, NO_LATENCY, NO_LATENCY, NO_LATENCY, 0, False,
        explanation=explanation,
    )  # fmt: skip


def _requests(row: dict[str, str] | None) -> int:
    return int(row["Request Count"]) if row else 0


def median_cycle_ratio(cycle_p95: list[list[float | None]]) -> float:
    """The median of each cycle's submission-over-reference p95, over the cycles with both."""
    ratios = [a / max(b, 0.01) for a, b in (c[:2] for c in cycle_p95) if a and b]
    return round(statistics.median(ratios), 3) if ratios else NO_LATENCY


def baseline_failed(evidence: LoadEvidence) -> str:
    """Why the reference's figures cannot serve as a baseline, or "": the harness's fault."""
    if evidence.baseline is None:
        return ""
    if _requests(evidence.baseline) == 0:
        return "the reference answered no load request"
    if int(evidence.baseline["Failure Count"]):
        return f"the reference failed {evidence.baseline['Failure Count']} load requests"
    return ""


def load_verdict(
    evidence: LoadEvidence, slo: dict[str, float], baseline_name: str = "reference"
) -> LoadResult:
    """Percentiles, requests/s and error rate from the load figures, checked against the SLO:
    as ratios to the reference when it was measured beside the submission, else absolute."""
    row = evidence.aggregated
    requests = _requests(row)
    if not row or requests == 0:
        return LoadResult(
            NO_LATENCY, NO_LATENCY, NO_LATENCY, 0.0, 1.0, 0, False,
            ["no request completed"], "load: no request completed",
        )  # fmt: skip
    failures = int(row["Failure Count"])
    result = LoadResult(
        p50_ms=float(row["50%"]),
        p95_ms=float(row["95%"]),
        p99_ms=float(row["99%"]),
        rps=round(float(row["Requests/s"]), 2),
        error_rate=round(failures / requests, 4),
        requests=requests,
        slo_met=True,
    )
    base = evidence.baseline
    if base and _requests(base):
        result.baseline_p95_ms = float(base["95%"])
        result.baseline_rps = round(float(base["Requests/s"]), 2)
        # a reference faster than the clock's resolution would make any ratio infinite
        result.p95_ratio = round(result.p95_ms / max(result.baseline_p95_ms, 0.01), 3)
        result.rps_ratio = round(float(row["Requests/s"]) / float(base["Requests/s"]), 3)
        result.p95_ratio_cycles = median_cycle_ratio(evidence.cycle_p95)
        if "p95_ratio" in slo and result.p95_ratio > slo["p95_ratio"]:
            result.slo_misses.append(f"p95 ratio {result.p95_ratio:.2f} > {slo['p95_ratio']}")
        if "rps_ratio" in slo and result.rps_ratio < slo["rps_ratio"]:
            result.slo_misses.append(f"rps ratio {result.rps_ratio:.2f} < {slo['rps_ratio']}")
    elif "p95_ms" in slo and result.p95_ms > slo["p95_ms"]:
        result.slo_misses.append(f"p95 {result.p95_ms:.0f} ms > {slo['p95_ms']:.0f} ms")
    if "error_rate" in slo and result.error_rate > slo["error_rate"]:
        result.slo_misses.append(f"error rate {result.error_rate:.3f} > {slo['error_rate']}")
    result.slo_met = not result.slo_misses
    beside = (
        f"; {baseline_name} beside it: p95 {result.baseline_p95_ms:.0f} ms, {result.baseline_rps} "
        f"req/s (p95 ratio {result.p95_ratio:.2f}, rps ratio {result.rps_ratio:.2f}, "
        f"{evidence.slices} slices)"
        if base
        else ""
    )
    result.explanation = (
        f"load: {requests} requests in {evidence.seconds:.0f}s, {result.rps} req/s, "
        f"p50 {result.p50_ms:.0f} ms, p95 {result.p95_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, "
        f"errors {result.error_rate:.2%}{beside}; SLO "
        + ("met" if result.slo_met else "missed: " + "; ".join(result.slo_misses))
    )
    return result


def _row(value: Any) -> dict[str, str] | None:
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else None


def read_result(text: str) -> tuple[dict[str, str] | None, dict[str, str] | None, int]:
    """The submission's and the reference's figures the locustfile writes when locust quits
    (CSV column names), and how many slices were measured."""
    result = _result(text)
    slices = int(result.get("slices", 0))
    return _row(result.get("submission")), _row(result.get("baseline")), slices


def _result(text: str) -> dict[str, Any]:
    try:
        result = json.loads(text)
    except json.JSONDecodeError:
        return {}
    return result if isinstance(result, dict) else {}


def completed_requests(evidence: LoadEvidence) -> int:
    """How many load requests completed (answered, whatever the status)."""
    return _requests(evidence.aggregated)


def load_generator_failed(evidence: LoadEvidence, health: list[dict[str, Any]]) -> bool:
    """Locust sent nothing while the server answered its health checks: the harness's fault
    (a machine too busy to start locust in time), never the submission's."""
    return completed_requests(evidence) == 0 and any(p.get("status") == 200 for p in health)


async def run_load(
    runtime: ScoringRuntime, base_url: str, profile: dict[str, Any], seconds: float,
    tool_env: dict[str, str], baseline_url: str = "",
) -> LoadEvidence:  # fmt: skip
    """Run locust with the profile's users and request mix until the submission had `seconds`
    of load; with `baseline_url`, the reference as long, in alternating slices (locustfile.py)."""
    run_dir = runtime.private / f"load-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir(parents=True)
    # the locustfile travels with the run, so a sandbox that mirrors `run_dir` has it too
    locustfile = run_dir / "locustfile.py"
    shutil.copyfile(LOCUSTFILE, locustfile)
    spec = run_dir / "profile.json"
    spec.write_text(json.dumps({"requests": profile["requests"], "jwt": profile.get("jwt")}))
    users = int(profile.get("users", 8))
    cap = load_cap_seconds(seconds, bool(baseline_url))
    argv = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
        "-u", str(users), "-r", str(profile.get("spawn_rate", users)),
        "-t", f"{cap}s", "--host", base_url, "--only-summary",
        "--exit-code-on-error", "0", "--stop-timeout", "2", "--loglevel", "WARNING",
    ]  # fmt: skip
    result_file = run_dir / "result.json"
    env = {
        **tool_env, "BACKBENCH_LOAD_SPEC": str(spec), "APP_SECRET": runtime.app_secret,
        "BACKBENCH_LOAD_SECONDS": str(seconds), "BACKBENCH_LOAD_RESULT": str(result_file),
        "BACKBENCH_SLICE_SECONDS": str(SLICE_SECONDS),
    }  # fmt: skip
    if baseline_url:
        env |= {"BACKBENCH_BASELINE_URL": baseline_url,
                "BACKBENCH_PAUSE_TARGET": runtime.pause_target}  # fmt: skip
    try:
        for attempt in range(LOAD_ATTEMPTS):
            result = await runtime.run_tool(argv, env=env, cwd=run_dir, timeout=cap + 60)
            if result.returncode == 0 and result_file.exists():
                break
            if attempt == LOAD_ATTEMPTS - 1:
                raise HarnessError(
                    f"locust failed twice (exit {result.returncode}): {result.stderr[-600:]}"
                )
    finally:
        if baseline_url and runtime.pause_target:
            await resume_submission(runtime, tool_env, run_dir)
    text = result_file.read_text()
    submission, baseline, slices = read_result(text)
    cycles = _result(text).get("cycle_p95", [])
    return LoadEvidence(
        returncode=result.returncode,
        aggregated=submission,
        seconds=seconds,
        output_tail=result.stderr[-2000:],
        baseline=baseline,
        slices=slices,
        cycle_p95=cycles if isinstance(cycles, list) else [],
    )


def load_cap_seconds(seconds: float, with_baseline: bool) -> int:
    """locust's hard cap (`-t`): both servers' load, their warm-ups, and drained slices."""
    return round(seconds * (2 if with_baseline else 1)) + STARTUP_ALLOWANCE * 2 + 10


async def resume_submission(runtime: ScoringRuntime, tool_env: dict[str, str], cwd: Path) -> None:
    """Let every process of the submission run again, whatever became of locust: it resumes
    them itself, unless it was killed in a reference's slice."""
    await runtime.run_tool(
        [sys.executable, "-I", "-m", "backbench.sandbox.pids", "cont", runtime.pause_target],
        env=tool_env, cwd=cwd, timeout=30,
    )  # fmt: skip
