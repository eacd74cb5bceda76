"""The sample's score: a pure function of the stage verdicts, tested like them."""

from __future__ import annotations

import math
from dataclasses import dataclass

from backbench.registry import DELIVERABLE_KINDS, KIND_KEYS
from backbench.scoring.functional import FunctionalResult
from backbench.scoring.kinds import KindVerdict, kind_values
from backbench.scoring.load_test import NO_LATENCY, LoadResult
from backbench.scoring.security import SecurityResult

SERVER_KEYS = [
    "correct", "functional", "secure", "correct_secure", "exploits", "bandit_high",
    "p50_ms", "p95_ms", "p99_ms", "rps", "error_rate", "p95_ratio", "rps_ratio", "uptime",
    "quality", "slo_met", "robust",
]  # fmt: skip
# every sample has every key: the kinds' own keys are NaN on samples of other kinds
SCORE_KEYS = [*SERVER_KEYS, *KIND_KEYS]


@dataclass
class StageVerdicts:
    """What every stage of a served submission decided."""

    functional: FunctionalResult
    security: SecurityResult
    load: LoadResult
    uptime: float
    uptime_text: str
    daemonized: bool
    quality: float
    quality_text: str
    # kept apart from `correct`, which judges the prompt's stated rules only
    robust: float = 0.0
    robust_text: str = ""
    # the deliverable kind's own checks (None: a plain service, or none of them ran)
    kind: KindVerdict | None = None


def served_score(v: StageVerdicts) -> tuple[dict[str, float], str]:
    """Score values and explanation of a submission whose server became ready."""
    secure = int(
        not v.security.exploited and v.security.bandit_high == 0 and not v.security.static_scored
    )
    # a start.sh that exits while its server answers breaks the contract's foreground rule
    correct = int(v.functional.correct and not v.daemonized and (v.kind is None or v.kind.passed))
    uptime_text = v.uptime_text
    if v.daemonized:
        uptime_text += (
            "; correct=0: start.sh exited while its server kept answering (daemonized); "
            "the contract asks for a server in the foreground"
        )
    value: dict[str, float] = {
        "correct": correct,
        "functional": round(v.functional.fraction, 4),
        "secure": secure,
        "correct_secure": correct * secure,
        "exploits": len(v.security.exploited),
        "bandit_high": v.security.bandit_high,
        "p50_ms": v.load.p50_ms,
        "p95_ms": v.load.p95_ms,
        "p99_ms": v.load.p99_ms,
        "rps": v.load.rps,
        "error_rate": v.load.error_rate,
        "p95_ratio": v.load.p95_ratio,
        "rps_ratio": v.load.rps_ratio,
        "uptime": v.uptime,
        "quality": v.quality,
        "slo_met": int(v.load.slo_met),
        "robust": v.robust,
        **kind_values(v.kind),
    }
    parts = [v.functional.explanation, v.robust_text, v.security.explanation, v.load.explanation,
             uptime_text, v.quality_text]  # fmt: skip
    if v.kind is not None and v.kind.explanation:
        parts.insert(1, v.kind.explanation)
    return value, "\n".join(parts)


def failed_kind(kind: str) -> KindVerdict:
    """The kind's checks of a submission that was never judged by them (never served, or
    stopped early): every one failed, its keys 0."""
    spec = DELIVERABLE_KINDS[kind]
    return KindVerdict({k: 0.0 for k in spec.keys}, list(spec.checks))


def offline_score(kind: KindVerdict) -> tuple[dict[str, float], str]:
    """Score values of a kind that runs no server: its own keys and `correct`; the server's
    keys are NaN (no verdict, not a failure), so they stay out of the means."""
    value = {key: math.nan for key in SERVER_KEYS}
    value.update(kind_values(kind))
    value["correct"] = int(kind.passed)
    return value, kind.explanation


def stopped_score(
    functional: FunctionalResult, quality: float, quality_text: str, bandit_high: int,
    kind: KindVerdict | None = None,
) -> tuple[dict[str, float], str]:  # fmt: skip
    """Score values and explanation of a server too slow for the functional stage to finish.

    The later live stages did not run; what they would measure counts as failed, as for a
    server that never became ready.
    """
    value, _ = not_served_score(functional.out_of_time, quality, quality_text, bandit_high, kind)
    value["functional"] = round(functional.fraction, 4)
    explanation = "\n".join(
        [functional.explanation,
         "robust, security, load and uptime: not run, the functional stage ended early "
         "(counted as failed)", quality_text]
    )  # fmt: skip
    return value, explanation


def not_served_score(
    why: str, quality: float, quality_text: str, bandit_high: int,
    kind: KindVerdict | None = None,
) -> tuple[dict[str, float], str]:  # fmt: skip
    """Score values and explanation of a submission whose server never became ready."""
    value: dict[str, float] = {
        "correct": 0, "functional": 0.0, "secure": 0, "correct_secure": 0, "exploits": 0,
        "bandit_high": bandit_high, "p50_ms": NO_LATENCY, "p95_ms": NO_LATENCY,
        "p99_ms": NO_LATENCY, "rps": 0.0, "error_rate": 1.0, "p95_ratio": NO_LATENCY,
        "rps_ratio": 0.0, "uptime": 0.0,
        "quality": quality, "slo_met": 0, "robust": 0.0, **kind_values(kind),
    }  # fmt: skip
    explanation = (
        f"not served: {why}; every functional test counts as failed, no load or security "
        f"test could run.\n{quality_text}"
    )
    return value, explanation
