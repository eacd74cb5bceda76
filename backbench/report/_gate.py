"""`backbench gate`: is the candidate run worse than the baseline, scenario by scenario?"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from backbench.gate_policy import (
    AGAINST_REFERENCE,
    DEFAULT_CONFIDENCE,
    DEFAULT_MAX_DROP,
    DEFAULT_MAX_SLOWDOWN,
    DEFAULT_METRICS,
    GATE_METRICS,
    LATENCY_RATIOS,
    LOWER_IS_BETTER,
)
from backbench.report._logs import LogInputError
from backbench.report._stats import Interval, cluster_t_interval

PASS, FAIL, UNUSABLE = 0, 1, 2


@dataclass(frozen=True)
class MetricResult:
    """One gated metric: the candidate's loss against the baseline, with its interval."""

    metric: str
    unit: str  # "points" or "% slower"
    pairs: int
    loss: Interval  # positive: the candidate is worse
    threshold: float
    worse: bool
    scenarios: int = 0  # the clusters the interval's error comes from

    @property
    def comparable(self) -> bool:
        return self.pairs > 0


@dataclass
class GateResult:
    """The gate's decision and everything its summary shows."""

    baseline: str
    candidate: str
    confidence: float
    metrics: list[MetricResult]
    pairs: int
    dropped_errors: int
    unpaired: int
    notes: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return FAIL if any(m.worse for m in self.metrics) else PASS


def identity(frame: pd.DataFrame, side: str) -> str:
    """The one model and prompt of a side; LogInputError when a side mixes several."""
    groups = sorted(frame["group"].unique())
    if len(groups) != 1:
        raise LogInputError(
            f"the {side} holds {len(groups)} model and prompt identities ({'; '.join(groups)}): "
            "give one run configuration per side"
        )
    return str(groups[0])


def check_comparable(baseline: pd.DataFrame, candidate: pd.DataFrame, prompts_differ: bool) -> None:
    """LogInputError when the two sides cannot be paired scenario by scenario."""
    for side, frame in (("baseline", baseline), ("candidate", candidate)):
        twice = frame[frame.duplicated(["scenario", "epoch"], keep=False)]
        if not twice.empty:
            row = twice.iloc[0]
            raise LogInputError(
                f"the {side} has scenario {row['scenario']} epoch {row['epoch']} more than "
                "once: give one run per side (use --epochs for repeats)"
            )
    base_ids, cand_ids = set(baseline["scenario"]), set(candidate["scenario"])
    if base_ids != cand_ids:
        only_base = ", ".join(sorted(base_ids - cand_ids)) or "none"
        only_cand = ", ".join(sorted(cand_ids - base_ids)) or "none"
        raise LogInputError(
            f"different scenario sets: only in the baseline: {only_base}; "
            f"only in the candidate: {only_cand}"
        )
    base_sha = baseline.groupby("scenario")["scenario_sha256"].agg(set)
    cand_sha = candidate.groupby("scenario")["scenario_sha256"].agg(set)
    edited = sorted(s for s in base_sha.index if base_sha[s] != cand_sha[s])
    if edited:
        raise LogInputError(
            f"scenario content differs between the sides (scenario_sha256): {', '.join(edited)}"
        )
    if prompts_differ:
        same = set(baseline["prompt_sha256"]) & set(candidate["prompt_sha256"])
        if same:
            raise LogInputError(
                f"both sides ran the same system prompt (sha256 {sorted(same)[0][:12]}), "
                "and --prompts-differ asks for a prompt change"
            )


