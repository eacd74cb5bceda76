"""Small real eval logs for the report and gate tests, and how backbench.report reads them.

The logs are written with inspect's own `write_eval_log`, with one score per sample whose value
is a dict of every key of SCORE_KEYS, as the scorer writes it (a served submission's values
here, `not_served_score` for the null agent), and score metadata with the exploited probes and
the probes' CWEs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.log import (
    EvalConfig,
    EvalDataset,
    EvalError,
    EvalLog,
    EvalSample,
    EvalSpec,
    write_eval_log,
)
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, ModelUsage
from inspect_ai.scorer import Score
from inspect_ai.tool import ToolCall

from backbench.identity import text_sha256
from backbench.report import LogInputError, read_samples
from backbench.scoring.kinds import kind_values
from backbench.scoring.verdict import SCORE_KEYS, not_served_score

SECTION = "api_development"
SCENARIOS = ("inventory-crud", "notes-versioned-ratelimit", "orders-relational")
PROMPT = text_sha256("the shipped prompt")
VARIANT = text_sha256("a variant of the prompt")
PROBES = {"sqli-filter": 89, "auth-create": 306}


def served(
    p95: float = 200.0, correct: int = 1, exploited: tuple[str, ...] = (),
    ratio: float = math.nan,
) -> Score:  # fmt: skip
    """The score of a submission whose server ran, as backbench_scorer writes it (with `ratio`,
    its p95 over the reference's beside it; without, as a run with -T load_baseline=none)."""
    secure = int(not exploited)
    value: dict[str, float] = {
        "correct": correct, "functional": 1.0 if correct else 0.5, "secure": secure,
        "correct_secure": correct * secure, "exploits": len(exploited), "bandit_high": 0,
        "p50_ms": p95 / 2, "p95_ms": p95, "p99_ms": p95 * 1.5, "rps": 50.0, "error_rate": 0.0,
        "p95_ratio": ratio, "rps_ratio": 1 / ratio, "uptime": 1.0, "quality": 0.9, "slo_met": 1,
        "robust": math.nan, **kind_values(None),
    }  # fmt: skip
    evidence = [{"id": probe, "kind": "k", "cwe": cwe} for probe, cwe in PROBES.items()]
    metadata = {"exploited_probes": list(exploited), "probe_evidence": evidence}
    return Score(value=value, answer="start.sh", metadata=metadata)


def not_served() -> Score:
    value, explanation = not_served_score("start.sh missing", 0.0, "quality: no code", 0)
    return Score(value=value, answer="", explanation=explanation, metadata={"not_served": "x"})


@dataclass
class Run:
    """One eval log to write: a model, a prompt, and a score per (scenario, epoch)."""

    model: str
    scores: dict[tuple[str, int], Score | None]  # None: the harness failed on that sample
    prompt: str = PROMPT
    prompt_file: str = "backend-developer.md"
    task: str = SECTION
    metadata: dict[str, Any] | None = field(default=None)


def sample(run: Run, scenario: str, epoch: int, score: Score | None) -> EvalSample:
    tool_call = ToolCall(id="1", function="bash", arguments={"cmd": "ls"})
    return EvalSample(
        id=scenario,
        epoch=epoch,
        input="build it",
        target="",
        metadata={
            "section": SECTION,
            "scenario": scenario,
            "scenario_sha256": f"sha-{scenario}",
            "system_prompt_sha256": run.prompt,
        },  # fmt: skip
        scores={"backbench_scorer": score} if score else None,
        error=None
        if score
        else EvalError(
            message="HarnessError: postgres did not start", traceback="", traceback_ansi=""
        ),  # fmt: skip
        messages=[
            ChatMessageUser(content="build it"),
            ChatMessageAssistant(content="", tool_calls=[tool_call]),
        ],  # fmt: skip
        model_usage={run.model: ModelUsage(input_tokens=900, output_tokens=100, total_tokens=1000)},
        total_time=60.0,
        working_time=59.0,
    )


def write_run(run: Run, folder: Path) -> Path:
    """Write `run` as a .eval log under `folder`; return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    metadata = run.metadata if run.metadata is not None else {
        "section": SECTION, "system_prompt_file": run.prompt_file,
        "system_prompt_sha256": run.prompt,
        "scenario_sha256": {s: f"sha-{s}" for s, _ in run.scores},
    }  # fmt: skip
    samples = [sample(run, s, e, score) for (s, e), score in run.scores.items()]
    log = EvalLog(
        eval=EvalSpec(
            created=datetime.now(UTC).isoformat(),
            task=run.task,
            dataset=EvalDataset(name=run.task, samples=len(samples)),
            model=run.model,
            config=EvalConfig(),
            metadata=metadata,
        ),  # fmt: skip
        status="success",
        samples=samples,
    )
    name = run.model.replace("/", "-")
    path = folder / f"2026-11-26T00-00-00-00-00_{name}_{len(list(folder.iterdir()))}.eval"
    write_eval_log(log, str(path))
    return path


def reference_run(epochs: int = 1, p95: float = 200.0, ratio: float = math.nan) -> Run:
    scores: dict[tuple[str, int], Score | None] = {
        (s, e): served(p95, ratio=ratio) for s in SCENARIOS for e in range(1, epochs + 1)
    }
    return Run("backbench/reference", scores)


def null_run() -> Run:
    return Run("backbench/null", {(s, 1): not_served() for s in SCENARIOS})


def files_run() -> Run:
    """An agent's files: one scenario exploited by SQL injection, one harness error."""
    return Run("backbench/files", {
        ("inventory-crud", 1): served(300.0, exploited=("sqli-filter",)),
        ("notes-versioned-ratelimit", 1): served(400.0, correct=0),
        ("orders-relational", 1): None,
    })  # fmt: skip


def test_the_fixture_scores_have_every_score_key() -> None:
    # the kinds' own keys are NaN on a service's samples
    assert list(served().value) == SCORE_KEYS  # type: ignore[arg-type]
    assert list(not_served().value) == SCORE_KEYS  # type: ignore[arg-type]


def test_a_log_reads_as_one_row_per_sample_and_epoch(tmp_path: Path) -> None:
    write_run(reference_run(epochs=2), tmp_path / "ref")
    write_run(files_run(), tmp_path / "files")
    frame = read_samples([tmp_path])
    assert len(frame) == 9
    files = frame[frame["model"] == "backbench/files"].set_index("scenario")
    assert files.loc["orders-relational", "errored"]
    assert "postgres did not start" in files.loc["orders-relational", "harness_error"]
    assert files.loc["inventory-crud", "exploited_probes"] == ["sqli-filter"]
    assert files.loc["inventory-crud", "probe_cwes"] == PROBES
    assert files.loc["inventory-crud", "p95_ms"] == 300.0
    assert math.isnan(files.loc["inventory-crud", "robust"])
    assert files.loc["inventory-crud", "tool_calls"] == 1
    assert files.loc["inventory-crud", "tokens"] == 1000


def test_runs_are_grouped_by_prompt_content_not_its_file_name(tmp_path: Path) -> None:
    write_run(reference_run(), tmp_path)
    write_run(Run("backbench/reference", reference_run().scores, prompt=VARIANT), tmp_path)
    groups = sorted(read_samples([tmp_path])["group"].unique())
    assert groups == [f"backbench/reference · backend-developer.md {PROMPT[:8]}",
                      f"backbench/reference · backend-developer.md {VARIANT[:8]}"]  # fmt: skip


def unusable_logs(folder: Path, case: str) -> Path:
    """Where no command finds usable logs: an empty folder, a missing path, another task's log,
    or a malformed one (a zip that stops after its header)."""
    folder.mkdir()
    if case == "another task":
        write_run(Run("openai/gpt-5", reference_run().scores, task="gsm8k", metadata={}), folder)
    elif case == "malformed":
        (folder / "2026-11-26T00-00-00-00-00_broken_x.eval").write_bytes(b"PK\x03\x04 truncated")
    return folder / "nothing" if case == "missing" else folder


@pytest.mark.parametrize("case", ["empty folder", "missing", "another task", "malformed"])
def test_unusable_logs_raise_one_clear_error(tmp_path: Path, case: str) -> None:
    where = unusable_logs(tmp_path / "logs", case)
    expected = {"empty folder": "no eval logs in", "missing": "no such log or folder",
                "another task": "not a backbench log", "malformed": "cannot read"}  # fmt: skip
    with pytest.raises(LogInputError, match=expected[case]):
        read_samples([where])
