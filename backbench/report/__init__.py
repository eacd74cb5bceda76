"""Reports, a CI gate and notebook helpers over backbench's eval logs (inspect_ai.analysis)."""

from backbench.gate_policy import (
    DEFAULT_MAX_DROP,
    DEFAULT_MAX_SLOWDOWN,
    DEFAULT_METRICS,
    GATE_METRICS,
)
from backbench.report import _figures as figures
from backbench.report._gate import (
    GateResult,
    MetricResult,
    run_gate,
    summary_markdown,
)
from backbench.report._logs import LogInputError, log_paths, read_samples
from backbench.report._notebook import (
    REPO_ROOT,
    prompt_effects,
    resolve_log_dir,
    scenario_differences,
)
from backbench.report._power import PowerSetting, epochs_for_power, power_curve, simulated_power
from backbench.report._report import build_report, render_markdown, report_logs, write_report
from backbench.report._stats import (
    Interval,
    bootstrap_mean,
    cluster_bootstrap_mean,
    cluster_t_interval,
    pass_at_k,
    wilson,
)
from backbench.report._tables import (
    appendix,
    by_section,
    cwe_exploits,
    harness_errors,
    headline,
    scenario_spread,
    scored,
    success_metrics,
)

__all__ = [
    "DEFAULT_MAX_DROP",
    "DEFAULT_MAX_SLOWDOWN",
    "DEFAULT_METRICS",
    "GATE_METRICS",
    "GateResult",
    "Interval",
    "LogInputError",
    "MetricResult",
    "PowerSetting",
    "REPO_ROOT",
    "appendix",
    "bootstrap_mean",
    "cluster_bootstrap_mean",
    "cluster_t_interval",
    "build_report",
    "by_section",
    "cwe_exploits",
    "epochs_for_power",
    "figures",
    "harness_errors",
    "headline",
    "log_paths",
    "pass_at_k",
    "power_curve",
    "prompt_effects",
    "read_samples",
    "render_markdown",
    "report_logs",
    "resolve_log_dir",
    "run_gate",
    "scenario_differences",
    "scenario_spread",
    "scored",
    "simulated_power",
    "success_metrics",
    "summary_markdown",
    "wilson",
    "write_report",
]
