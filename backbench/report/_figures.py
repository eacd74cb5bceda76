"""The report's figures, drawn with matplotlib: each function returns one Figure."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from backbench.registry import PROBE_KINDS
from backbench.report._tables import (
    by_section,
    cwe_exploits,
    group_order,
    not_probed,
    scenario_spread,
    scored,
)

WIDTH = 9.0
CMAP = "RdYlGn_r"


def cwe_name(cwe: int) -> str:
    """`CWE-89 (sql_injection)`: the CWE and the probe family that tests it."""
    kinds = [k.name for k in PROBE_KINDS.values() if cwe in k.cwes]
    return f"CWE-{cwe}" + (f" ({', '.join(kinds)})" if kinds else "")


def _short(label: str, width: int = 28) -> str:
    return "\n".join(textwrap.wrap(label, width)) or label


def _colors(n: int) -> list[tuple[float, float, float, float]]:
    cmap = plt.get_cmap("tab10")
    return [cmap(i % 10) for i in range(n)]


def correct_by_section(frame: pd.DataFrame) -> Figure:
    """correct and correct-and-secure per section and model, with 95% Wilson intervals."""
    table = by_section(frame)
    groups = group_order(frame)
    sections = sorted(table["section"].unique()) if len(table) else []
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 3.6), sharey=True, squeeze=False)
    width = 0.8 / max(1, len(groups))
    for ax, key in zip(axes[0], ("correct", "correct_secure"), strict=True):
        for i, (label, color) in enumerate(zip(groups, _colors(len(groups)), strict=True)):
            rows = table[table["group"] == label].set_index("section").reindex(sections)
            x = np.arange(len(sections)) + (i - (len(groups) - 1) / 2) * width
            values = rows[key].to_numpy(float)
            errors = np.clip([values - rows[f"{key}_low"], rows[f"{key}_high"] - values], 0, 1)
            ax.bar(
                x,
                np.nan_to_num(values),
                width,
                yerr=np.nan_to_num(errors),
                capsize=3,
                color=color,
                label=_short(label),
            )
        ax.set_xticks(range(len(sections)), sections)
        ax.set_ylim(0, 1.05)
        ax.set_title(key.replace("_", " and "))
    axes[0][0].set_ylabel("share of samples")
    fig.legend(
        *axes[0][0].get_legend_handles_labels(),
        loc="lower center",
        ncol=min(3, max(1, len(groups))),
        fontsize=8,
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.06 + 0.06 * math.ceil(len(groups) / 3), 1, 1))
    return fig


def cwe_heatmap(frame: pd.DataFrame) -> Figure:
    """Exploit rate per CWE (rows) and model (columns); grey where no probe ran."""
    table = cwe_exploits(frame)
    groups = group_order(frame)
    cwes = sorted(table["cwe"].unique()) if len(table) else []
    fig, ax = plt.subplots(figsize=(WIDTH, 1.4 + 0.6 * max(1, len(cwes))))
    rates = np.full((max(1, len(cwes)), len(groups)), np.nan)
    labels = [["not probed"] * len(groups) for _ in range(max(1, len(cwes)))]
    for row in table.itertuples():
        i, j = cwes.index(row.cwe), groups.index(str(row.group))
        rates[i, j] = row.rate
        labels[i][j] = f"{row.rate:.0%}\n{row.exploited}/{row.probes} probes"
    ax.set_facecolor("#dddddd")
    ax.imshow(np.ma.masked_invalid(rates), cmap=CMAP, vmin=0, vmax=1, aspect="auto")
    for i, row_labels in enumerate(labels):
        for j, text in enumerate(row_labels):
            ax.text(j, i, text, ha="center", va="center", fontsize=8)
    unprobed = not_probed(frame)
    ticks = [_short(g, 22) + (f"\n{unprobed[g]} sample(s) not probed" if unprobed[g] else "")
             for g in groups]  # fmt: skip
    ax.set_xticks(range(len(groups)), ticks, fontsize=8)
    ax.set_yticks(range(max(1, len(cwes))), [cwe_name(c) for c in cwes] or ["(no probe ran)"])
    ax.set_title("share of security probes that succeeded (grey: no probe ran, the server "
                 "never did)", fontsize=9)  # fmt: skip
    fig.tight_layout()
    return fig


def latency(frame: pd.DataFrame) -> Figure:
    """Per-sample p50, p95 and p99 under load, per model: boxes and the samples themselves."""
    ok = scored(frame)
    groups = group_order(frame)
    fig, axes = plt.subplots(1, 3, figsize=(WIDTH * 1.2, 1.4 + 0.7 * len(groups)), sharey=True)
    for ax, key in zip(axes, ("p50_ms", "p95_ms", "p99_ms"), strict=True):
        data = [ok[ok["group"] == g][key].dropna().to_numpy(float) for g in groups]
        shown = [d if d.size else np.array([np.nan]) for d in data]
        ax.boxplot(shown, orientation="horizontal", showfliers=False)
        rng = np.random.default_rng(0)
        for i, d in enumerate(data):
            ax.scatter(d, i + 1 + rng.uniform(-0.15, 0.15, d.size), s=12, alpha=0.7,
                       color=_colors(len(groups))[i])  # fmt: skip
        ax.set_xlim(left=0)
        ax.set_title(key.replace("_ms", " (ms)"))
    totals = [int((ok["group"] == g).sum()) for g in groups]
    served = [int(ok[ok["group"] == g]["p95_ms"].notna().sum()) for g in groups]
    axes[0].set_yticks(
        range(1, len(groups) + 1),
        [
            f"{_short(g, 34)}\nserved {n}/{t}"
            for g, n, t in zip(groups, served, totals, strict=True)
        ],
        fontsize=7,
    )
    axes[0].invert_yaxis()
    axes[1].set_xlabel("latency under load, ms (served samples only)")
    fig.tight_layout()
    return fig


def correct_vs_secure(frame: pd.DataFrame) -> Figure:
    """Each model's correct rate against its secure rate, with 95% Wilson intervals."""
    table = by_section(frame.assign(section="all"))
    fig, ax = plt.subplots(figsize=(WIDTH * 0.6, 4.2))
    for (_, row), color in zip(table.iterrows(), _colors(len(table)), strict=True):
        x, y = row["correct"], row["secure"]
        xerr = np.clip([[x - row["correct_low"]], [row["correct_high"] - x]], 0, 1)
        yerr = np.clip([[y - row["secure_low"]], [row["secure_high"] - y]], 0, 1)
        ax.errorbar(
            x,
            y,
            xerr=xerr,
            yerr=yerr,
            fmt="o",
            capsize=3,
            color=color,
            label=_short(str(row["group"]), 40),
        )
    ax.plot([0, 1], [0, 1], color="#999999", linewidth=0.8, linestyle=":")
    ax.set_xlim(-0.05, 1.05)
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlabel("correct (every hidden test passed)")
    ax.set_ylabel("secure (no probe succeeded, no bandit HIGH)")
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    return fig


