"""How often the gate cries wolf: A/A simulations of its interval methods, by epochs.

Each replication draws a catalogue of scenarios and two runs of one configuration, except that
each scenario reacts to the "change" in its own way: per-scenario effects drawn with mean zero,
so that over scenarios the change makes no difference, while the epochs of one scenario share
its draw. The gate alarms when its interval's low end lies above the allowed loss; with an
allowed loss of 0 a calibrated one-sided 95 % bound alarms 2.5 % of the time.

- correct_secure: each scenario's success rate has logit ~ N(0, 1.5^2); the change moves it
  by a scenario effect ~ N(0, TAU^2) on the logit scale; each epoch is a Bernoulli draw. Loss
  per pair: 100 x (baseline - candidate) points.
- p95_ratio: the log ratio of a pair's p95 latencies is a scenario effect ~ N(0, 0.15^2) (an
  order effect, a cold cache) plus epoch noise ~ N(0, 0.12^2).

Methods: the paired bootstrap over (scenario, epoch) pairs the gate used before, the cluster
bootstrap (whole scenarios resampled) and the cluster-robust t interval (CR1, G - 1 degrees of
freedom), the gate's method now.

    python scripts/gate_simulation.py [--reps 2000] [--out results/benchmarks/gate_simulation.json]
    python scripts/gate_simulation.py --table   # the README's table, from the committed figures
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backbench.gate_policy import DEFAULT_MAX_DROP, DEFAULT_MAX_SLOWDOWN  # noqa: E402
from backbench.report._stats import (  # noqa: E402
    Interval,
    bootstrap_mean,
    cluster_bootstrap_mean,
    cluster_t_interval,
)

EPOCHS = (1, 5, 20)
SCENARIOS = (10, 30)
TAU = 0.5  # the spread of scenarios' reactions to the change, logit scale
LATENCY_SCENARIO_SD, LATENCY_EPOCH_SD = 0.15, 0.12
RESAMPLES = 2000
Method = Callable[[np.ndarray, np.ndarray], Interval]
METHODS: dict[str, Method] = {
    "paired bootstrap (before)": lambda v, c: bootstrap_mean(v, resamples=RESAMPLES),
    "cluster bootstrap": lambda v, c: cluster_bootstrap_mean(v, c, resamples=RESAMPLES),
    "cluster-robust t (now)": lambda v, c: cluster_t_interval(v, c),
}


def rate_losses(rng: np.random.Generator, scenarios: int, epochs: int) -> np.ndarray:
    """Per-pair correct_secure losses in points, scenario by scenario (rows)."""
    logit = rng.normal(0, 1.5, scenarios)
    effect = rng.normal(0, TAU, scenarios)
    base_p = 1 / (1 + np.exp(-logit))
    cand_p = 1 / (1 + np.exp(-(logit + effect)))
    base = rng.random((scenarios, epochs)) < base_p[:, None]
    cand = rng.random((scenarios, epochs)) < cand_p[:, None]
    return 100.0 * (base.astype(float) - cand.astype(float))


def latency_losses(rng: np.random.Generator, scenarios: int, epochs: int) -> np.ndarray:
    """Per-pair log p95 ratios (candidate over baseline), scenario by scenario (rows)."""
    effect = rng.normal(0, LATENCY_SCENARIO_SD, scenarios)
    return effect[:, None] + rng.normal(0, LATENCY_EPOCH_SD, (scenarios, epochs))


def alarm_rates(
    draw: Callable[[np.random.Generator, int, int], np.ndarray],
    threshold: float,
    to_loss: Callable[[float], float],
    scenarios: int,
    epochs: int,
    reps: int,
    seed: int,
) -> dict[str, dict[str, float]]:
    """Per method: how often the low end lies above 0 and above the gate's allowed loss."""
    rng = np.random.default_rng(seed)
    above_zero = dict.fromkeys(METHODS, 0)
    above_threshold = dict.fromkeys(METHODS, 0)
    for _ in range(reps):
        losses = draw(rng, scenarios, epochs)
        clusters = np.repeat(np.arange(scenarios), epochs)
        values = losses.reshape(-1)
        for name, method in METHODS.items():
            low = to_loss(method(values, clusters).low)
            above_zero[name] += low > 0
            above_threshold[name] += low > threshold
    return {
        name: {"alarm_above_0": above_zero[name] / reps,
               "alarm_at_default": above_threshold[name] / reps}
        for name in METHODS
    }  # fmt: skip


def simulate(reps: int) -> dict[str, Any]:
    """Every metric, catalogue size and epoch count."""
    metrics = {
        "correct_secure": (rate_losses, DEFAULT_MAX_DROP, lambda v: v),
        "p95_ratio": (latency_losses, DEFAULT_MAX_SLOWDOWN, lambda v: 100 * (math.exp(v) - 1)),
    }
    results: list[dict[str, Any]] = []
    for metric, (draw, threshold, to_loss) in metrics.items():
        for scenarios in SCENARIOS:
            for epochs in EPOCHS:
                started = time.monotonic()
                rates = alarm_rates(draw, threshold, to_loss, scenarios, epochs, reps, seed=7)
                results.append({
                    "metric": metric, "scenarios": scenarios, "epochs": epochs,
                    "allowed_loss": threshold, "rates": rates,
                    "seconds": round(time.monotonic() - started, 1),
                })  # fmt: skip
                print(metric, scenarios, epochs, json.dumps(rates), flush=True)
    return {
        "reps": reps, "resamples": RESAMPLES, "nominal_one_sided": 0.025, "tau_logit": TAU,
        "latency_sd": {"scenario": LATENCY_SCENARIO_SD, "epoch": LATENCY_EPOCH_SD},
        "results": results,
    }  # fmt: skip


def table(figures: dict[str, Any]) -> str:
    """The README's table: alarm rates before and now, and now at the gate's allowed loss."""
    lines = [
        "| metric | scenarios | epochs | paired bootstrap (before), low > 0 | "
        "cluster bootstrap, low > 0 | cluster-robust t (now), low > 0 | "
        "now, low > the allowed loss |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in figures["results"]:
        rates = row["rates"]
        cells = [f"{100 * rates[m]['alarm_above_0']:.1f} %" for m in METHODS]
        allowed = f"{100 * rates['cluster-robust t (now)']['alarm_at_default']:.1f} %"
        lines.append(
            f"| {row['metric']} | {row['scenarios']} | {row['epochs']} | "
            + " | ".join(cells)
            + f" | {allowed} (allowed {row['allowed_loss']:g}) |"
        )
    return "\n".join(lines)


DEFAULT_OUT = ROOT / "results" / "benchmarks" / "gate_simulation.json"


def main() -> int:
    """Run the simulation and write its figures as JSON, or print the table of the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--table", action="store_true", help="print the table of --out")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.out.read_text())))
        return 0
    figures = simulate(args.reps)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
