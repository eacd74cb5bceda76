"""What the notebooks call: the log folder resolved from the repository, and prompt effects."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from backbench.gate_policy import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MAX_DROP,
    DEFAULT_MAX_SLOWDOWN,
    GATE_METRICS,
)
from backbench.report._gate import check_comparable, judge_metric, paired
from backbench.report._logs import LogInputError

REPO_ROOT = Path(__file__).resolve().parents[2]
LOG_DIR_VARIABLE = "BACKBENCH_LOG_DIR"


def resolve_log_dir(default: str) -> Path:
    """The notebook's log folder: $BACKBENCH_LOG_DIR, else `default`; relative to the repository.

    A relative folder is taken from the repository root, so the notebook reads the same logs
    whether Jupyter runs it from notebooks/ or from the root.
    """
    path = Path(os.environ.get(LOG_DIR_VARIABLE) or default).expanduser()
    return path if path.is_absolute() else REPO_ROOT / path


def _matches(frame: pd.DataFrame, prompt: str) -> pd.Series:
    return (frame["prompt_file"] == prompt) | frame["prompt_sha256"].str.startswith(prompt)


def prompt_effects(
    frame: pd.DataFrame, baseline: str, metrics: tuple[str, ...] = GATE_METRICS,
    confidence: float = DEFAULT_CONFIDENCE,
) -> pd.DataFrame:  # fmt: skip
    """Each prompt variant's loss against the baseline prompt, per model and metric.

    `baseline` names the baseline prompt by file name or by the start of its sha256. Samples
    are paired by scenario and epoch within each model, as the gate pairs them; a loss is
    positive when the variant is worse (points for rates, % slower for latency ratios).
    """
    rows = []
    for model, runs in frame.groupby("model"):
        base = runs[_matches(runs, baseline)]
        if base.empty:
            continue
        if base["prompt_sha256"].nunique() > 1:
            raise LogInputError(f"{model}: {baseline!r} names several prompt contents")
        for variant, cand in runs[~runs.index.isin(base.index)].groupby("group"):
            check_comparable(base, cand, prompts_differ=True)
            pairs, _, _ = paired(base, cand)
            for metric in metrics:
                result = judge_metric(pairs, metric, DEFAULT_MAX_DROP, DEFAULT_MAX_SLOWDOWN,
                                      confidence)  # fmt: skip
                rows.append({
                    "model": model, "variant": variant, "metric": metric, "unit": result.unit,
                    "loss": result.loss.estimate, "low": result.loss.low,
                    "high": result.loss.high, "pairs": result.pairs, "worse": result.worse,
                })  # fmt: skip
    if not rows:
        raise LogInputError(f"no model has runs of both {baseline!r} and another prompt")
    return pd.DataFrame(rows)


def scenario_differences(frame: pd.DataFrame, baseline: str, key: str) -> pd.DataFrame:
    """Per scenario (rows) and variant (columns): the variant's mean `key` minus the baseline's."""
    means = frame[~frame["errored"]].pivot_table(
        index="scenario", columns=["model", "prompt_sha256", "group"], values=key,
        aggfunc="mean",
    )  # fmt: skip
    columns = {}
    for model in frame["model"].unique():
        runs = frame[frame["model"] == model]
        base = runs[_matches(runs, baseline)]
        if base.empty:
            continue
        sha = base["prompt_sha256"].iloc[0]
        for m, other, group in means.columns:
            if m == model and other != sha:
                columns[group] = means[(m, other, group)] - means[(m, sha, base["group"].iloc[0])]
    return pd.DataFrame(columns)
