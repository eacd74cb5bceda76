"""Measure backbench's own speed, and how repeatable its load figures are.

    .venv/bin/python scripts/benchmark.py [--samples 1,2] [--load-seconds 10] [--sandbox namespace]
    .venv/bin/python scripts/benchmark.py --load-variance [--repeats 5] [--samples 3] \
        [--slices 1,10]
    .venv/bin/python scripts/benchmark.py --robust-repeats [--repeats 5] [--samples 1]
    .venv/bin/python scripts/benchmark.py --speedup-repeats [--repeats 5] [--samples 1]

For each --max-samples value it runs the real `inspect eval tasks/ --model backbench/reference`
and reads per-sample stage timings from the log. Sandbox tear-down is timed apart (it happens
after scoring). Writes results/benchmarks/<UTC time>.json and prints a Markdown table.

With --load-variance it runs the catalogue --repeats times per slice length (the reference against
itself, the robust stage off, at --max-samples from --samples, so that samples disturb each
other), then once with -T load_baseline=none, and reports per scenario the coefficient of
variation of p95_ratio beside that of the absolute p95 (and of rps), and what the reference's run
beside the submission adds to a sample's load stage. A slice as long as the load test is the
design of one block after the other.

With --robust-repeats it scores the reference of every scenario --repeats times (epochs) and
reports, per scenario, the robust values and how many distinct lists of generated cases the
runs sent: 1 when the stage is deterministic.

With --speedup-repeats it scores the reference of every speed-up scenario (tasks/performance)
--repeats times (epochs; the functional and load stages) and reports, per scenario, the median
speed-up over the starting code, its range and a 95 % bootstrap interval of the median, and how
many repeats showed the declared factor significantly.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inspect_ai.log import read_eval_log

REPO = Path(__file__).resolve().parent.parent
TEST_STAGES = ("static", "functional", "security", "load")
LOAD_FIGURES = ("p95_ms", "p95_ratio", "rps", "rps_ratio", "slo_met")
# the -T stages of the repeat runs: robust runs inside the functional stage, a speed-up's
# measurement inside the load stage (the scorer requires functional in every run)
ROBUST_STAGES = "functional"
SPEEDUP_STAGES = "functional,load"


def run_eval(
    max_samples: int, load_seconds: float, sandbox: str, log_dir: Path,
    extra: tuple[str, ...] = (), env: dict[str, str] | None = None, tasks: str = "tasks/",
) -> float:  # fmt: skip
    """Wall seconds of one reference run over the catalogue (or the `tasks` given)."""
    command = [
        str(Path(sys.executable).parent / "inspect"), "eval", tasks,
        "--model", "backbench/reference", "--max-samples", str(max_samples),
        "-T", f"load_seconds={load_seconds}", "-T", f"sandbox={sandbox}", *extra,
        "--log-dir", str(log_dir), "--display", "none",
    ]  # fmt: skip
    start = time.monotonic()
    subprocess.run(command, cwd=REPO, check=True, env={**os.environ, **(env or {})})
    return time.monotonic() - start


def sample_timings(log_dir: Path) -> list[dict[str, Any]]:
    """Stage timings, total time and verdict of every sample in the logs."""
    rows = []
    for path in sorted(log_dir.glob("*.eval")):
        log = read_eval_log(str(path))
        for sample in log.samples or []:
            score = next(iter((sample.scores or {}).values()))
            timings = dict((score.metadata or {}).get("timings", {}))
            value = score.value if isinstance(score.value, dict) else {}
            rows.append(
                {"id": sample.id, "total": sample.total_time, "timings": timings,
                 "correct": value.get("correct"),
                 "load": {**{k: value.get(k) for k in LOAD_FIGURES},
                          "p95_ratio_cycles": (score.metadata or {}).get("load", {}).get(
                              "p95_ratio_cycles")}}
            )  # fmt: skip
    return rows


async def teardown_seconds(sandbox: str, repeat: int = 3) -> float:
    """Median seconds to clean up a sample's sandbox with PostgreSQL and Redis."""
    from backbench.sandbox.local import BackbenchSandbox
    from backbench.sandbox.namespace import NamespaceSandbox

    cls = NamespaceSandbox if sandbox == "namespace" else BackbenchSandbox
    times = []
    for _ in range(repeat):
        envs = await cls.sample_init("benchmark", None, {"services": "postgres,redis"})
        start = time.monotonic()
        await cls.sample_cleanup("benchmark", None, envs, False)
        times.append(time.monotonic() - start)
    return statistics.median(times)