def paired(baseline: pd.DataFrame, candidate: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Rows of both sides joined on (scenario, epoch), errored pairs left out.

    Returns the pairs (columns `<key>_base` and `<key>_cand`), how many pairs were left out
    because a side's sample errored in the harness, and how many samples had no partner.
    """
    merged = baseline.merge(
        candidate,
        on=["scenario", "epoch"],
        how="outer",
        suffixes=("_base", "_cand"),
        indicator=True,
    )
    unpaired = int((merged["_merge"] != "both").sum())
    both = merged[merged["_merge"] == "both"]
    errored = both["errored_base"].astype(bool) | both["errored_cand"].astype(bool)
    return both[~errored].reset_index(drop=True), int(errored.sum()), unpaired


def latency_key(pairs: pd.DataFrame, metric: str) -> str:
    """The score key a latency metric compares: the ratio to the reference measured beside each
    submission when every pair with a latency on both sides has it, else the latency itself."""
    relative, absolute = AGAINST_REFERENCE.get(metric), LATENCY_RATIOS[metric]
    if not relative or f"{relative}_base" not in pairs or f"{relative}_cand" not in pairs:
        return absolute

    def measured(key: str) -> np.ndarray:
        return np.isfinite(pairs[[f"{key}_base", f"{key}_cand"]].to_numpy(float)).all(axis=1)

    has_ratio = measured(relative)
    return relative if has_ratio.any() and (has_ratio | ~measured(absolute)).all() else absolute


def metric_losses(pairs: pd.DataFrame, metric: str) -> tuple[np.ndarray, str, np.ndarray]:
    """The candidate's loss in each pair (points for rates, log slowdown for latencies), its
    unit, and each loss's scenario (its cluster)."""
    scenario = pairs["scenario"].to_numpy()
    if metric in LATENCY_RATIOS:
        key = latency_key(pairs, metric)
        base, cand = pairs[f"{key}_base"].to_numpy(float), pairs[f"{key}_cand"].to_numpy(float)
        ok = np.isfinite(base) & np.isfinite(cand) & (base > 0) & (cand > 0)
        return np.log(cand[ok] / base[ok]), "% slower", scenario[ok]
    base, cand = pairs[f"{metric}_base"].to_numpy(float), pairs[f"{metric}_cand"].to_numpy(float)
    ok = np.isfinite(base) & np.isfinite(cand)
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    return sign * 100.0 * (base[ok] - cand[ok]), "points", scenario[ok]


def judge_metric(
    pairs: pd.DataFrame, metric: str, max_drop: float, max_slowdown: float, confidence: float
) -> MetricResult:
    """The loss's cluster-robust interval (clustered by scenario: the epochs of a scenario share
    its reaction to the change); worse when the whole interval is beyond the threshold."""
    losses, unit, scenarios = metric_losses(pairs, metric)
    threshold = max_slowdown if metric in LATENCY_RATIOS else max_drop
    if losses.size == 0:
        nan = Interval(math.nan, math.nan, math.nan)
        return MetricResult(metric, unit, 0, nan, threshold, False)
    interval = cluster_t_interval(losses, scenarios, confidence)
    if metric in LATENCY_RATIOS:
        # the mean of log ratios is the log of the geometric mean ratio
        interval = Interval(
            *(100.0 * (math.exp(v) - 1) for v in (interval.estimate, interval.low, interval.high))
        )
    return MetricResult(
        metric,
        unit,
        int(losses.size),
        interval,
        threshold,
        loss_exceeds(interval, threshold),
        len(set(scenarios.tolist())),
    )


def loss_exceeds(interval: Interval, threshold: float) -> bool:
    """The gate's rule: even the interval's most favourable end loses more than allowed."""
    return interval.low > threshold


def run_gate(
    baseline: pd.DataFrame,
    candidate: pd.DataFrame,
    metrics: Sequence[str] = DEFAULT_METRICS,
    max_drop: float = DEFAULT_MAX_DROP,
    max_slowdown: float = DEFAULT_MAX_SLOWDOWN,
    confidence: float = DEFAULT_CONFIDENCE,
    prompts_differ: bool = False,
) -> GateResult:
    """Pair the sides by scenario and epoch and judge every metric; LogInputError if unusable."""
    unknown = [m for m in metrics if m not in GATE_METRICS]
    if unknown:
        raise LogInputError(
            f"unknown gate metric(s) {', '.join(unknown)}; known: {', '.join(GATE_METRICS)}"
        )
    base_id, cand_id = identity(baseline, "baseline"), identity(candidate, "candidate")
    check_comparable(baseline, candidate, prompts_differ)
    pairs, dropped, unpaired = paired(baseline, candidate)
    if pairs.empty:
        raise LogInputError(
            f"no pair of samples to compare: {dropped} pair(s) errored in the harness, "
            f"{unpaired} sample(s) without a partner epoch"
        )
    results = [judge_metric(pairs, m, max_drop, max_slowdown, confidence) for m in metrics]
    notes = []
    if dropped:
        notes.append(f"{dropped} pair(s) left out: a side's sample errored in the harness")
    if unpaired:
        notes.append(f"{unpaired} sample(s) left out: no partner with the same scenario and epoch")
    return GateResult(base_id, cand_id, confidence, results, len(pairs), dropped, unpaired, notes)


def _cell(value: float) -> str:
    if math.isinf(value):
        return "-inf" if value < 0 else "+inf"
    return "n/a" if math.isnan(value) else f"{value:+.1f}"


def summary_markdown(result: GateResult) -> str:
    """The gate's decision as Markdown, fit for a pull-request comment."""
    verdict = "**FAIL**: the candidate is worse" if result.exit_code == FAIL else "**PASS**"
    level = f"{100 * result.confidence:g}%"
    lines = [
        f"## backbench gate: {verdict}",
        "",
        f"- baseline: `{result.baseline}`",
        f"- candidate: `{result.candidate}`",
        f"- {result.pairs} pair(s) of samples ({result.pairs} samples a side), matched by "
        "scenario and epoch; intervals clustered by scenario",
        *[f"- {note}" for note in result.notes],
        "",
        f"| metric | candidate's loss | {level} interval | allowed | pairs (scenarios) | verdict |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in result.metrics:
        if not m.comparable:
            lines.append(
                f"| {m.metric} | n/a | n/a | {m.threshold:g} {m.unit} | 0 | "
                "not comparable (no pair has it on both sides) |"
            )
            continue
        verdict_cell = "**worse**" if m.worse else "ok"
        lines.append(
            f"| {m.metric} | {_cell(m.loss.estimate)} {m.unit} | "
            f"[{_cell(m.loss.low)}, {_cell(m.loss.high)}] | {m.threshold:g} {m.unit} | "
            f"{m.pairs} ({m.scenarios}) | {verdict_cell} |"
        )
    lines += [
        "",
        "A loss is the baseline minus the candidate, per pair of samples (points for rates; the "
        "geometric mean of the candidate's latency over the baseline's for ratios), with a "
        f"{level} cluster-robust interval, clustered by scenario (CR1 standard error, Student's "
        "t on scenarios - 1 degrees of freedom): the epochs of one scenario share its reaction "
        "to the change, so the error comes from the spread between scenarios, and one scenario "
        "alone gives no interval. A metric is worse when the interval's low end is above the "
        "allowed loss.",
    ]
    return "\n".join(lines) + "\n"
