"""How many epochs the gate needs to catch a drop: a simulation of the gate's own rule.

A simulated catalogue has `n` scenarios whose baseline success rates are spread evenly over
`rates` (default 10 % to 90 %); the candidate's rate is `drop` lower in every scenario. Each of
`runs` simulated gate runs draws one success or failure per scenario, epoch and side, forms the
paired differences, and applies the gate's rule (backbench.report._gate.loss_exceeds) to their
cluster-robust interval (backbench.report._stats.cluster_t_interval, clustered by scenario).
Power is the share of runs in which the gate fails the candidate.

The paired differences take three values (-1, 0, 1), so a scenario's pairs are the three counts
of a multinomial; with the same epochs in every scenario the cluster-robust interval is
Student's t over the scenarios' mean losses, computed here for all runs at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.stats import t as student_t

from backbench.gate_policy import DEFAULT_CONFIDENCE, DEFAULT_MAX_DROP
from backbench.report._gate import loss_exceeds
from backbench.report._stats import Interval

EPOCH_GRID = (
    1,
    2,
    3,
    4,
    5,
    6,
    8,
    10,
    12,
    15,
    20,
    25,
    30,
    40,
    50,
    60,
    75,
    100,
    125,
    150,
    200,
    250,
    300,
    400,
    500,
    600,
    750,
    1000,
    1250,
    1500,
    2000,
    2500,
    3000,
)
DEFAULT_RATES = (0.1, 0.9)
DEFAULT_DROP = 5.0  # points
DEFAULT_POWER = 0.8


@dataclass(frozen=True)
class PowerSetting:
    """What the simulation assumes; every number of the README's power table comes from one."""

    drop: float = DEFAULT_DROP  # true drop, points
    max_drop: float = DEFAULT_MAX_DROP  # the gate's allowed drop, points
    confidence: float = DEFAULT_CONFIDENCE
    rates: tuple[float, float] = DEFAULT_RATES
    runs: int = 1000
    seed: int = 0


def baseline_rates(n_scenarios: int, rates: tuple[float, float]) -> np.ndarray:
    """Per-scenario baseline success rates, evenly spread."""
    if n_scenarios == 1:
        return np.array([sum(rates) / 2])
    return np.linspace(rates[0], rates[1], n_scenarios)


def simulated_power(n_scenarios: int, epochs: int, setting: PowerSetting) -> float:
    """The share of simulated gate runs that fail a candidate `setting.drop` points worse."""
    rng = np.random.default_rng([setting.seed, n_scenarios, epochs])
    base = baseline_rates(n_scenarios, setting.rates)
    cand = np.clip(base - setting.drop / 100, 0, 1)
    # a pair's loss is -1 (only the candidate succeeds), 0, or 1 (only the baseline does)
    outcome = np.stack(
        [(1 - base) * cand, base * cand + (1 - base) * (1 - cand), base * (1 - cand)], axis=1
    )
    counts = rng.multinomial(epochs, outcome, size=(setting.runs, n_scenarios))
    # each run's per-scenario mean loss, in points
    means = 100.0 * (counts[:, :, 2] - counts[:, :, 0]) / epochs
    estimate = means.mean(axis=1)
    if n_scenarios < 2:
        return 0.0  # one scenario gives no interval: the gate never fails it
    half = student_t.ppf(0.5 + setting.confidence / 2, n_scenarios - 1) * (
        means.std(axis=1, ddof=1) / np.sqrt(n_scenarios)
    )
    failed = sum(
        loss_exceeds(Interval(float(e), float(e - h), float(e + h)), setting.max_drop)
        for e, h in zip(estimate, half, strict=True)
    )
    return failed / setting.runs


def power_curve(
    n_scenarios: int,
    setting: PowerSetting,
    grid: Sequence[int] = EPOCH_GRID,
    stop_at: float = DEFAULT_POWER,
) -> list[tuple[int, float]]:
    """(epochs, power) along `grid`, up to the first point at or above `stop_at`."""
    curve = []
    for epochs in grid:
        power = simulated_power(n_scenarios, epochs, setting)
        curve.append((epochs, power))
        if power >= stop_at:
            break
    return curve


def epochs_for_power(
    n_scenarios: int,
    setting: PowerSetting,
    target: float = DEFAULT_POWER,
    grid: Sequence[int] = EPOCH_GRID,
) -> int | None:
    """The fewest epochs of `grid` whose simulated power reaches `target`; None if none does."""
    return first_reaching(power_curve(n_scenarios, setting, grid, target), target)


def first_reaching(curve: Sequence[tuple[int, float]], target: float) -> int | None:
    """The fewest epochs of a power curve at or above `target`; None if none is."""
    return next((epochs for epochs, power in curve if power >= target), None)


def power_table(sizes: Sequence[int], settings: Sequence[PowerSetting]) -> str:
    """The README's table: epochs for 80 % power per catalogue size (rows) and setting."""
    header = ["scenarios", *(f"drop {s.drop:g}, `--max-drop {s.max_drop:g}`" for s in settings)]
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for n in sizes:
        cells = []
        for setting in settings:
            epochs = epochs_for_power(n, setting)
            cells.append(f"{epochs} ({n * epochs} samples a side)" if epochs else
                         f"over {EPOCH_GRID[-1]}")  # fmt: skip
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
