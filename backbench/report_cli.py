"""`backbench report` and `backbench gate`: their arguments here, their work in backbench.report.

backbench.report loads pandas, matplotlib and inspect_ai; it is imported only when one of these
commands runs, so the other commands start without it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from backbench.gate_policy import (
    DEFAULT_CONFIDENCE,
    DEFAULT_MAX_DROP,
    DEFAULT_MAX_SLOWDOWN,
    DEFAULT_METRICS,
    GATE_METRICS,
)

USAGE_ERROR = 2  # every backbench command's exit code on bad input
DEFAULT_POWER_RUNS = 1000  # the README's table's setting: the same seeded numbers


def add_report(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `report` subcommand."""
    parser = commands.add_parser(
        "report",
        help="report.md and report.html with figures from eval logs, by model and prompt",
        description=(
            "Read backbench eval logs (files or folders, searched recursively) and write "
            "report.md, a self-contained report.html and figures/*.png under --out: the "
            "headline rates with 95%% intervals, the seven success metrics per model and "
            "section, exploit rates per CWE, figures, the epochs the gate needs for power, "
            f"and every sample. Exit {USAGE_ERROR} on no logs, unreadable logs, or logs of "
            "another task."
        ),
    )
    parser.add_argument("logs", nargs="+", metavar="LOG_OR_DIR", help="eval logs or folders")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--confidence",
        type=float,
        default=DEFAULT_CONFIDENCE,
        help=f"interval level (default {DEFAULT_CONFIDENCE:g})",
    )
    parser.add_argument(
        "--power-runs", type=int, default=DEFAULT_POWER_RUNS, metavar="N",
        help=f"simulated gate runs per point of the power figure (default {DEFAULT_POWER_RUNS}, "
        "about 30 s of CPU; fewer for a rougher figure; 0 leaves the power section out)",
    )  # fmt: skip
    parser.set_defaults(handler=_report)


def add_gate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The `gate` subcommand."""
    parser = commands.add_parser(
        "gate",
        help="fail (exit 1) when the candidate run is worse than the baseline, paired by scenario",
        description=(
            "Pair the baseline's and the candidate's samples by scenario and epoch, and for "
            "each metric take the cluster-robust interval of the candidate's paired loss, "
            "clustered by scenario. Exit 1 when a metric's whole "
            "interval is beyond the allowed loss, 0 otherwise, "
            f"{USAGE_ERROR} on unusable input (missing logs, different scenario sets, the same "
            "prompt on both sides with --prompts-differ). Prints a Markdown summary."
        ),
    )
    parser.add_argument("--baseline", nargs="+", required=True, metavar="LOGS")
    parser.add_argument("--candidate", nargs="+", required=True, metavar="LOGS")
    parser.add_argument(
        "--metrics", default=",".join(DEFAULT_METRICS),
        help=f"comma-separated (default {','.join(DEFAULT_METRICS)}; known: "
        f"{', '.join(GATE_METRICS)})",
    )  # fmt: skip
    parser.add_argument(
        "--max-drop", type=float, default=DEFAULT_MAX_DROP, metavar="POINTS",
        help=f"allowed drop of a rate, in points (default {DEFAULT_MAX_DROP:g})",
    )  # fmt: skip
    parser.add_argument(
        "--max-slowdown", type=float, default=DEFAULT_MAX_SLOWDOWN, metavar="PERCENT",
        help=f"allowed latency increase of the *_ratio metrics (default {DEFAULT_MAX_SLOWDOWN:g})",
    )  # fmt: skip
    parser.add_argument(
        "--confidence",
        type=float,
        default=DEFAULT_CONFIDENCE,
        help=f"interval level (default {DEFAULT_CONFIDENCE:g})",
    )
    parser.add_argument(
        "--prompts-differ", action="store_true",
        help=f"the two sides must have different system prompts (exit {USAGE_ERROR} if not)",
    )  # fmt: skip
    parser.add_argument("--summary", type=Path, metavar="FILE", help="also write the summary here")
    parser.set_defaults(handler=_gate)


def _error(message: str) -> int:
    print(f"backbench: error: {message}", file=sys.stderr)
    return USAGE_ERROR


def _report(args: argparse.Namespace) -> int:
    import matplotlib

    matplotlib.use("Agg")  # files only, whatever display the machine has
    from backbench.report import LogInputError, PowerSetting, report_logs

    if not 0 < args.confidence < 1 or args.power_runs < 0:
        return _error("--confidence must be between 0 and 1 and --power-runs at least 0")
    power = PowerSetting(runs=args.power_runs) if args.power_runs else None
    try:
        paths = report_logs(args.logs, args.out, args.confidence, power,
                            lambda line: print(line, file=sys.stderr))  # fmt: skip
    except LogInputError as ex:
        return _error(str(ex))
    for path in paths:
        print(f"wrote {path}")
    return 0


def _gate(args: argparse.Namespace) -> int:
    from backbench.report import LogInputError, read_samples, run_gate, summary_markdown

    if not 0 < args.confidence < 1 or args.max_drop < 0 or args.max_slowdown < 0:
        return _error("--confidence must be between 0 and 1; --max-drop, --max-slowdown >= 0")
    metrics = [m.strip() for m in args.metrics.split(",") if m.strip()]
    try:
        baseline = read_samples(args.baseline)
        candidate = read_samples(args.candidate)
        result = run_gate(baseline, candidate, metrics, args.max_drop, args.max_slowdown,
                          args.confidence, args.prompts_differ)  # fmt: skip
    except LogInputError as ex:
        message = f"backbench gate: unusable input: {ex}"
        if args.summary:
            args.summary.write_text(f"## backbench gate: **UNUSABLE INPUT**\n\n{ex}\n")
        return _error(message.removeprefix("backbench "))
    summary = summary_markdown(result)
    print(summary, end="")
    if args.summary:
        args.summary.write_text(summary)
    return result.exit_code
