"""Uptime: health probes during and after the load test."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backbench.runtime import HarnessError, ScoringRuntime


@dataclass
class UptimeEvidence:
    """Health probes (status None when no answer came) and whether the process still ran."""

    probes: list[dict[str, Any]]
    alive_after: bool


def uptime_verdict(evidence: UptimeEvidence) -> tuple[float, str]:
    """Fraction of probes answered 200; a server that died never scores 1."""
    total = len(evidence.probes)
    ok = sum(1 for p in evidence.probes if p.get("status") == 200)
    if not evidence.alive_after:
        total += 1  # the exit itself is an outage the probes may have missed
    value = ok / total if total else 0.0
    text = f"uptime: {ok}/{len(evidence.probes)} health probes answered 200"
    if not evidence.alive_after:
        text += "; the server process had exited"
    return round(value, 4), text


def daemonized(evidence: UptimeEvidence) -> bool:
    """start.sh exited while its server still answered: a daemon, against the contract."""
    return (
        not evidence.alive_after
        and bool(evidence.probes)
        and (evidence.probes[-1].get("status") == 200)
    )


async def probe_health(
    runtime: ScoringRuntime, base_url: str, seconds: float, interval: float,
    tool_env: dict[str, str], cwd: Path,
) -> list[dict[str, Any]]:  # fmt: skip
    """GET /health every `interval` s for `seconds` s, from a subprocess."""
    argv = [
        sys.executable, "-I", "-m", "backbench.scoring.netprobe", "uptime", "--url", base_url,
        "--seconds", str(seconds), "--interval", str(interval),
    ]  # fmt: skip
    result = await runtime.run_tool(argv, env=tool_env, cwd=cwd, timeout=seconds + 30)
    if result.returncode != 0:
        raise HarnessError(f"health prober failed: {result.stderr[-600:]}")
    probes: list[dict[str, Any]] = json.loads(result.stdout)
    return probes
