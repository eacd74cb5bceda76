"""`backbench report` on small real logs: its cells checked against the logs read directly."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from inspect_ai.log import EvalLog, read_eval_log

from backbench.cli import main
from backbench.report import bootstrap_mean, pass_at_k, wilson
from tests.test_report_logs import PROMPT, files_run, null_run, reference_run, write_run

FIGURES = ("correct_by_section.png", "cwe_heatmap.png", "latency.png", "correct_vs_secure.png",
           "divergent_scenarios.png", "power.png")  # fmt: skip
REFERENCE = f"backbench/reference · backend-developer.md {PROMPT[:8]}"
NULL = f"backbench/null · backend-developer.md {PROMPT[:8]}"
FILES = f"backbench/files · backend-developer.md {PROMPT[:8]}"


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("report-logs")
    return {
        "reference": write_run(reference_run(epochs=2, p95=180.0), base / "reference"),
        "null": write_run(null_run(), base / "null"),
        "files": write_run(files_run(), base / "files"),
    }


@pytest.fixture(scope="module")
def report(logs: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("report")
    folders = [str(p.parent) for p in logs.values()]
    assert main(["report", *folders, "--out", str(out), "--power-runs", "20"]) == 0
    return out


def table_rows(markdown: str, column: str) -> list[dict[str, str]]:
    """The rows of the first Markdown table that has a column named `column`."""
    lines = markdown.splitlines()
    for i, line in enumerate(lines):
        header = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if line.startswith("| ") and column in header and lines[i + 1].startswith("| ---"):
            break
    else:
        raise AssertionError(f"no table with a column {column!r}")
    rows = []
    for line in lines[i + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        rows.append(dict(zip(header, cells, strict=True)))
    return rows


def scores(path: Path) -> list[dict[str, float]]:
    log: EvalLog = read_eval_log(str(path))
    assert log.samples is not None
    return [s.scores["backbench_scorer"].value for s in log.samples if s.scores]  # type: ignore[misc]


def test_report_writes_markdown_html_and_every_figure(report: Path) -> None:
    assert (report / "report.md").is_file()
    for name in FIGURES:
        assert (report / "figures" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name
    page = (report / "report.html").read_text()
    # self-contained: every figure inside the page, nothing loaded from beside it
    assert page.count('src="data:image/png;base64,') == len(FIGURES)
    assert 'src="figures/' not in page


def test_headline_cells_match_the_logs(report: Path, logs: dict[str, Path]) -> None:
    rows = {r["model · prompt"]: r for r in table_rows((report / "report.md").read_text(),
                                                       "harness errors")}  # fmt: skip
    reference = scores(logs["reference"])
    correct = sum(v["correct"] for v in reference)
    low, high = wilson(correct, len(reference))
    assert rows[REFERENCE]["samples"] == str(len(reference)) == "6"
    assert rows[REFERENCE]["correct"] == f"{correct / len(reference):.2f} [{low:.2f}, {high:.2f}]"
    assert rows[REFERENCE]["pass@2"].startswith("1.00")
    assert rows[NULL]["correct and secure"].startswith("0.00 [0.00, ")
    # the harness error is counted apart and is no failure: 1 of the 2 scored samples correct
    assert rows[FILES]["harness errors"] == "1"
    assert rows[FILES]["samples"] == "2"
    assert rows[FILES]["correct"].startswith("0.50 ")
    assert rows[REFERENCE]["tool calls / sample"] == "1.0"


def test_success_metrics_cells_match_the_logs(report: Path, logs: dict[str, Path]) -> None:
    markdown = (report / "report.md").read_text()
    rows = {r["model · prompt"]: r for r in table_rows(markdown, "requests/s")}
    files = scores(logs["files"])
    p95 = sum(v["p95_ms"] for v in files) / len(files)
    assert rows[FILES]["p50 / p95 / p99 ms (served)"].split(" / ")[1] == f"{p95:,.0f}"
    assert rows[FILES]["vs reference"] == "1.00"
    assert rows[NULL]["p50 / p95 / p99 ms (served)"] == "n/a / n/a / n/a (0/3)"
    assert rows[NULL]["error rate"] == "1.00"
    assert rows[NULL]["test coverage"] == "not measured"
    assert rows[REFERENCE]["probes exploited"] == "0/12"
    cwe = {(r["model · prompt"], r["CWE"]): r for r in table_rows(markdown, "CWE")}
    assert cwe[(FILES, "CWE-89 (sql_injection)")]["probes exploited"] == "1/2"
    assert cwe[(FILES, "CWE-306 (authentication)")]["exploit rate"] == "0.00"
    assert cwe[(NULL, "(none: server never ran)")]["probes exploited"] == "3 sample(s) not probed"


def test_appendix_opens_every_sample_in_inspect_view(report: Path, logs: dict[str, Path]) -> None:
    rows = table_rows((report / "report.md").read_text(), "view")
    assert len(rows) == 6 + 3 + 3
    errored = next(r for r in rows if r["outcome"] == "harness error")
    assert errored["scenario"] == "orders-relational" and errored["model · prompt"] == FILES
    view = next(r["view"] for r in rows if r["model · prompt"] == NULL)
    assert view.startswith(f"inspect view --log-dir {logs['null'].parent} → http://")
    assert re.search(rf"#/logs/{re.escape(logs['null'].name)}/samples/sample/[a-z-]+/1$", view)


def test_harness_errors_are_listed_apart(report: Path) -> None:
    markdown = (report / "report.md").read_text()
    assert "## Harness errors (not counted as failures)" in markdown
    assert "postgres did not start" in markdown


def test_power_section_names_the_epochs_needed(report: Path) -> None:
    rows = table_rows((report / "report.md").read_text(), "samples per side")
    assert rows[0]["scenarios"] == "3 (these logs)"
    assert [r["scenarios"] for r in rows[1:]] == ["10", "30", "100"]


@pytest.mark.parametrize("bad", ["empty", "missing", "other-task", "malformed"])
def test_bad_input_exits_2_with_one_line(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.test_report_logs import unusable_logs

    case = {"empty": "empty folder", "other-task": "another task"}.get(bad, bad)
    target = unusable_logs(tmp_path / "logs", case)
    assert main(["report", str(target), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("backbench: error: "), err
    assert not (tmp_path / "out" / "report.md").exists()


def test_wilson_interval_of_three_of_three() -> None:
    low, high = wilson(3, 3)
    assert round(low, 2) == 0.44 and high == 1.0
    assert all(math.isnan(v) for v in wilson(0, 0))


def test_pass_at_k_is_the_unbiased_estimator() -> None:
    assert pass_at_k(5, 0, 2) == 0.0
    assert pass_at_k(5, 5, 2) == 1.0
    assert pass_at_k(4, 1, 2) == pytest.approx(0.5)  # 1 - C(3,2)/C(4,2)


def test_bootstrap_interval_covers_the_mean() -> None:
    interval = bootstrap_mean([0.0, 1.0] * 50, resamples=2000)
    assert interval.estimate == 0.5
    assert 0.38 < interval.low < 0.5 < interval.high < 0.62


def test_readme_power_table_is_the_simulations() -> None:
    import importlib.util

    from backbench.report import PowerSetting, epochs_for_power
    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    block = re.search(r"<!-- power:.*?-->\n(.*?)\n<!-- /power -->", readme, re.S)
    assert block, "README has no power block"
    spec = importlib.util.spec_from_file_location("gate_power", REPO / "scripts" / "gate_power.py")
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    lines = block.group(1).splitlines()
    assert [r.split(" | ")[0].strip("| ") for r in lines[2:]] == [str(n) for n in script.SIZES]
    # the cheapest cell, recomputed: 100 scenarios, a 10-point drop
    assert script.SETTINGS[2] == PowerSetting(drop=10.0, max_drop=2.0)
    epochs = epochs_for_power(100, script.SETTINGS[2])
    assert epochs is not None
    assert lines[-1].endswith(f" | {epochs} ({100 * epochs} samples a side) |")


def test_the_cluster_interval_is_the_t_interval_of_the_scenarios_means() -> None:
    import numpy as np
    from scipy import stats

    from backbench.report import cluster_t_interval

    rng = np.random.default_rng(3)
    means = rng.normal(1.0, 2.0, 12)
    values = np.repeat(means, 5) + np.tile([-1.0, -0.5, 0.0, 0.5, 1.0], 12)
    clusters = np.repeat([f"s{i}" for i in range(12)], 5)
    got = cluster_t_interval(values, clusters, 0.95)
    # equal clusters: CR1 is the one-sample t interval over the clusters' means
    low, high = stats.ttest_1samp(means, 0.0).confidence_interval(0.95)
    assert (got.low, got.high) == pytest.approx((low, high))
    assert got.estimate == pytest.approx(values.mean())
    # within-scenario spread alone, however many epochs, is no evidence: one scenario, no interval
    alone = cluster_t_interval(values[:5], clusters[:5])
    assert (alone.low, alone.high) == (-float("inf"), float("inf"))


def test_readme_gate_simulation_table_is_the_committed_figures() -> None:
    import importlib.util
    import json
    import re

    from tests.conftest import REPO

    readme = (REPO / "README.md").read_text()
    block = re.search(
        r"<!-- gate-simulation:.*?-->\n(.*?)\n<!-- /gate-simulation -->", readme, re.S
    )
    assert block, "README has no gate-simulation block"
    path = REPO / "scripts" / "gate_simulation.py"
    spec = importlib.util.spec_from_file_location("gate_simulation", path)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    figures = json.loads(script.DEFAULT_OUT.read_text())
    assert block.group(1) == script.table(figures)
    # every metric at 1, 5 and 20 epochs, as the issue asks of the simulation
    assert {r["epochs"] for r in figures["results"]} == {1, 5, 20}


def test_the_simulated_a_a_runs_alarm_the_old_way_and_not_the_new(tmp_path: Path) -> None:
    # a small run of the simulation itself: with 20 epochs of latency ratios whose scenarios
    # react on their own, the pairs' bootstrap alarms far above the level, clustering does not
    import importlib.util

    from tests.conftest import REPO

    path = REPO / "scripts" / "gate_simulation.py"
    spec = importlib.util.spec_from_file_location("gate_simulation", path)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    rates = script.alarm_rates(
        script.latency_losses, 25.0, lambda v: v, scenarios=30, epochs=20, reps=200, seed=1
    )
    assert rates["paired bootstrap (before)"]["alarm_above_0"] > 0.15
    assert rates["cluster-robust t (now)"]["alarm_above_0"] < 0.06


def _per_sample_script() -> Any:
    import importlib.util

    from tests.conftest import REPO

    path = REPO / "scripts" / "gate_power_per_sample.py"
    spec = importlib.util.spec_from_file_location("gate_power_per_sample", path)
    assert spec and spec.loader
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    return script


def test_readme_power_per_sample_table_is_the_committed_figures() -> None:
    import json

    from tests.conftest import REPO

    script = _per_sample_script()
    readme = (REPO / "README.md").read_text()
    block = re.search(
        r"<!-- power-per-sample:.*?-->\n(.*?)\n<!-- /power-per-sample -->", readme, re.S
    )
    assert block, "README has no power-per-sample block"
    figures = json.loads(script.DEFAULT_OUT.read_text())
    assert block.group(1) == script.table(figures)
    # 10, 30 and 60 scenarios, as the issue asks, under both ways of failing
    assert {(r["model"], r["scenarios"]) for r in figures["results"]} == {
        (m, n) for m in ("flip", "latent") for n in (10, 30, 60)
    }


def test_failure_depths_come_from_the_committed_records() -> None:
    script = _per_sample_script()
    depths = script.failure_depths()
    assert depths.size >= 100
    assert depths.min() >= 0.0 and depths.max() == 1.0  # an empty submission passes nothing
    assert 0.0 < float(np.median(depths)) < 0.2  # most failures are near misses


def test_the_fraction_sees_deeper_failures_and_not_mere_flips() -> None:
    # The same 30 scenarios and epochs: when a worse prompt only flips passes into failures
    # the fraction detects it far less often than pass/fail; when its failures also go
    # deeper, the fraction comes close, but the exact depth of every failure cannot gain 3x
    script = _per_sample_script()
    depths = script.failure_depths()
    rates = script.baseline_rates(30, (0.1, 0.9))
    flip = script.power(script.flip_draw(depths), script.flip_draw(depths), 30, 50, 300, 3)
    latent_candidate = script._shifted(depths, rates)
    latent = script.power(script.latent_draw(depths), latent_candidate, 30, 50, 300, 3)
    assert flip["functional"] < flip["correct_secure"] - 0.3
    assert latent["functional"] > flip["functional"] + 0.3
    assert 1.0 < script.information_gain_bound() < 3.0