def summarize(rows: list[dict[str, Any]], teardown: float) -> dict[str, float]:
    """Mean per-sample seconds: harness overhead against the tests' own time."""
    setup = statistics.mean(r["timings"].get("sandbox_setup", 0.0) for r in rows)
    tests = statistics.mean(sum(r["timings"].get(k, 0.0) for k in TEST_STAGES) for r in rows)
    start = statistics.mean(r["timings"].get("start", 0.0) for r in rows)
    total = statistics.mean(r["total"] or 0.0 for r in rows)
    overhead = setup + teardown
    return {
        "sandbox_setup_s": round(setup, 2),
        "sandbox_teardown_s": round(teardown, 2),
        "server_start_s": round(start, 2),
        "tests_s": round(tests, 2),
        "sample_total_s": round(total, 2),
        "overhead_s": round(overhead, 2),
        "overhead_pct_of_tests": round(100 * overhead / tests, 1) if tests else 0.0,
    }


def cv(values: list[float]) -> float:
    """Coefficient of variation (sample standard deviation over mean), NaN when undefined."""
    kept = [v for v in values if v is not None and not math.isnan(v)]
    if len(kept) < 2 or statistics.mean(kept) == 0:
        return math.nan
    return statistics.stdev(kept) / statistics.mean(kept)


