"""Does gating on the fraction of hidden tests passed buy power over `correct_secure`?

A simulation of the gate's rule (paired by scenario, the cluster-robust t interval, a one-sided
95 % bound, an allowed loss of 0 so that every metric is judged on detection alone) on two
catalogues that differ only in the candidate: the candidate's pass rate is 5 points lower in
every scenario (baseline rates spread evenly from 10 % to 90 %, as scripts/gate_power.py).
How a failing sample fails is drawn from the committed validation records: the `functional`
fraction of every submission they scored that was not correct (the labelled mutants, the empty
submissions, the starting code of the kinds that start from code).

Two ways a prompt change can make samples fail, which give the fraction different information:

- **flip**: the change only turns passes into failures; a failure's depth is drawn from the
  records whatever the prompt. Then pass/fail is a sufficient statistic for the change, and no
  summary of the per-test outcomes can add information; the fraction only adds the noise of
  which near miss a failure was.
- **latent**: a sample's quality is a normal draw whose mean the change lowers; it passes when
  its quality is above 0, and a failure's depth grows as its quality falls (the records' depths,
  in order of quality). Then a worse prompt also fails more deeply, and the fraction sees it in
  every scenario, including the ones a model nearly always passes or nearly always fails.

Designs compared: `correct_secure` (each pair's 0/1 outcomes), `functional` (each pair's
fractions), and per-test outcomes clustered by scenario, which with the same tests in both runs
is the same estimate as `functional`'s, so it is not simulated apart.

    python scripts/gate_power_per_sample.py [--runs 2000]
    python scripts/gate_power_per_sample.py --table   # the README's table, from the figures
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.integrate import quad
from scipy.stats import norm
from scipy.stats import t as student_t

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backbench.gate_policy import DEFAULT_CONFIDENCE  # noqa: E402
from backbench.report._power import DEFAULT_POWER, EPOCH_GRID, baseline_rates  # noqa: E402

DROP = 0.05
SIZES = (10, 30, 60)
# the gate's two-sided interval: its low end is a one-sided bound at (1 + confidence) / 2
ONE_SIDED = (1 + DEFAULT_CONFIDENCE) / 2
DEFAULT_OUT = ROOT / "results" / "benchmarks" / "gate_power_per_sample.json"


def failure_depths(records: Path = ROOT / "results" / "validation") -> np.ndarray:
    """1 - functional of every scored submission that was not correct, by each scenario's
    newest record."""
    newest: dict[str, Path] = {}
    for path in sorted(records.glob("*.json")):
        for scenario in json.loads(path.read_text())["scenarios"]:
            newest[scenario] = path
    depths = []
    for scenario, path in newest.items():
        for record in json.loads(path.read_text())["records"]:
            if record.get("scenario") != scenario:
                continue
            for scores in record["scores"]:
                functional = scores.get("functional")
                if scores.get("correct") == 0 and functional is not None:
                    if not math.isnan(functional):
                        depths.append(1.0 - functional)
    return np.sort(np.array(depths))


Draw = Callable[[np.random.Generator, np.ndarray, int, int], np.ndarray]


def flip_draw(depths: np.ndarray) -> Draw:
    """Samples (runs, scenarios, epochs, [pass, fraction]) of the flip model."""

    def draw(rng: np.random.Generator, rates: np.ndarray, runs: int, epochs: int) -> np.ndarray:
        shape = (runs, rates.size, epochs)
        passed = rng.random(shape) < rates[None, :, None]
        depth = rng.choice(depths, size=shape)
        return np.stack([passed, np.where(passed, 1.0, 1.0 - depth)], axis=-1)

    return draw


def latent_draw(depths: np.ndarray, shift: np.ndarray | None = None) -> Draw:
    """Samples of the latent model; the candidate's draw takes the means lowered by `shift`."""

    def draw(rng: np.random.Generator, rates: np.ndarray, runs: int, epochs: int) -> np.ndarray:
        # the baseline's mean: P(quality > 0) = rate; the depth scale is the baseline's
        base_mean = norm.ppf(np.clip(rates, 1e-6, 1 - 1e-6))
        mean = base_mean if shift is None else base_mean - shift
        quality = rng.normal(mean[None, :, None], 1.0, (runs, rates.size, epochs))
        passed = quality > 0
        # a failure's rank among the baseline's failures of its scenario -> the records' depth
        # of that rank: P(Q < q | Q < 0) under the baseline
        below = norm.cdf(quality - base_mean[None, :, None])
        at_zero = norm.cdf(-base_mean)[None, :, None]
        rank = np.clip(1.0 - below / at_zero, 0.0, 1.0 - 1e-9)
        depth = depths[(rank * depths.size).astype(int)]
        return np.stack([passed, np.where(passed, 1.0, 1.0 - depth)], axis=-1)

    return draw


def latent_shift(rates: np.ndarray) -> np.ndarray:
    """Per scenario, the lowering of the mean that takes `DROP` off its pass rate."""
    lowered = np.clip(rates - DROP, 1e-6, 1)
    return norm.ppf(np.clip(rates, 1e-6, 1 - 1e-6)) - norm.ppf(lowered)


