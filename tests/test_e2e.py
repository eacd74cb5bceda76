"""Layer 3: the real `inspect eval` CLI, end to end, with the offline candidate agents."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from inspect_ai.log import EvalLog, read_eval_log

from backbench.catalogue import find_scenario, section_names, section_scenarios
from tests.conftest import REPO, container_prefix, requires_namespace, values
from tests.test_sandbox_choice import fake_docker

pytestmark = [pytest.mark.slow, requires_namespace]
INSPECT = str(Path(sys.executable).parent / "inspect")
BACKBENCH = str(Path(sys.executable).parent / "backbench")
SECTION = "api_development"
# The smoke eval: the first scenario of each section, every section's task in one `inspect eval`
# (one start-up of inspect, the samples scored side by side), keeps CI's cost nearly flat as the
# catalogue grows (every scenario's reference is validated by `backbench validate --changed`
# when its content changes).
# performance runs its pilot: a speed-up's verdict is a significance test, and the pilot's
# reference clears its factor on a busy machine too (the first in alphabetical order,
# activity-feed-async, is judged on rare blocking writes, whose effect a loaded CI machine blurs);
# the newer sections run their quickest reference (seconds a sample in the README's full run:
# request-tracing-middleware 87 against print-jobs-graceful-shutdown's 130, product-import-etl
# 59 against invoice-jobs-worker's worker and backoff waits, inventory-health-readiness 76),
# so that the smoke eval stays within its time with ten sections
SMOKE_CHOICE = {
    "performance": "product-catalog-speedup",
    "security": "browser-bookmarks-cors",
    "architecture": "request-tracing-middleware",
    "data_processing": "product-import-etl",
    "monitoring": "inventory-health-readiness",
    # its hidden tests take 13 s against order-payments-idempotent's 27 (adequacy's timing)
    "integration": "staff-portal-oidc-login",
}
SMOKE = {
    section: SMOKE_CHOICE.get(section) or section_scenarios(section)[0].id
    for section in section_names()
}
OLD_ENGINE = "20.10.24+dfsg1"


def eval_command(log_dir: Path, *args: str, tasks: list[str] | None = None) -> list[str]:
    return [INSPECT, "eval", *(tasks or [f"tasks/{SECTION}"]), "--log-dir", str(log_dir),
            "--display", "none", "-T", "load_seconds=2", *args]  # fmt: skip


def only_log(log_dir: Path) -> EvalLog:
    logs = sorted(log_dir.glob("*.eval"))
    assert len(logs) == 1, logs
    return read_eval_log(str(logs[0]))


def smoke_logs(log_dir: Path) -> list[EvalLog]:
    """The smoke run's logs: one a section."""
    logs = [read_eval_log(str(p)) for p in sorted(log_dir.glob("*.eval"))]
    assert sorted(log.eval.task for log in logs) == [f"backbench/{s}" for s in sorted(SMOKE)]
    return logs


