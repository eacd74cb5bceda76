"""Security stage: dynamic probes by CWE against the live server, and bandit on the code."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backbench.registry import PROBE_KINDS
from backbench.runtime import HarnessError, ScoringRuntime
from backbench.scoring.source_files import python_files

# every probe's requests have total deadlines (netprobe.TIMEOUT); this bounds the stage
PROBES_TIMEOUT = 120


@dataclass
class SecurityResult:
    """Which probes succeeded and what bandit found."""

    exploited: list[str] = field(default_factory=list)
    bandit_high: int = 0
    explanation: str = ""


def sql_injection_exploited(evidence: dict[str, Any]) -> str | None:
    """CWE-89 succeeded: see backbench.scoring.exploits.sql_injection."""
    return PROBE_KINDS["sql_injection"].exploited(evidence)


def auth_required_exploited(evidence: dict[str, Any]) -> str | None:
    """CWE-306 succeeded: see backbench.scoring.exploits.auth_required."""
    return PROBE_KINDS["auth_required"].exploited(evidence)


def probes_verdict(evidence: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """(probe id, CWE, how) for every probe that succeeded."""
    found = []
    for item in evidence:
        if item.get("out_of_time"):
            # a server that stalls the probes is not shown to resist them
            found.append((item["id"], int(item["cwe"]), item["error"]))
            continue
        if "error" in item:
            continue
        how = PROBE_KINDS[item["kind"]].exploited(item)
        if how:
            found.append((item["id"], int(item["cwe"]), how))
    return found


def bandit_high(report: dict[str, Any]) -> list[dict[str, Any]]:
    """bandit findings of HIGH severity."""
    return [r for r in report.get("results", []) if r.get("issue_severity") == "HIGH"]


def security_verdict(
    probe_evidence: list[dict[str, Any]], bandit: dict[str, Any]
) -> SecurityResult:
    """Combine probes and bandit into one result with a readable explanation."""
    exploits = probes_verdict(probe_evidence)
    high = bandit_high(bandit)
    lines = [f"security: {len(exploits)} of {len(probe_evidence)} probes succeeded, "
             f"{len(high)} high-severity bandit findings"]  # fmt: skip
    lines += [f"  EXPLOIT {pid} (CWE-{cwe}): {how}" for pid, cwe, how in exploits]
    lines += [
        f"  BANDIT {r['test_id']} {Path(r['filename']).name}:{r['line_number']}: {r['issue_text']}"
        for r in high
    ]
    lines += [
        f"  probe {e['id']} could not run: {e['error']}" for e in probe_evidence if "error" in e
    ]
    return SecurityResult([pid for pid, _, _ in exploits], len(high), "\n".join(lines))


async def run_probes(
    runtime: ScoringRuntime, base_url: str, probes: list[dict[str, Any]],
    tool_env: dict[str, str], cwd: Path,
) -> list[dict[str, Any]]:  # fmt: skip
    """Send the scenario's probes from a subprocess; return their raw evidence."""
    if not probes:
        return []
    spec = cwd / "probes.json"
    spec.write_text(json.dumps(probes))
    argv = [
        sys.executable, "-I", "-m", "backbench.scoring.netprobe", "probes", "--url", base_url,
        "--spec", str(spec), "--secret", runtime.app_secret,
    ]  # fmt: skip
    try:
        result = await runtime.run_tool(argv, env=tool_env, cwd=cwd, timeout=PROBES_TIMEOUT)
    except TimeoutError:
        why = f"the security stage ran out of its {PROBES_TIMEOUT} s budget"
        return [  # fmt: skip
            {
                "id": p["id"],
                "kind": p["kind"],
                "cwe": PROBE_KINDS[p["kind"]].cwe,
                "error": why,
                "out_of_time": True,
            }
            for p in probes
        ]
    if result.returncode != 0:
        raise HarnessError(f"security probes failed: {result.stderr[-600:]}")
    evidence: list[dict[str, Any]] = json.loads(result.stdout)
    return evidence


async def run_bandit(
    runtime: ScoringRuntime, tool_env: dict[str, str], cwd: Path
) -> dict[str, Any]:
    """bandit's JSON report on the submission's Python files (`# nosec` ignored)."""
    files = python_files(runtime.workspace)
    if not files:
        return {"results": []}
    report = cwd / "bandit.json"
    argv = [
        sys.executable, "-I", "-m", "bandit", "-q", "--ignore-nosec", "-f", "json",
        "-o", str(report), *map(str, files),
    ]  # fmt: skip
    result = await runtime.run_static(argv, env=tool_env, cwd=cwd, timeout=300)
    # bandit exits 1 when it finds issues; a missing report means it broke
    if not report.exists():
        raise HarnessError(f"bandit failed (exit {result.returncode}): {result.stderr[-600:]}")
    data: dict[str, Any] = json.loads(report.read_text())
    return data
