"""The speed-up check: the submission against the unchanged starting code, in the same slices.

The load stage measures the starting code (files/) beside the submission in strictly alternating
slices (locustfile.py) and records each cycle's p95 of both. Cycles are the repeated runs of a
significance test, as SWE-Perf counts a speed-up only when it is significant: the one-sided
Mann-Whitney U test of `required` x the submission's p95 against the starting code's. A server
that answered nothing in a slice has no p95 there, which counts as infinitely slow.
"""

from __future__ import annotations

import math
import statistics

from backbench.scoring.kinds import KindVerdict

# fewer cycles than this cannot reach p < 0.05 (Mann-Whitney U's smallest p at n = m = 3 is 0.05)
MIN_CYCLES = 4


def speedup_verdict(
    cycle_p95: list[list[float | None]], required: float, alpha: float = 0.05
) -> KindVerdict:
    """`speedup`: the median over cycles of starting p95 / submission p95; passes when the
    submission's p95 times `required` is significantly below the starting code's."""
    pairs = [(c[0], c[1]) for c in cycle_p95 if len(c) >= 2 and c[1]]
    if len(pairs) < MIN_CYCLES:
        why = f"speedup: {len(pairs)} measured cycles, fewer than {MIN_CYCLES}: not judged"
        return KindVerdict({"speedup": math.nan, "speedup_p": math.nan}, ["speedup"], why)
    submission = [a if a else math.inf for a, _ in pairs]
    baseline = [float(b) for _, b in pairs if b]
    ratios = [b / max(a, 0.01) for a, b in zip(submission, baseline, strict=True)]
    factor = round(statistics.median(ratios), 3)
    scaled = [a * required for a in submission]
    # imported here: scipy.stats costs about 0.9 s, and every `inspect eval` imports this module
    from scipy.stats import mannwhitneyu

    p = float(mannwhitneyu(scaled, baseline, alternative="less").pvalue)
    met = p < alpha
    text = (
        f"speedup: {factor}x the starting code's p95 (median of {len(pairs)} cycles); "
        f"{required}x {'significantly reached' if met else 'not shown'} "
        f"(one-sided Mann-Whitney U, p = {p:.2g}, alpha {alpha})"
    )
    return KindVerdict(
        {"speedup": factor, "speedup_p": round(p, 6)}, [] if met else ["speedup"], text
    )