def divergent_scenarios(frame: pd.DataFrame, top: int = 15) -> Figure:
    """correct-and-secure per scenario and model, for the scenarios where models differ most."""
    table = scenario_spread(frame).head(top)
    values = table.drop(columns="spread")
    fig, ax = plt.subplots(figsize=(WIDTH, 1.2 + 0.4 * max(1, len(values))))
    ax.set_facecolor("#dddddd")
    ax.imshow(
        np.ma.masked_invalid(values.to_numpy(float)), cmap="RdYlGn", vmin=0, vmax=1, aspect="auto"
    )
    for i in range(len(values)):
        for j in range(values.shape[1]):
            v = values.iat[i, j]
            ax.text(j, i, "n/a" if pd.isna(v) else f"{v:.2f}", ha="center", va="center", fontsize=8)
    ax.set_xticks(range(values.shape[1]), [_short(str(c), 22) for c in values.columns], fontsize=8)
    ax.set_yticks(
        range(len(values)),
        [f"{s} (spread {d:.2f})" for s, d in zip(values.index, table["spread"], strict=True)],
    )
    ax.set_title("correct and secure, scenarios where the runs differ most first", fontsize=9)
    fig.tight_layout()
    return fig


def power_curves(curves: Mapping[int, Sequence[tuple[int, float]]], target: float) -> Figure:
    """Simulated power of the gate against epochs, one line per catalogue size."""
    fig, ax = plt.subplots(figsize=(WIDTH * 0.7, 3.8))
    for n, curve in sorted(curves.items()):
        epochs, power = zip(*curve, strict=True)
        ax.plot(epochs, power, marker="o", markersize=3, label=f"{n} scenarios")
    ax.axhline(target, color="#999999", linestyle=":", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("epochs per scenario")
    ax.set_ylabel("power (gate fails the candidate)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def prompt_effects_figure(effects: pd.DataFrame) -> Figure:
    """Each variant's loss against the baseline prompt per metric, with its interval."""
    metrics = list(dict.fromkeys(effects["metric"]))
    variants = list(dict.fromkeys(effects["variant"]))
    fig, axes = plt.subplots(1, 2, figsize=(WIDTH, 0.8 + 0.35 * len(metrics) * len(variants)),
                             squeeze=False)  # fmt: skip
    for ax, unit in zip(axes[0], ("points", "% slower"), strict=True):
        shown = effects[effects["unit"] == unit]
        labels = []
        for i, ((metric, variant), row) in enumerate(
            shown.set_index(["metric", "variant"]).iterrows()
        ):
            color = _colors(len(variants))[variants.index(str(variant))]
            x, low, high = row["loss"], row["low"], row["high"]
            if not math.isnan(x):
                ax.errorbar(x, i, xerr=np.clip([[x - low], [high - x]], 0, None), fmt="o",
                            color=color, capsize=3)  # fmt: skip
            labels.append(f"{metric}" + (f" · {_short(str(variant), 30)}" if len(variants) > 1
                                         else ""))  # fmt: skip
        ax.axvline(0, color="#999999", linewidth=0.8)
        ax.set_yticks(range(len(labels)), labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel(f"variant's loss, {unit} (right: worse)")
    fig.tight_layout()
    return fig