def sample_values(log: EvalLog) -> dict[str, dict[str, float]]:
    assert log.samples is not None
    return {str(s.id): s.scores["backbench_scorer"].value for s in log.samples}  # type: ignore[index,misc]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The reference, null and files agents, run concurrently; the reference through the entry
    points (`backbench/<section>`, every section in one run) from outside the repository.

    The schemathesis stage (robust) runs in the reference's samples only: the null agent serves
    nothing, and the files agent's point is the submitted folder (tests/test_robustness.py
    tests the stage itself).
    """
    base = tmp_path_factory.mktemp("e2e")
    reference = find_scenario("inventory-crud").reference_dir
    smoke = f"scenarios={','.join(SMOKE.values())}"
    commands = {
        # in a PID namespace of its own, as in a container, where the machine allows it
        "reference": [*container_prefix(),
                      *eval_command(base / "reference", "--model", "backbench/reference",
                                    "-T", smoke, "--max-tasks", "3",
                                    tasks=[f"backbench/{section}" for section in sorted(SMOKE)])],
        "null": eval_command(base / "null", "--model", "backbench/null", "-T", "robust=false"),
        "files": eval_command(base / "files", "--model", "backbench/files", "-M",
                              f"path={reference}", "-T", "scenarios=inventory-crud",
                              "-T", "robust=false"),
    }  # fmt: skip
    samples = base / "samples"
    samples.mkdir()
    env = {**os.environ, "TMPDIR": str(samples)}
    # the null run's -T sandbox=auto finds a Docker Engine inspect cannot use, and says so
    old_docker = fake_docker(base / "old-docker", OLD_ENGINE, None)
    procs = {
        name: subprocess.Popen(
            cmd,
            cwd=base if name == "reference" else REPO,
            env={**env, "PATH": f"{old_docker}:{env['PATH']}"} if name == "null" else env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for name, cmd in commands.items()
    }
    for name, proc in procs.items():
        out, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"{name}: {(out + err)[-3000:]}"
        (base / name / "stderr.txt").write_text(err)
    return {name: base / name for name in commands}


def test_reference_scores_correct_secure_and_up_everywhere(runs: dict[str, Path]) -> None:
    scored: dict[str, dict[str, float]] = {}
    for log in smoke_logs(runs["reference"]):
        assert log.status == "success"
        scored |= sample_values(log)
    assert set(scored) == set(SMOKE.values())
    for scenario, value in scored.items():
        assert value["correct"] == 1, scenario
        if find_scenario(scenario).kind_spec.server:
            assert value["correct_secure"] == 1, scenario
            assert value["uptime"] == 1, scenario
        else:  # a kind without a server has no server verdicts: NaN, left out of the means
            assert value["uptime"] != value["uptime"], scenario


def test_samples_carry_section_scenario_and_content_hashes(runs: dict[str, Path]) -> None:
    from backbench.identity import folder_sha256, text_sha256
    from backbench.task import DEFAULT_SYSTEM_PROMPT

    prompt = text_sha256(DEFAULT_SYSTEM_PROMPT.read_text())
    for log in smoke_logs(runs["reference"]):  # each found through the entry point
        assert log.samples is not None and log.eval.metadata is not None
        section = log.eval.task.removeprefix("backbench/")
        assert log.eval.metadata["system_prompt_sha256"] == prompt
        assert [sample.id for sample in log.samples] == [SMOKE[section]]
        for sample in log.samples:
            assert sample.metadata["section"] == section
            assert sample.metadata["scenario"] == sample.id
            assert sample.metadata["system_prompt_sha256"] == prompt
            assert sample.metadata["scenario_sha256"] == folder_sha256(
                find_scenario(str(sample.id)).folder
            )


def test_null_scores_zero_with_an_explanation(runs: dict[str, Path]) -> None:
    log = only_log(runs["null"])
    assert log.status == "success" and log.samples
    for sample in log.samples:
        score = sample.scores["backbench_scorer"]  # type: ignore[index]
        assert values(score)["correct"] == 0 and values(score)["functional"] == 0
        assert score.explanation and "start.sh" in score.explanation


def test_an_old_docker_engine_runs_on_namespace_and_says_so_in_one_line(
    runs: dict[str, Path],
) -> None:
    said = [
        line
        for line in (runs["null"] / "stderr.txt").read_text().splitlines()
        if "sandbox=auto" in line
    ]
    assert len(said) == 1 and "Docker Engine 20.10.24 is older than 24.0.6" in said[0], said
    log = only_log(runs["null"])
    assert log.eval.sandbox is not None and log.eval.sandbox.type == "backbench-namespace"


def test_files_agent_scores_an_existing_directory(runs: dict[str, Path]) -> None:
    scored = sample_values(only_log(runs["files"]))
    assert list(scored) == ["inventory-crud"]
    assert scored["inventory-crud"]["correct"] == 1


def test_metrics_give_mean_and_stderr_per_key(runs: dict[str, Path]) -> None:
    for log in smoke_logs(runs["reference"]):
        assert log.results is not None
        metrics = {f"{score.name}/{name}" for score in log.results.scores for name in score.metrics}
        assert {"correct/mean", "correct/stderr", "p95_ms/mean", "uptime/stderr"} <= metrics


def test_no_sample_process_outlives_the_eval(runs: dict[str, Path]) -> None:
    # every sample of these runs lived under their TMPDIR: its holder, services and files
    samples = runs["reference"].parent / "samples"
    leftovers = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(samples) in cmdline:
            leftovers.append(f"{proc.name} {cmdline[:160]}")
    assert not leftovers
    assert list(samples.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "backbench/null", "-T", "scenarios=no-such-scenario"], "unknown scenario"),
        (["--model", "backbench/nobody"], "unknown backbench agent"),
        (["--model", "backbench/files"], "needs -M path=DIR"),
        (["--model", "backbench/null", "-T", "sandbox=vm"], "-T sandbox='vm': expected one of"),
        (["--model", "backbench/null", "-T", "load_seconds=soon"], "-T load_seconds='soon'"),
        (["--model", "backbench/null", "-T", "system_prompt=/no/such.md"], "system_prompt: no"),
    ],
)  # fmt: skip
def test_bad_input_fails_with_a_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    # inspect's default display: with --display none it prints no error at all
    command = [a for a in eval_command(tmp_path, *args) if a not in ("--display", "none")]
    result = subprocess.run(
        command, cwd=REPO, capture_output=True, text=True, timeout=120,
        env={**os.environ, "COLUMNS": "300"},
    )  # fmt: skip
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert message in output
    if message.startswith(("-T", "system_prompt")):
        assert "Traceback" not in output and len(output.strip().splitlines()) <= 3, output


def run_notebook(path: Path) -> object:
    """Execute a notebook's code cells in order; return the value of the last expression."""
    import ast
    import json

    namespace: dict[str, object] = {}
    last: object = None
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        tree = ast.parse(source)
        tail = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        body = tree.body[:-1] if tail else tree.body
        exec(compile(ast.Module(body=body, type_ignores=[]), str(path), "exec"), namespace)
        last = (
            eval(compile(ast.Expression(tail.value), str(path), "eval"), namespace)
            if tail
            else None
        )
    return last