def variance_table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per slice length and scenario: the CVs of the load figures over the repeats."""
    table = []
    for design in sorted({r["slice_s"] for r in rows}):
        for scenario in sorted({r["id"] for r in rows}):
            mine = [r for r in rows if r["slice_s"] == design and r["id"] == scenario]
            figures = {k: [float(r["load"][k]) for r in mine] for k in LOAD_FIGURES[:4]}
            figures["p95_ratio_cycles"] = [
                float(r["load"].get("p95_ratio_cycles") or math.nan) for r in mine
            ]
            table.append(
                {"slice_s": design, "scenario": scenario, "repeats": len(mine),
                 **{f"cv_{k}": round(cv(v), 4) for k, v in figures.items()},
                 "mean_p95_ratio": round(statistics.mean(figures["p95_ratio"]), 3),
                 "slo_met": sum(int(r["load"]["slo_met"] or 0) for r in mine)}
            )  # fmt: skip
    return table


def load_variance(args: argparse.Namespace) -> dict[str, Any]:
    """Repeated runs per slice length, then one without a baseline (see the docstring)."""
    max_samples = int(args.samples.split(",")[0])
    rows: list[dict[str, Any]] = []
    for design in [float(x) for x in args.slices.split(",")]:
        for repeat in range(args.repeats):
            print(f"slice {design:g} s, repeat {repeat + 1}/{args.repeats}", file=sys.stderr)
            with tempfile.TemporaryDirectory() as tmp:
                run_eval(
                    max_samples, args.load_seconds, args.sandbox, Path(tmp), ("-T", "robust=false"),
                    {"BACKBENCH_LOAD_SLICE_SECONDS": str(design)},
                )  # fmt: skip
                rows += [{**r, "slice_s": design} for r in sample_timings(Path(tmp))]
    with tempfile.TemporaryDirectory() as tmp:
        extra = ("-T", "robust=false", "-T", "load_baseline=none")
        run_eval(max_samples, args.load_seconds, args.sandbox, Path(tmp), extra)
        alone = sample_timings(Path(tmp))
    beside = statistics.mean(r["timings"].get("load", 0.0) for r in rows)
    without = statistics.mean(r["timings"].get("load", 0.0) for r in alone)
    return {
        "max_samples": max_samples, "load_seconds": args.load_seconds, "samples": rows,
        "without_baseline": alone, "table": variance_table(rows),
        "load_stage_s": {"with_reference": round(beside, 2), "without": round(without, 2),
                         "added": round(beside - without, 2)},
    }  # fmt: skip


def print_variance(report: dict[str, Any]) -> None:
    """The CV table as Markdown, and the added load time."""
    print("| slice s | scenario | CV p95 | CV p95_ratio | CV median cycle ratio | CV rps "
          "| CV rps_ratio | mean p95_ratio | slo_met |")  # fmt: skip
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for t in report["table"]:
        print(f"| {t['slice_s']:g} | {t['scenario']} | {t['cv_p95_ms']:.1%} | "
              f"{t['cv_p95_ratio']:.1%} | {t['cv_p95_ratio_cycles']:.1%} | {t['cv_rps']:.1%} | "
              f"{t['cv_rps_ratio']:.1%} | "
              f"{t['mean_p95_ratio']} | {t['slo_met']}/{t['repeats']} |")  # fmt: skip
    added = report["load_stage_s"]
    print(f"load stage per sample: {added['with_reference']} s with the reference beside it, "
          f"{added['without']} s without (added {added['added']} s)")  # fmt: skip


def variance_main(args: argparse.Namespace) -> int:
    """--load-variance: run, write results/benchmarks/<UTC time>-load.json, print the table."""
    if args.samples == "1,2":
        args.samples = "3"
    variance = load_variance(args)
    out = REPO / "results" / "benchmarks" / f"{datetime.now(UTC):%Y-%m-%dT%H%M%SZ}-load.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps({"when": datetime.now(UTC).isoformat(), "load_variance": variance}, indent=2)
    )
    print_variance(variance)
    print(f"written: {out.relative_to(REPO)}")
    return 0


def robust_repeats(args: argparse.Namespace) -> dict[str, Any]:
    """The reference's robust value and case digest in each of --repeats epochs, per scenario
    (the functional and robust stages only: the others take no part in them)."""
    with tempfile.TemporaryDirectory() as tmp:
        run_eval(
            int(args.samples.split(",")[0]), 1.0, args.sandbox, Path(tmp),
            ("--epochs", str(args.repeats), "-T", f"stages={ROBUST_STAGES}",
             "-T", "load_baseline=none"),
        )  # fmt: skip
        found: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(Path(tmp).glob("*.eval")):
            for sample in read_eval_log(str(path)).samples or []:
                score = next(iter((sample.scores or {}).values()))
                meta = score.metadata or {}
                value = score.value if isinstance(score.value, dict) else {}
                found.setdefault(str(sample.id), []).append(
                    {
                        "epoch": sample.epoch,
                        "robust": value.get("robust"),
                        "cases_sha256": meta.get("robust_cases_sha256", ""),
                        "operations": {
                            op["label"]: op["examples"] for op in meta.get("robust_evidence", [])
                        },
                    }
                )
    return {
        sid: {
            "repeats": len(runs),
            "robust": sorted({r["robust"] for r in runs}),
            "distinct_case_lists": len({r["cases_sha256"] for r in runs}),
            "runs": sorted(runs, key=lambda r: r["epoch"]),
        }
        for sid, runs in sorted(found.items())
    }


def robust_main(args: argparse.Namespace) -> int:
    """--robust-repeats: run, write results/benchmarks/<UTC time>-robust.json, print a table."""
    report = robust_repeats(args)
    out = REPO / "results" / "benchmarks" / f"{datetime.now(UTC):%Y-%m-%dT%H%M%SZ}-robust.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": datetime.now(UTC).isoformat(), "robust": report}, indent=2))
    print("| scenario | repeats | robust values | distinct case lists | cases |")
    print("| --- | --- | --- | --- | --- |")
    for sid, row in report.items():
        cases = sum(row["runs"][0]["operations"].values())
        print(f"| {sid} | {row['repeats']} | {row['robust']} | {row['distinct_case_lists']} | "
              f"{cases} |")  # fmt: skip
    print(f"written: {out.relative_to(REPO)}")
    return 0


def speedup_repeats(args: argparse.Namespace) -> dict[str, Any]:
    """Per speed-up scenario: the reference's speed-up in each of --repeats epochs."""
    from scipy.stats import bootstrap

    with tempfile.TemporaryDirectory() as tmp:
        run_eval(
            int(args.samples.split(",")[0]), args.load_seconds, args.sandbox, Path(tmp),
            ("--epochs", str(args.repeats), "-T", f"stages={SPEEDUP_STAGES}", "-T", "robust=false"),
            tasks="tasks/performance",
        )  # fmt: skip
        found: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(Path(tmp).glob("*.eval")):
            for sample in read_eval_log(str(path)).samples or []:
                score = next(iter((sample.scores or {}).values()))
                value = score.value if isinstance(score.value, dict) else {}
                if isinstance(value.get("speedup"), float) and not math.isnan(value["speedup"]):
                    found.setdefault(str(sample.id), []).append(
                        {"epoch": sample.epoch, "speedup": value["speedup"],
                         "p": value.get("speedup_p"), "correct": value.get("correct")}
                    )  # fmt: skip
    report = {}
    for sid, runs in sorted(found.items()):
        values = [r["speedup"] for r in runs]
        low, high = (
            bootstrap((values,), statistics.median, n_resamples=2000, method="percentile",
                      random_state=0).confidence_interval
            if len(set(values)) > 1 else (values[0], values[0])
        )  # fmt: skip
        report[sid] = {
            "repeats": len(runs),
            "median": round(statistics.median(values), 2),
            "min": round(min(values), 2),
            "max": round(max(values), 2),
            "median_ci95": [round(float(low), 2), round(float(high), 2)],
            # the declared factor shown significantly (the check's own test, at alpha 0.05)
            "passed": sum(1 for r in runs if isinstance(r["p"], float) and r["p"] < 0.05),
            "runs": sorted(runs, key=lambda r: r["epoch"]),
        }
    return report


