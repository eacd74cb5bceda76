"""`backbench report`: report.md and a self-contained report.html, with PNG figures."""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from backbench.report import _figures as figures
from backbench.report._logs import read_samples
from backbench.report._power import (
    DEFAULT_POWER,
    EPOCH_GRID,
    PowerSetting,
    first_reaching,
    power_curve,
)
from backbench.report._stats import DEFAULT_CONFIDENCE
from backbench.report._tables import (
    appendix,
    cwe_exploits,
    harness_errors,
    headline,
    not_probed,
    success_metrics,
)

FIGURES_DIR = "figures"
POWER_SIZES = (10, 30, 100)
CURVE_END = 0.95  # the power figure's lines go on past the target up to this power


@dataclass
class Table:
    """A table as both renderers show it: text cells."""

    columns: list[str]
    rows: list[list[str]]


@dataclass
class Image:
    """A figure saved as PNG under the report's figures folder."""

    name: str
    caption: str


Block = str | Table | Image  # a str is a Markdown paragraph or heading


@dataclass
class Report:
    """The report's blocks, in order, and the figures to save."""

    blocks: list[Block] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)

    def figure(self, name: str, fig: Figure, caption: str) -> None:
        self.figures[name] = fig
        self.blocks.append(Image(name, caption))


def rate(value: float, low: float = math.nan, high: float = math.nan, digits: int = 2) -> str:
    """`0.67 [0.21, 0.94]`, or `n/a` for a missing value."""
    if value is None or math.isnan(value):
        return "n/a"
    text = f"{value:.{digits}f}"
    if not math.isnan(low):
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return text


def number(value: float, digits: int = 0, missing: str = "n/a") -> str:
    """A number with `digits` decimals and thousands separators, or `missing`."""
    if value is None or math.isnan(value):
        return missing
    return f"{value:,.{digits}f}"


def headline_table(table: pd.DataFrame) -> Table:
    """The headline: one row per model and prompt."""
    has_k = bool(table["pass@k"].notna().any()) if len(table) else False
    k_label = f"pass@{int(table['k'].max())}" if has_k else "pass@k"
    columns = [
        "model · prompt",
        "samples",
        "harness errors",
        "correct",
        "correct and secure",
        "pass@1",
        k_label,
        "tokens / sample",
        "wall s / sample",
        "messages / sample",
        "tool calls / sample",
    ]
    rows = [
        [
            str(r["group"]),
            str(r["samples"]),
            str(r["harness_errors"]),
            rate(r["correct"], r["correct_low"], r["correct_high"]),
            rate(r["correct_secure"], r["correct_secure_low"], r["correct_secure_high"]),
            rate(r["pass@1"], r["pass@1_low"], r["pass@1_high"]),
            rate(r["pass@k"], r["pass@k_low"], r["pass@k_high"]) if has_k else "one epoch",
            number(r["tokens"]),
            number(r["total_time"], 1),
            number(r["messages"], 1),
            number(r["tool_calls"], 1),
        ]
        for _, r in table.iterrows()
    ]
    return Table(columns, rows)


def metrics_table(table: pd.DataFrame) -> Table:
    """The seven success metrics per model and prompt, and section."""
    columns = [
        "model · prompt",
        "section",
        "samples",
        "requests/s",
        "vs reference",
        "uptime",
        "p50 / p95 / p99 ms (served)",
        "error rate",
        "test coverage",
        "secure",
        "probes exploited",
        "bandit HIGH",
        "quality",
    ]
    rows = []
    for _, r in table.iterrows():
        latency = (
            f"{number(r['p50_ms'])} / {number(r['p95_ms'])} / {number(r['p99_ms'])} "
            f"({r['served']}/{r['samples']})"
        )
        rows.append(
            [
                str(r["group"]),
                str(r["section"]),
                str(r["samples"]),
                number(r["rps"], 1),
                number(r["rps_vs_reference"], 2, "no reference run"),
                rate(r["uptime"]),
                latency,
                rate(r["error_rate"]),
                number(r["test_coverage"], 2, "not measured"),
                rate(r["secure"]),
                f"{r['probes_exploited']}/{r['probes_run']}",
                number(r["bandit_high"]),
                rate(r["quality"]),
            ]
        )
    return Table(columns, rows)


