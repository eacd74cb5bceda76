"""Load stage: locust headless, as a subprocess, with the scenario's profile."""

from __future__ import annotations

import csv
import io
import json
import shutil
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backbench.runtime import HarnessError, ScoringRuntime

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Latency of a server that answered no load request: not a number, so that inspect leaves the
# sample out of the latency means (a made-up figure would drag them).
NO_LATENCY = float("nan")
LOAD_ATTEMPTS = 2
# The window starts at the first answered request (see locustfile.py); -t caps the whole run.
STARTUP_ALLOWANCE = 30


@dataclass
class LoadEvidence:
    """Locust's aggregated statistics row (None when it made no request) and its exit code."""

    returncode: int
    aggregated: dict[str, str] | None
    seconds: float
    output_tail: str = ""


@dataclass
class LoadResult:
    """The load verdict: latency percentiles, throughput, errors, and the SLO check."""

    p50_ms: float
    p95_ms: float
    p99_ms: float
    rps: float
    error_rate: float
    requests: int
    slo_met: bool
    slo_misses: list[str] = field(default_factory=list)
    explanation: str = ""


def parse_stats_csv(text: str) -> dict[str, str] | None:
    """The 'Aggregated' row of locust's <prefix>_stats.csv."""
    for row in csv.DictReader(io.StringIO(text)):
        if row.get("Name") == "Aggregated":
            return row
    return None


def load_verdict(evidence: LoadEvidence, slo: dict[str, float]) -> LoadResult:
    """Percentiles, requests/s and error rate from locust's statistics, checked against the SLO."""
    row = evidence.aggregated
    requests = int(row["Request Count"]) if row else 0
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
    if "p95_ms" in slo and result.p95_ms > slo["p95_ms"]:
        result.slo_misses.append(f"p95 {result.p95_ms:.0f} ms > {slo['p95_ms']:.0f} ms")
    if "error_rate" in slo and result.error_rate > slo["error_rate"]:
        result.slo_misses.append(f"error rate {result.error_rate:.3f} > {slo['error_rate']}")
    result.slo_met = not result.slo_misses
    result.explanation = (
        f"load: {requests} requests in {evidence.seconds:.0f}s, {result.rps} req/s, "
        f"p50 {result.p50_ms:.0f} ms, p95 {result.p95_ms:.0f} ms, p99 {result.p99_ms:.0f} ms, "
        f"errors {result.error_rate:.2%}; SLO "
        + ("met" if result.slo_met else "missed: " + "; ".join(result.slo_misses))
    )
    return result


def read_result(text: str) -> dict[str, str] | None:
    """The aggregated row the locustfile writes when locust quits (CSV column names)."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError:
        return None
    return {str(k): str(v) for k, v in row.items()} if isinstance(row, dict) else None


def completed_requests(evidence: LoadEvidence) -> int:
    """How many load requests completed (answered, whatever the status)."""
    return int(evidence.aggregated["Request Count"]) if evidence.aggregated else 0


def load_generator_failed(evidence: LoadEvidence, health: list[dict[str, Any]]) -> bool:
    """Locust sent nothing while the server answered its health checks: the harness's fault
    (a machine too busy to start locust in time), never the submission's."""
    return completed_requests(evidence) == 0 and any(p.get("status") == 200 for p in health)


async def run_load(
    runtime: ScoringRuntime, base_url: str, profile: dict[str, Any], seconds: float,
    tool_env: dict[str, str],
) -> LoadEvidence:  # fmt: skip
    """Run locust for `seconds` with the profile's users and request mix."""
    run_dir = runtime.private / f"load-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir(parents=True)
    # the locustfile travels with the run, so a sandbox that mirrors `run_dir` has it too
    locustfile = run_dir / "locustfile.py"
    shutil.copyfile(LOCUSTFILE, locustfile)
    spec = run_dir / "profile.json"
    spec.write_text(json.dumps({"requests": profile["requests"]}))
    users = int(profile.get("users", 8))
    argv = [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless",
        "-u", str(users), "-r", str(profile.get("spawn_rate", users)),
        "-t", f"{round(seconds) + STARTUP_ALLOWANCE}s", "--host", base_url, "--only-summary",
        "--csv", str(run_dir / "locust"), "--exit-code-on-error", "0", "--stop-timeout", "2",
        "--loglevel", "WARNING",
    ]  # fmt: skip
    result_file = run_dir / "result.json"
    env = {
        **tool_env, "BACKBENCH_LOAD_SPEC": str(spec), "APP_SECRET": runtime.app_secret,
        "BACKBENCH_LOAD_SECONDS": str(seconds), "BACKBENCH_LOAD_RESULT": str(result_file),
    }  # fmt: skip
    for attempt in range(LOAD_ATTEMPTS):
        result = await runtime.run_tool(
            argv, env=env, cwd=run_dir, timeout=seconds + STARTUP_ALLOWANCE + 60
        )
        if result.returncode == 0 and result_file.exists():
            break
        if attempt == LOAD_ATTEMPTS - 1:
            raise HarnessError(
                f"locust failed twice (exit {result.returncode}): {result.stderr[-600:]}"
            )
    return LoadEvidence(
        returncode=result.returncode,
        aggregated=read_result(result_file.read_text()),
        seconds=seconds,
        output_tail=result.stderr[-2000:],
    )
