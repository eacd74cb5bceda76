"""The report's numbers, as DataFrames: the notebooks show them, the report formats them."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from backbench.report._logs import COVERAGE_KEY
from backbench.report._stats import DEFAULT_CONFIDENCE, pass_at_k, wilson

REFERENCE_MODEL = "backbench/reference"
VIEW_PORT = 7575  # inspect view's default


def scored(frame: pd.DataFrame) -> pd.DataFrame:
    """The samples the harness scored: errored ones are counted apart, never as failures."""
    return frame[~frame["errored"] & frame["scored"]]


def group_order(frame: pd.DataFrame) -> list[str]:
    """Groups by model, then prompt file: the order of every table and figure."""
    ordered = frame.sort_values(["model", "prompt_file", "prompt_sha256"])
    return list(dict.fromkeys(ordered["group"]))


def _proportion(values: pd.Series, confidence: float) -> tuple[float, float, float]:
    values = values.dropna()
    if values.empty:
        return math.nan, math.nan, math.nan
    low, high = wilson(float(values.sum()), len(values), confidence)
    return float(values.mean()), low, high


def pass_rates(group: pd.DataFrame, key: str = "correct") -> tuple[int, float, float]:
    """(k, pass@1, pass@k) over the group's scenarios; k is the fewest epochs of any scenario."""
    per_scenario = group.groupby("scenario")[key].agg(["size", "sum"])
    k = int(per_scenario["size"].min())
    at_1 = float(
        np.mean([c / n for n, c in zip(per_scenario["size"], per_scenario["sum"], strict=True)])
    )
    at_k = float(
        np.mean(
            [
                pass_at_k(int(n), int(c), k)
                for n, c in zip(per_scenario["size"], per_scenario["sum"], strict=True)
            ]
        )
    )
    return k, at_1, at_k


def headline(frame: pd.DataFrame, confidence: float = DEFAULT_CONFIDENCE) -> pd.DataFrame:
    """Per model and prompt: correct, correct-and-secure, pass@1 and pass@k, and the cost.

    correct and correct_secure have Wilson intervals over the scored samples; pass@1 and pass@k
    (the unbiased estimator per scenario, averaged) have Wilson intervals over the scenarios.
    """
    rows = []
    for label in group_order(frame):
        group = frame[frame["group"] == label]
        ok = scored(group)
        row: dict[str, object] = {
            "group": label,
            "model": group["model"].iloc[0],
            "prompt_file": group["prompt_file"].iloc[0],
            "prompt_sha256": group["prompt_sha256"].iloc[0],
            "samples": len(ok),
            "harness_errors": int(group["errored"].sum()),
            "unscored": int((~group["errored"] & ~group["scored"]).sum()),
        }
        for key in ("correct", "correct_secure"):
            row[key], row[f"{key}_low"], row[f"{key}_high"] = _proportion(ok[key], confidence)
        scenarios = ok["scenario"].nunique()
        k, at_1, at_k = pass_rates(ok) if len(ok) else (0, math.nan, math.nan)
        row["k"] = k
        row["pass@1"] = at_1
        row["pass@1_low"], row["pass@1_high"] = wilson(at_1 * scenarios, scenarios, confidence)
        row["pass@k"] = at_k if k > 1 else math.nan
        low, high = wilson(at_k * scenarios, scenarios, confidence) if k > 1 else (math.nan,) * 2
        row["pass@k_low"], row["pass@k_high"] = low, high
        for cost in ("tokens", "total_time", "messages", "tool_calls"):
            row[cost] = float(group[cost].mean())
        rows.append(row)
    return pd.DataFrame(rows)


def _reference_rps(frame: pd.DataFrame) -> pd.Series:
    reference = scored(frame[frame["model"] == REFERENCE_MODEL])
    return reference.groupby("scenario")["rps"].mean()


def rps_ratio(group: pd.DataFrame, reference: pd.Series) -> float:
    """Geometric mean over scenarios of the group's requests/s over the reference's."""
    mine = group.groupby("scenario")["rps"].mean()
    both = [(mine[s], reference[s]) for s in mine.index if s in reference.index]
    ratios = [m / r for m, r in both if r > 0 and m > 0]
    if not both:
        return math.nan
    if len(ratios) < len(both):
        return 0.0  # a scenario with no request served has no throughput at all
    return float(np.exp(np.mean(np.log(ratios))))


