"""Quality stage: ruff findings per 1,000 lines and radon maintainability, as a 0-1 score."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backbench.runtime import HarnessError, ScoringRuntime
from backbench.scoring.source_files import python_files

# The harness's own rules; --isolated keeps the submission's ruff configuration out. They find
# defects and needless complexity, not style: a framework's idioms cost nothing. Left out:
# pyupgrade (UP: `Optional[X]` and `List[X]` are style) and B008 (a call in a default argument
# is how FastAPI declares `Depends()`, `Query()` and `Body()`).
RUFF_RULES = "E,F,W,B,C90,SIM"
RUFF_IGNORE = "B008"
RUFF_LINE_LENGTH = "120"
# Findings per 1,000 lines at which the lint half of the score reaches 0.
FINDINGS_PER_KLOC_FLOOR = 100.0
# radon ranks a maintainability index of 20 or more "A" (very maintainable).
MI_RANK_A = 20.0


@dataclass
class QualityEvidence:
    """Lines of code, ruff findings and radon maintainability indices per file."""

    lines: int
    ruff_findings: list[dict[str, Any]]
    maintainability: dict[str, float]


def quality_verdict(evidence: QualityEvidence) -> tuple[float, str]:
    """0-1: half lint density (0 findings/kloc = 1), half maintainability (rank A = 1)."""
    if evidence.lines == 0:
        return 0.0, "quality: no Python source to assess"
    per_kloc = len(evidence.ruff_findings) * 1000 / evidence.lines
    lint = max(0.0, 1 - per_kloc / FINDINGS_PER_KLOC_FLOOR)
    mis = list(evidence.maintainability.values())
    mi = sum(mis) / len(mis) if mis else 0.0
    maintainable = sum(min(1.0, m / MI_RANK_A) for m in mis) / len(mis) if mis else 0.0
    value = round(0.5 * lint + 0.5 * maintainable, 4)
    codes: dict[str, int] = {}
    for finding in evidence.ruff_findings:
        codes[finding.get("code") or "?"] = codes.get(finding.get("code") or "?", 0) + 1
    top = ", ".join(f"{c}x{n}" for c, n in sorted(codes.items(), key=lambda kv: -kv[1])[:5])
    detail = f"; {top}" if top else ""
    text = (
        f"quality {value}: {len(evidence.ruff_findings)} ruff findings in {evidence.lines} "
        f"lines ({per_kloc:.1f}/kloc{detail}), mean maintainability {mi:.0f}"
    )
    return value, text


def count_lines(files: list[Path]) -> int:
    """Non-blank lines across the files."""
    total = 0
    for path in files:
        with path.open(errors="replace") as f:
            total += sum(1 for line in f if line.strip())
    return total


def ruff_argv(files: list[str]) -> list[str]:
    """The lint command: the harness's rules only, JSON findings, exit 0 whatever it finds."""
    return [
        sys.executable, "-I", "-m", "ruff", "check", "--isolated", "--no-cache",
        "--select", RUFF_RULES, "--ignore", RUFF_IGNORE, "--line-length", RUFF_LINE_LENGTH,
        "--output-format", "json", "--exit-zero", *files,
    ]  # fmt: skip


async def collect_quality(
    runtime: ScoringRuntime, tool_env: dict[str, str], cwd: Path
) -> QualityEvidence:
    """Run ruff and radon on the submission's Python files."""
    files = python_files(runtime.workspace)
    if not files:
        return QualityEvidence(0, [], {})
    names = [str(f) for f in files]
    ruff = await runtime.run_static(ruff_argv(names), env=tool_env, cwd=cwd, timeout=120)
    radon = await runtime.run_static(
        [sys.executable, "-I", "-m", "radon", "mi", "-j", *names],
        env=tool_env, cwd=cwd, timeout=120,
    )  # fmt: skip
    try:
        findings = json.loads(ruff.stdout or "[]")
        mi_report = json.loads(radon.stdout or "{}")
    except json.JSONDecodeError as ex:
        raise HarnessError(f"ruff/radon output unreadable: {ex}") from ex
    maintainability = {
        name: float(info["mi"])
        for name, info in mi_report.items()
        if isinstance(info, dict) and "mi" in info
    }
    return QualityEvidence(count_lines(files), findings, maintainability)