def test_comparison_notebook_separates_reference_from_null(
    runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    for name in ("reference", "null"):
        for log in runs[name].glob("*.eval"):
            shutil.copy(log, tmp_path / log.name)
    monkeypatch.setenv("BACKBENCH_LOG_DIR", str(tmp_path))
    table = run_notebook(REPO / "notebooks" / "compare_runs.ipynb")
    by_model = table.T.reset_index().set_index("model")  # type: ignore[attr-defined]
    reference = by_model.loc["backbench/reference"].drop("system_prompt").dropna()
    # the notebook compares correct_secure: a kind without a server has none (NaN)
    served = [s for s in SMOKE.values() if find_scenario(s).kind_spec.server]
    assert sorted(reference.index) == sorted(served) and (reference == 1.0).all()
    # the null run covers one section: the others' columns are empty in its row
    assert (by_model.loc["backbench/null"].drop("system_prompt").dropna() == 0.0).all()


def test_report_and_gate_on_the_real_logs(runs: dict[str, Path], tmp_path: Path) -> None:
    """`backbench report` and `backbench gate` on the logs of real reference, null and files
    runs: cells checked against the logs read directly, and the gate's exit codes."""
    from backbench.report import wilson
    from tests.test_report import table_rows

    out = tmp_path / "report"
    argv = [BACKBENCH, "report", *(str(runs[n]) for n in ("reference", "null", "files")),
            "--out", str(out), "--power-runs", "0"]  # fmt: skip
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (out / "report.html").is_file() and list((out / "figures").glob("*.png"))
    rows = table_rows((out / "report.md").read_text(), "harness errors")
    for name in ("reference", "null", "files"):
        logs = smoke_logs(runs[name]) if name == "reference" else [only_log(runs[name])]
        meta = logs[0].eval.metadata or {}
        label = (
            f"{logs[0].eval.model} · {Path(meta['system_prompt_file']).name} "
            f"{meta['system_prompt_sha256'][:8]}"
        )
        values = [v for log in logs for v in sample_values(log).values()]
        correct = sum(v["correct"] for v in values)
        low, high = wilson(correct, len(values))
        [row] = [r for r in rows if r["model · prompt"] == label]
        assert row["samples"] == str(len(values)), name
        assert row["correct"] == f"{correct / len(values):.2f} [{low:.2f}, {high:.2f}]", name
        if name == "reference":
            # every CWE the families tried on the served reference, none proven
            cwes = [r for r in table_rows((out / "report.md").read_text(), "CWE")
                    if r["model · prompt"] == label]  # fmt: skip
            assert {"CWE-89 (sql_injection)", "CWE-306 (authentication)"} <= {
                r["CWE"] for r in cwes
            }, cwes
            assert all(r["exploit rate"] == "0.00" for r in cwes), cwes

    def gate(baseline: str, candidate: str) -> int:
        # the rates only: the three runs share the machine, so their latencies are not comparable;
        # of the reference's smoke run, its API development log (the files run's one scenario)
        chosen = {
            name: [str(p) for p in sorted(runs[name].glob("*.eval"))
                   if name != "reference"
                   or read_eval_log(str(p), header_only=True).eval.task.endswith(SECTION)]
            for name in (baseline, candidate)
        }  # fmt: skip
        argv = [BACKBENCH, "gate", "--baseline", *chosen[baseline], "--candidate",
                *chosen[candidate], "--metrics", "correct_secure,correct"]  # fmt: skip
        return subprocess.run(argv, capture_output=True, timeout=300, check=False).returncode

    # the files run submits the reference of the same scenario: no worse; the null run covers
    # other scenarios than the reference's smoke run: unusable input
    assert gate("reference", "files") == 0
    assert gate("reference", "null") == 2