def success_metrics(frame: pd.DataFrame) -> pd.DataFrame:
    """The prompt's seven success metrics per model and prompt, and section.

    Latencies are means over the samples whose server answered load requests (`served`);
    requests/s, error rate and uptime count every scored sample (a server that never ran has 0
    requests/s, error rate 1, uptime 0). Test coverage is NaN where no scenario measures it.
    """
    reference = _reference_rps(frame)
    rows = []
    ok = scored(frame)
    for label in group_order(frame):
        for section, group in ok[ok["group"] == label].groupby("section"):
            latency = group.dropna(subset=["p95_ms"])
            cwes = cwe_exploits(group)
            rows.append(
                {
                    "group": label,
                    "section": section,
                    "samples": len(group),
                    "rps": group["rps"].mean(),
                    "rps_vs_reference": rps_ratio(group, reference),
                    "uptime": group["uptime"].mean(),
                    "served": len(latency),
                    "p50_ms": latency["p50_ms"].mean(),
                    "p95_ms": latency["p95_ms"].mean(),
                    "p99_ms": latency["p99_ms"].mean(),
                    "error_rate": group["error_rate"].mean(),
                    "test_coverage": group[COVERAGE_KEY].mean(),
                    "secure": group["secure"].mean(),
                    "probes_run": int(cwes["probes"].sum()) if len(cwes) else 0,
                    "probes_exploited": int(cwes["exploited"].sum()) if len(cwes) else 0,
                    "bandit_high": group["bandit_high"].sum(),
                    "quality": group["quality"].mean(),
                }
            )
    return pd.DataFrame(rows)


def cwe_exploits(frame: pd.DataFrame) -> pd.DataFrame:
    """Per model and prompt, and CWE: probes run, probes that succeeded, and their rate.

    Only samples whose server ran were probed; the others (`not_probed`) are shown apart.
    """
    counts: dict[tuple[str, int], list[int]] = {}
    for row in scored(frame).itertuples():
        exploited = set(row.exploited_probes)
        for probe, cwe in row.probe_cwes.items():
            cell = counts.setdefault((str(row.group), int(cwe)), [0, 0])
            cell[0] += 1
            cell[1] += probe in exploited
    rows = [
        {"group": g, "cwe": cwe, "probes": n, "exploited": e, "rate": e / n}
        for (g, cwe), (n, e) in sorted(counts.items())
    ]
    return pd.DataFrame(rows, columns=["group", "cwe", "probes", "exploited", "rate"])


def not_probed(frame: pd.DataFrame) -> pd.Series:
    """Per group, the scored samples that no probe reached (their server never ran); a kind
    without a server (its `secure` NaN) is never probed and is not counted."""
    ok = scored(frame)
    unprobed = ok[(ok["probe_cwes"].map(len) == 0) & ok["secure"].notna()]
    return unprobed.groupby("group").size().reindex(group_order(frame), fill_value=0)


def by_section(frame: pd.DataFrame, confidence: float = DEFAULT_CONFIDENCE) -> pd.DataFrame:
    """correct and correct_secure per model and prompt, and section, with Wilson intervals."""
    rows = []
    ok = scored(frame)
    for label in group_order(frame):
        for section, group in ok[ok["group"] == label].groupby("section"):
            row: dict[str, object] = {"group": label, "section": section, "samples": len(group)}
            for key in ("correct", "correct_secure", "secure"):
                row[key], row[f"{key}_low"], row[f"{key}_high"] = _proportion(
                    group[key], confidence
                )
            rows.append(row)
    return pd.DataFrame(rows)


def scenario_spread(frame: pd.DataFrame, key: str = "correct_secure") -> pd.DataFrame:
    """Scenario x group means of `key`, the scenarios where the groups differ most first."""
    table = scored(frame).pivot_table(index="scenario", columns="group", values=key, aggfunc="mean")
    table = table[[g for g in group_order(frame) if g in table.columns]]
    spread = table.max(axis=1) - table.min(axis=1)
    return table.assign(spread=spread).sort_values(["spread"], ascending=False, kind="stable")


def view_command(row: pd.Series) -> str:
    """The command that serves the sample's log, and the viewer address of the sample."""
    log = Path(str(row["log"]))
    return (
        f"inspect view --log-dir {log.parent} → http://127.0.0.1:{VIEW_PORT}/#/logs/"
        f"{log.name}/samples/sample/{row['scenario']}/{row['epoch']}"
    )


def appendix(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per scenario, model and prompt, and epoch, with how to open it in inspect view."""
    rows = []
    order = {g: i for i, g in enumerate(group_order(frame))}
    ordered = frame.assign(_g=frame["group"].map(order)).sort_values(["scenario", "_g", "epoch"])
    for _, row in ordered.iterrows():
        rows.append(
            {
                "scenario": row["scenario"],
                "section": row["section"],
                "group": row["group"],
                "epoch": int(row["epoch"]),
                "outcome": "harness error"
                if row["errored"]
                else (
                    "not scored"
                    if not row["scored"]
                    else f"correct {row['correct']:.0f}, secure {row['secure']:.0f}"
                ),
                "view": view_command(row),
            }
        )
    return pd.DataFrame(rows)


def harness_errors(frame: pd.DataFrame) -> pd.DataFrame:
    """The samples the harness failed on, with the first line of each error."""
    errored = frame[frame["errored"]]
    return pd.DataFrame(
        {
            "group": errored["group"],
            "scenario": errored["scenario"],
            "epoch": errored["epoch"],
            "error": errored["harness_error"].map(lambda e: (str(e).splitlines() or [""])[0][:160]),
        }
    ).reset_index(drop=True)