def cwe_table(frame: pd.DataFrame) -> Table:
    """Exploit rate per CWE and model, with the samples no probe reached."""
    table = cwe_exploits(frame)
    unprobed = not_probed(frame)
    rows = [
        [str(r.group), figures.cwe_name(int(r.cwe)), f"{r.exploited}/{r.probes}", rate(r.rate)]
        for r in table.itertuples()
    ]
    rows += [
        [g, "(none: server never ran)", f"{n} sample(s) not probed", "n/a"]
        for g, n in unprobed.items()
        if n
    ]
    return Table(["model · prompt", "CWE", "probes exploited", "exploit rate"], rows)


def frame_table(table: pd.DataFrame) -> Table:
    """Any DataFrame as text cells."""
    return Table(
        [str(c) for c in table.columns],
        [[str(v) for v in row] for row in table.itertuples(index=False)],
    )


def power_section(report: Report, scenarios: int, setting: PowerSetting) -> None:
    """The epochs-for-power figure and table, for this catalogue's size and larger ones."""
    sizes = sorted({scenarios, *POWER_SIZES})
    curves = {n: power_curve(n, setting, stop_at=CURVE_END) for n in sizes}
    report.blocks.append(
        "## Epochs for power\n\n"
        f"How many epochs the gate needs to fail a candidate that is truly {setting.drop:g} "
        f"points worse in every scenario, {DEFAULT_POWER:.0%} of the time, with "
        f"`--max-drop {setting.max_drop:g}` at {setting.confidence:.0%}: a simulation of the "
        f"gate's own rule ({setting.runs} simulated gate runs per point, baseline success "
        f"rates spread evenly from {setting.rates[0]:.0%} to {setting.rates[1]:.0%} over the "
        "scenarios; `backbench.report.epochs_for_power`)."
    )
    rows = []
    for n in sizes:
        needed = first_reaching(curves[n], DEFAULT_POWER)
        rows.append([
            f"{n}{' (these logs)' if n == scenarios else ''}",
            str(needed) if needed else f"over {EPOCH_GRID[-1]}",
            str(n * needed) if needed else "n/a",
        ])  # fmt: skip
    report.blocks.append(
        Table(["scenarios", f"epochs for {DEFAULT_POWER:.0%} power", "samples per side"], rows)
    )
    report.figure(
        "power.png",
        figures.power_curves(curves, DEFAULT_POWER),
        "Simulated power of the gate against epochs, per catalogue size.",
    )


def build_report(
    frame: pd.DataFrame,
    confidence: float = DEFAULT_CONFIDENCE,
    power: PowerSetting | None = None,
) -> Report:
    """Every block of the report, from the samples `read_samples` gives."""
    report = Report()
    groups = headline(frame, confidence)
    logs = frame["log"].nunique()
    report.blocks += [
        "# backbench report",
        f"{logs} log(s), {len(frame)} sample(s), {frame['scenario'].nunique()} scenario(s), "
        f"{len(groups)} model and prompt combination(s). Generated "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC. Runs are grouped by model and by the "
        "prompt's content (the first 8 hex digits of its sha256, after its file name).",
        "## Headline",
        f"Intervals are {confidence:.0%} Wilson intervals: over the scored samples for correct "
        "and correct-and-secure, over the scenarios for pass@1 and pass@k (the unbiased "
        "estimator per scenario, k the fewest epochs of any scenario). Samples on which the "
        "harness failed are counted apart and left out of every rate.",
        headline_table(groups),
    ]
    errors = harness_errors(frame)
    if len(errors):
        report.blocks += ["## Harness errors (not counted as failures)", frame_table(errors)]
    report.blocks += [
        "## The seven success metrics",
        "API performance (requests/s under load, and the geometric mean over scenarios of the "
        "ratio to `backbench/reference` where these logs hold a reference run), uptime, "
        "response times, error rates, test coverage, security compliance (the security "
        "probes' exploit rate per CWE below; static findings: bandit's HIGH severity, the only "
        "severity the scorer records) and code quality (0-1, ruff findings and radon "
        "maintainability). Latencies are means over the samples whose server answered load "
        "requests (served/samples); a server that never ran has 0 requests/s, error rate 1 "
        "and uptime 0. Test coverage: line and branch coverage of the code under test by the "
        "agent's own tests, measured by the scenarios of the tests kind (section testing); "
        "a section without them shows not measured, and a kind that runs no server shows no "
        "server figures.",
        metrics_table(success_metrics(frame)),
        "### Security probes by CWE",
        cwe_table(frame),
        "## Figures",
    ]
    report.figure(
        "correct_by_section.png",
        figures.correct_by_section(frame),
        "correct and correct-and-secure by section, with 95% Wilson intervals.",
    )
    report.figure(
        "cwe_heatmap.png",
        figures.cwe_heatmap(frame),
        "Exploit rate per CWE and model (grey: no probe ran).",
    )
    report.figure(
        "latency.png",
        figures.latency(frame),
        "Latency under load per sample: p50, p95, p99 (served samples only).",
    )
    report.figure(
        "correct_vs_secure.png",
        figures.correct_vs_secure(frame),
        "Correctness against security per model, with 95% Wilson intervals.",
    )
    report.figure(
        "divergent_scenarios.png",
        figures.divergent_scenarios(frame),
        "correct-and-secure of the scenarios where the runs differ most.",
    )
    if power is not None:
        power_section(report, int(frame["scenario"].nunique()), power)
    report.blocks += [
        "## Appendix: every sample",
        "Open a sample with the command, then the address.",
        frame_table(appendix(frame).rename(columns={"group": "model · prompt"})),
    ]
    return report


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    """The report as Markdown; figures are PNG files beside it."""
    parts = []
    for block in report.blocks:
        if isinstance(block, Table):
            lines = [
                "| " + " | ".join(_md_cell(c) for c in block.columns) + " |",
                "|" + " --- |" * len(block.columns),
            ]
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in block.rows]
            parts.append("\n".join(lines))
        elif isinstance(block, Image):
            parts.append(f"![{block.caption}]({FIGURES_DIR}/{block.name})\n\n*{block.caption}*")
        else:
            parts.append(block)
    return "\n\n".join(parts) + "\n"


