"""The gate's default policy: which metrics it judges and how much loss it allows.

Kept apart from backbench.report (pandas, matplotlib) so that the command line can show these
defaults without loading it.
"""

DEFAULT_METRICS = ("correct_secure", "correct", "p95_ratio")
DEFAULT_MAX_DROP = 2.0  # points of a rate
DEFAULT_MAX_SLOWDOWN = 25.0  # percent; the reference's p95 varies by up to 12 % run to run
DEFAULT_CONFIDENCE = 0.95
# keys whose higher value is better, compared in points (100 x the difference of the rates)
RATE_KEYS = ("correct", "correct_secure", "functional", "secure", "uptime", "quality",
             "slo_met", "robust")  # fmt: skip
LOWER_IS_BETTER = ("error_rate",)
LATENCY_RATIOS = {"p50_ratio": "p50_ms", "p95_ratio": "p95_ms", "p99_ratio": "p99_ms"}
# a latency the scorer also measured against the scenario's reference, beside the submission:
# compared through that ratio when both runs have it, so that two machines (or a busy and a
# quiet hour) do not pass for a faster or slower prompt
AGAINST_REFERENCE = {"p95_ratio": "p95_ratio"}
GATE_METRICS = (*RATE_KEYS, *LOWER_IS_BETTER, *LATENCY_RATIOS)