def power(
    base: Draw, cand: Draw, scenarios: int, epochs: int, runs: int, seed: int
) -> dict[str, float]:
    """Per metric, the share of runs whose cluster-robust bound shows a loss above 0."""
    rng = np.random.default_rng([seed, scenarios, epochs])
    rates = baseline_rates(scenarios, (0.1, 0.9))
    # the candidate's rates: DROP lower (the latent draw lowers its mean instead)
    b = base(rng, rates, runs, epochs)
    c = cand(rng, np.clip(rates - DROP, 0, 1), runs, epochs)
    t_crit = student_t.ppf(ONE_SIDED, scenarios - 1)
    found = {}
    for index, metric in enumerate(("correct_secure", "functional")):
        loss = (b[..., index] - c[..., index]).mean(axis=2)  # per run and scenario
        half = t_crit * loss.std(axis=1, ddof=1) / math.sqrt(scenarios)
        found[metric] = float(np.mean(loss.mean(axis=1) - half > 0))
    return found


def epochs_needed(
    base: Draw, cand: Draw, scenarios: int, runs: int, target: float = DEFAULT_POWER
) -> dict[str, int | None]:
    """Per metric, the fewest epochs of the grid whose power reaches `target`."""
    needed: dict[str, int | None] = {"correct_secure": None, "functional": None}
    for epochs in EPOCH_GRID:
        reached = power(base, cand, scenarios, epochs, runs, seed=11)
        for metric, value in reached.items():
            if needed[metric] is None and value >= target:
                needed[metric] = epochs
        if all(v is not None for v in needed.values()) or epochs >= 500:
            break
    return needed


def simulate(runs: int) -> dict[str, Any]:
    """Epochs for power per model, catalogue size and metric, with the figures they rest on."""
    depths = failure_depths()
    results = []
    for scenarios in SIZES:
        rates = baseline_rates(scenarios, (0.1, 0.9))
        models: dict[str, tuple[Draw, Draw]] = {
            "flip": (flip_draw(depths), flip_draw(depths)),
            # the candidate's draw gets rates - DROP, which latent_draw ignores for its depth
            # scale; build it on the baseline's rates with the shift instead
            "latent": (latent_draw(depths), _shifted(depths, rates)),
        }
        for model, (base, cand) in models.items():
            needed = epochs_needed(base, cand, scenarios, runs)
            row = {"model": model, "scenarios": scenarios, "epochs": needed}
            print(json.dumps(row), flush=True)
            results.append(row)
    return {
        "runs": runs, "drop": DROP, "confidence_one_sided": ONE_SIDED, "allowed_loss": 0,
        "information_gain_bound": round(information_gain_bound(), 3),
        "failures": int(depths.size), "mean_depth": round(float(depths.mean()), 4),
        "median_depth": round(float(np.median(depths)), 4), "results": results,
    }  # fmt: skip


def _shifted(depths: np.ndarray, rates: np.ndarray) -> Draw:
    """The latent candidate: the baseline's depth scale, means lowered by latent_shift."""
    shifted = latent_draw(depths, latent_shift(rates))

    def draw(rng: np.random.Generator, _: np.ndarray, runs: int, epochs: int) -> np.ndarray:
        return shifted(rng, rates, runs, epochs)

    return draw


def information_gain_bound(rates: tuple[float, float] = (0.1, 0.9)) -> float:
    """The most a perfect measure of failure depth could gain, in the latent model.

    Fisher information about the mean of a sample's quality (a unit normal): pass/fail gives
    phi(mu)^2 / (p (1 - p)); pass/fail plus the exact quality of every failure (a normal
    censored above 0) gives E[(Q - mu)^2; Q < 0] + phi(mu)^2 / p. Their ratio, averaged over
    baseline pass rates spread evenly over `rates` (the power simulation's catalogue), is the
    factor by which any per-test summary could cut the samples needed: a pass carries no
    depth, so the hidden tests cannot tell a sample that barely passed from a perfect one.
    """
    ratios = []
    for p in np.linspace(*rates, 81):
        mu = norm.ppf(p)
        binary = norm.pdf(mu) ** 2 / (p * (1 - p))
        failed, _ = quad(lambda q, mu=mu: (q - mu) ** 2 * norm.pdf(q - mu), -np.inf, 0.0)
        ratios.append((failed + norm.pdf(mu) ** 2 / p) / binary)
    return float(np.mean(ratios))


def table(figures: dict[str, Any]) -> str:
    """Epochs (and samples a side) for 80 % power, per model, catalogue size and metric."""
    lines = [
        "| how a worse prompt fails | scenarios | `correct_secure` | `functional` | "
        "`functional` is cheaper by |",
        "| --- | --- | --- | --- | --- |",
    ]
    for row in figures["results"]:
        n, cs, fn = row["scenarios"], row["epochs"]["correct_secure"], row["epochs"]["functional"]

        def cell(epochs: int | None, size: int = n) -> str:
            return f"{epochs} ({epochs * size} samples)" if epochs else "over 500"

        ratio = f"{cs / fn:.1f}x" if cs and fn else "n/a"
        lines.append(f"| {row['model']} | {n} | {cell(cs)} | {cell(fn)} | {ratio} |")
    bound = figures["information_gain_bound"]
    exact = "latent, an exact depth of every failure (the bound)"
    lines.append(f"| {exact} | any | | | {bound:.2f}x |")
    return "\n".join(lines)


def main() -> int:
    """Run the simulation and write its figures, or print the table of the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--table", action="store_true", help="print the table of --out")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.out.read_text())))
        return 0
    args.out.write_text(json.dumps(simulate(args.runs), indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