STYLE = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.85em}
th,td{border:1px solid #ccc;padding:0.3em 0.5em;text-align:left;vertical-align:top}
th{background:#f2f2f2}img{max-width:100%}figcaption{font-style:italic;color:#555}
code{background:#f6f6f6}"""


def _inline(text: str) -> str:
    """Markdown's `code` spans as HTML, the rest escaped."""
    pieces = html.escape(text).split("`")
    return "".join(f"<code>{p}</code>" if i % 2 else p for i, p in enumerate(pieces))


def render_html(report: Report, pngs: dict[str, bytes]) -> str:
    """The report as one HTML file: the figures embedded as data URIs."""
    body = []
    for block in report.blocks:
        if isinstance(block, Table):
            head = "".join(f"<th>{html.escape(c)}</th>" for c in block.columns)
            rows = "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>"
                for row in block.rows
            )
            body.append(f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
        elif isinstance(block, Image):
            data = base64.b64encode(pngs[block.name]).decode("ascii")
            body.append(
                f'<figure><img alt="{html.escape(block.caption)}" '
                f'src="data:image/png;base64,{data}"><figcaption>'
                f"{html.escape(block.caption)}</figcaption></figure>"
            )
        else:
            for paragraph in block.split("\n\n"):
                level = len(paragraph) - len(paragraph.lstrip("#"))
                if level:
                    text = _inline(paragraph[level:].strip())
                    body.append(f"<h{level}>{text}</h{level}>")
                else:
                    body.append(f"<p>{_inline(paragraph)}</p>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>backbench report</title><style>{STYLE}</style></head><body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_report(report: Report, out: Path) -> list[Path]:
    """Write report.md, report.html and figures/*.png under `out`; return the paths."""
    figures_dir = out / FIGURES_DIR
    figures_dir.mkdir(parents=True, exist_ok=True)
    pngs = {}
    for name, fig in report.figures.items():
        path = figures_dir / name
        fig.savefig(path, dpi=110)
        plt.close(fig)
        pngs[name] = path.read_bytes()
    (out / "report.md").write_text(render_markdown(report))
    (out / "report.html").write_text(render_html(report, pngs))
    return [out / "report.md", out / "report.html", *(figures_dir / n for n in pngs)]


def report_logs(
    locations: Sequence[str | Path],
    out: Path,
    confidence: float = DEFAULT_CONFIDENCE,
    power: PowerSetting | None = None,
    progress: Callable[[str], None] = lambda _: None,
) -> list[Path]:
    """Read the logs, build the report and write it under `out`."""
    frame = read_samples(locations)
    progress(f"read {len(frame)} sample(s) from {frame['log'].nunique()} log(s)")
    return write_report(build_report(frame, confidence, power), out)