def speedup_main(args: argparse.Namespace) -> int:
    """--speedup-repeats: run, write results/benchmarks/<UTC time>-speedup.json, print a table."""
    report = speedup_repeats(args)
    out = REPO / "results" / "benchmarks" / f"{datetime.now(UTC):%Y-%m-%dT%H%M%SZ}-speedup.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"when": datetime.now(UTC).isoformat(), "speedup": report},
                              indent=2))  # fmt: skip
    print("| scenario | repeats | median speed-up | 95 % interval of the median | range | passed |")
    print("| --- | --- | --- | --- | --- | --- |")
    for sid, row in report.items():
        low, high = row["median_ci95"]
        print(f"| {sid} | {row['repeats']} | {row['median']} | {low}–{high} | "
              f"{row['min']}–{row['max']} | {row['passed']}/{row['repeats']} |")  # fmt: skip
    print(f"written: {out.relative_to(REPO)}")
    return 0


def main() -> int:
    """Run the benchmark and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", default="1,2", help="comma-separated --max-samples values")
    parser.add_argument("--load-seconds", type=float, default=10.0)
    parser.add_argument("--sandbox", default="namespace", choices=["namespace", "local"])
    parser.add_argument("--load-variance", action="store_true", help="CVs of the load figures")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--slices", default="1", help="comma-separated slice lengths, seconds")
    parser.add_argument(
        "--robust-repeats", action="store_true",
        help="the reference's robust value and cases over --repeats epochs",
    )  # fmt: skip
    parser.add_argument(
        "--speedup-repeats", action="store_true",
        help="the reference's speed-up of each speed-up scenario over --repeats epochs",
    )  # fmt: skip
    args = parser.parse_args()
    if args.speedup_repeats:
        return speedup_main(args)
    if args.robust_repeats:
        return robust_main(args)
    if args.load_variance:
        return variance_main(args)
    teardown = asyncio.run(teardown_seconds(args.sandbox))
    report: dict[str, Any] = {"when": datetime.now(UTC).isoformat(), "runs": []}
    for n in [int(x) for x in args.samples.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            wall = run_eval(n, args.load_seconds, args.sandbox, Path(tmp))
            rows = sample_timings(Path(tmp))
        report["runs"].append(
            {
                "max_samples": n,
                "wall_s": round(wall, 1),
                "samples": rows,
                "summary": summarize(rows, teardown),
            }  # fmt: skip
        )
    out = REPO / "results" / "benchmarks" / f"{datetime.now(UTC):%Y-%m-%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))
    print("| max-samples | wall s | setup s | teardown s | server start s | tests s | overhead % |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for run in report["runs"]:
        s = run["summary"]
        print(f"| {run['max_samples']} | {run['wall_s']} | {s['sandbox_setup_s']} | "
              f"{s['sandbox_teardown_s']} | {s['server_start_s']} | {s['tests_s']} | "
              f"{s['overhead_pct_of_tests']} |")  # fmt: skip
    print(f"written: {out.relative_to(REPO)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
