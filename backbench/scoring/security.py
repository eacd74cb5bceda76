"""Security stage: dynamic probes by CWE against the live server, and bandit on the code."""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backbench.runtime import HarnessError, ScoringRuntime
from backbench.scoring.attack_surface import with_code
from backbench.scoring.code_surface import code_surface_of
from backbench.scoring.exploits import log_exposure
from backbench.scoring.source_files import python_files
from backbench.scoring.static_rules import static_findings
from backbench.scoring.submission import RunningSubmission

# every probe's requests have total deadlines (netprobe.TIMEOUT); this bounds the stage
PROBES_TIMEOUT = 120
# a server that stops answering the probes: uncontrolled resource consumption
UNRESPONSIVE_CWE = 400
# bytes of the server's log the log family reads (its last)
LOG_READ = 4_000_000


@dataclass
class SecurityResult:
    """Which CWEs the probes proved (ids cwe-<n>), how, what bandit found, and the alarms of
    our static rules that are scored (backbench.scoring.static_rules)."""

    exploited: list[str] = field(default_factory=list)
    bandit_high: int = 0
    explanation: str = ""
    static_scored: int = 0


def probes_verdict(evidence: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """(probe id cwe-<n>, CWE, how) for every CWE a probe proved; the first proof of each.

    An answer showing internals (information_exposure.leak_finding) proves CWE-209 or 200
    whichever family's request drew it, when the scenario plans that CWE.
    """
    planned = {int(c) for item in evidence for c in item.get("cwes", [item.get("cwe")]) if c}
    proven: dict[int, str] = {}
    for item in evidence:
        if item.get("out_of_time"):
            # a server that stalls the probes is not shown to resist them
            proven.setdefault(int(item["cwe"]), item["error"])
            continue
        if item.get("unresponsive"):
            proven.setdefault(UNRESPONSIVE_CWE, f"the server stopped answering: {item['error']}")
        for f in [*item.get("findings", []), *item.get("leaks", [])]:
            cwe = int(f["cwe"])
            if cwe in planned and cwe not in proven:
                proven[cwe] = f"{f['signal']}: {f['operation']}: {f['request']} -> {f['proof']}"
    return [(f"cwe-{cwe}", cwe, how) for cwe, how in proven.items()]


def bandit_high(report: dict[str, Any]) -> list[dict[str, Any]]:
    """bandit findings of HIGH severity and HIGH confidence: the ones that are scored."""
    return [
        r for r in report.get("results", [])
        if r.get("issue_severity") == "HIGH" and r.get("issue_confidence", "HIGH") == "HIGH"
    ]  # fmt: skip


def security_verdict(
    probe_evidence: list[dict[str, Any]], bandit: dict[str, Any],
    static: dict[str, Any] | None = None,
) -> SecurityResult:  # fmt: skip
    """Combine probes, bandit and the static rules into one result whose explanation says
    which signal decided. A static rule's alarm decides only if the rule is scored (it raised
    none on any correct code of the catalogue); the others are reported."""
    exploits = probes_verdict(probe_evidence)
    high = bandit_high(bandit)
    alarms = static_findings(static or {})
    scored = [a for a in alarms if a.scored]
    families = [e for e in probe_evidence if "findings" in e]
    requests = sum(int(e.get("requests", 0)) for e in families)
    lines = [f"security: {len(exploits)} CWEs proven by {len(families)} probe families "
             f"({requests} requests), {len(high)} high-severity bandit findings"]  # fmt: skip
    if exploits or high or scored:
        decided = (["probes"] if exploits else []) + (["bandit"] if high else [])
        decided += ["static rules"] if scored else []
        lines.append(f"  not secure, decided by {' and '.join(decided)}")
    lines += [f"  EXPLOIT {pid} (CWE-{cwe}): {how}" for pid, cwe, how in exploits]
    lines += [
        f"  BANDIT {r['test_id']} {Path(r['filename']).name}:{r['line_number']}: {r['issue_text']}"
        for r in high
    ]
    lines += [
        f"  probe {e['id']} could not run: {e['error']}" for e in probe_evidence if "error" in e
    ]
    lines += [f"  STATIC {a.rule} (CWE-{a.cwe}) {a.file}:{a.line}: {a.text}" for a in scored]
    lines += [
        f"  static rule {a.rule} (CWE-{a.cwe}, not scored) {a.file}:{a.line}: {a.text}"
        for a in alarms if not a.scored
    ]  # fmt: skip
    others = len(bandit.get("results", [])) - len(high)
    if others:
        lines.append(f"  bandit: {others} findings of lower severity or confidence (not scored)")
    return SecurityResult([pid for pid, _, _ in exploits], len(high), "\n".join(lines), len(scored))


def judge_log(
    evidence: list[dict[str, Any]], log: str, secrets: dict[str, str]
) -> list[dict[str, Any]]:
    """The evidence with the log family's findings made from the server's log (pure)."""
    judged = []
    for entry in evidence:
        if entry.get("kind") == log_exposure.NAME and "findings" in entry:
            made = log_exposure.log_findings(log, entry.get("evidence") or {}, secrets)
            entry = {**entry, "findings": [*entry["findings"], *made]}
        judged.append(entry)
    return judged


def robust_failures(evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The 5xx answers the probes drew with hostile input: `robust` counts them too."""
    return [e for entry in evidence for e in entry.get("server_errors", [])]


def with_probe_errors(
    robust: float, text: str, evidence: list[dict[str, Any]]
) -> tuple[float, str]:
    """`robust` and its explanation, lowered to 0 by a 5xx the probes drew with hostile input.
    A robust stage that did not run (NaN) stays unjudged."""
    failures = robust_failures(evidence)
    if not failures or robust != robust:
        return robust, text
    first = failures[0]
    return 0.0, (
        f"{text}\n  robust: 0, the security stage's hostile input drew {len(failures)} 5xx "
        f"answers, the first: {first['request']} -> HTTP {first['status']} ({first['vector']})"
    )


async def security_stage(
    runtime: ScoringRuntime, running: RunningSubmission, plan: list[dict[str, Any]],
    tool_env: dict[str, str],
) -> list[dict[str, Any]]:  # fmt: skip
    """The probes over the contract and what the submission's code reveals, judged with the
    server's log; the raw evidence."""
    code = await asyncio.to_thread(code_surface_of, runtime.workspace)
    evidence = await run_probes(
        runtime, running.base_url, with_code(plan, code), tool_env, runtime.private
    )
    await running.proc.sync_log()
    log = running.log_tail(LOG_READ)
    return judge_log(evidence, log, log_exposure.secrets_of(runtime.app_secret, running.env))


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
                "cwe": p["cwe"],
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
