"""Intervals and estimators: Wilson intervals, pass@k, and the paired bootstrap of the gate."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri
from scipy.stats import t as student_t

from backbench.gate_policy import DEFAULT_CONFIDENCE

DEFAULT_RESAMPLES = 10_000


def z_value(confidence: float) -> float:
    """The two-sided normal quantile of a confidence level (1.96 at 95%)."""
    return float(ndtri(0.5 + confidence / 2))


def wilson(successes: float, n: int, confidence: float = DEFAULT_CONFIDENCE) -> tuple[float, float]:
    """Wilson score interval of a proportion; (nan, nan) when n is 0.

    Unlike the normal interval it does not collapse to a point at 0/n or n/n: 3 of 3 correct
    gives (0.44, 1.0) at 95%, which is what three samples can tell.
    """
    if n <= 0:
        return math.nan, math.nan
    z = z_value(confidence)
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k of one scenario: n attempts, c of them correct (Chen et al., 2021)."""
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} attempts, got {n}")
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


@dataclass(frozen=True)
class Interval:
    """A point estimate and its confidence interval."""

    estimate: float
    low: float
    high: float


def bootstrap_mean(
    values: Sequence[float] | np.ndarray,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """The mean of `values` with a percentile bootstrap interval (resampling the values).

    The gate's values are paired differences, one per (scenario, epoch) pair: resampling them
    keeps each pair whole, so what the two runs share (the scenario's difficulty) cancels.
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Interval(math.nan, math.nan, math.nan)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    # in chunks: resamples x pairs indices at once would hold large runs in memory
    chunk = max(1, 2_000_000 // data.size)
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, data.size, size=(stop - start, data.size))
        means[start:stop] = data[idx].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(data.mean()), float(low), float(high))


def cluster_t_interval(
    values: Sequence[float] | np.ndarray,
    clusters: Sequence[str] | np.ndarray,
    confidence: float = DEFAULT_CONFIDENCE,
) -> Interval:
    """The mean of `values` with a cluster-robust interval: clustered by scenario.

    Pairs of one scenario share that scenario's reaction to the change (its epochs are not
    independent draws), so the error comes from the spread between scenarios: the CR1 standard
    error of the mean, sum over clusters of the squared residual sums, scaled by G / (G - 1),
    with Student's t on G - 1 degrees of freedom (Cameron and Miller, 2015). One cluster gives
    no interval at all (-inf, inf).
    """
    data = np.asarray(values, dtype=float)
    labels = np.asarray(clusters)
    if data.size == 0:
        return Interval(math.nan, math.nan, math.nan)
    mean = float(data.mean())
    _, index = np.unique(labels, return_inverse=True)
    groups = int(index.max()) + 1
    if groups < 2:
        return Interval(mean, -math.inf, math.inf)
    sums = np.bincount(index, weights=data - mean, minlength=groups)
    se = math.sqrt(groups / (groups - 1) * float((sums**2).sum())) / data.size
    half = float(student_t.ppf(0.5 + confidence / 2, groups - 1)) * se
    return Interval(mean, mean - half, mean + half)


def cluster_bootstrap_mean(
    values: Sequence[float] | np.ndarray,
    clusters: Sequence[str] | np.ndarray,
    confidence: float = DEFAULT_CONFIDENCE,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Interval:
    """The mean of `values` with a percentile bootstrap that resamples whole clusters."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return Interval(math.nan, math.nan, math.nan)
    _, index = np.unique(np.asarray(clusters), return_inverse=True)
    groups = int(index.max()) + 1
    sums = np.bincount(index, weights=data, minlength=groups)
    counts = np.bincount(index, minlength=groups).astype(float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, groups, size=(resamples, groups))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    return Interval(float(data.mean()), float(low), float(high))
