"""Measure backbench's own speed: wall time of the reference run and the harness's overhead.

    .venv/bin/python scripts/benchmark.py [--samples 1,2] [--load-seconds 10] [--sandbox namespace]

For each --max-samples value it runs the real `inspect eval tasks/ --model backbench/reference`
and reads per-sample stage timings from the log. Sandbox tear-down is timed apart (it happens
after scoring). Writes results/benchmarks/<UTC time>.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


def run_eval(max_samples: int, load_seconds: float, sandbox: str, log_dir: Path) -> float:
    """Wall seconds of one reference run over the catalogue."""
    command = [
        str(Path(sys.executable).parent / "inspect"), "eval", "tasks/",
        "--model", "backbench/reference", "--max-samples", str(max_samples),
        "-T", f"load_seconds={load_seconds}", "-T", f"sandbox={sandbox}",
        "--log-dir", str(log_dir), "--display", "none",
    ]  # fmt: skip
    start = time.monotonic()
    subprocess.run(command, cwd=REPO, check=True)
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
                 "correct": value.get("correct")}
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


def main() -> int:
    """Run the benchmark and write its report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", default="1,2", help="comma-separated --max-samples values")
    parser.add_argument("--load-seconds", type=float, default=10.0)
    parser.add_argument("--sandbox", default="namespace", choices=["namespace", "local"])
    args = parser.parse_args()
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
