"""One server's load figures from its exact latencies: standard library only, since the
locustfile imports it under gevent (and inspect must never be imported there)."""

from __future__ import annotations

import math

PERCENTILES = {"50%": 0.5, "95%": 0.95, "99%": 0.99}


def percentile(ordered: list[float], q: float) -> float:
    """Nearest-rank percentile of sorted values."""
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def figures(times_ms: list[float], failures: int, seconds: float) -> dict[str, str]:
    """Count, failures, requests per open second and percentiles, with the column names of
    locust's aggregated statistics (which round latencies to buckets: at a few milliseconds
    that alone would move a ratio by 10%)."""
    ordered = sorted(times_ms)
    row = {
        "Name": "Aggregated",
        "Request Count": str(len(ordered)),
        "Failure Count": str(failures),
        "Requests/s": str(len(ordered) / seconds if seconds > 0 else 0.0),
    }
    for column, q in PERCENTILES.items():
        row[column] = str(round(percentile(ordered, q), 2) if ordered else 0)
    return row
