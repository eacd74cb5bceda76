"""`backbench gate` on small real logs: exit 1 for a worse candidate, 0 for an equal one, 2 for
logs that cannot be compared."""

from __future__ import annotations

from pathlib import Path

import pytest

from backbench.cli import main
from backbench.report import Interval
from backbench.report._gate import loss_exceeds
from tests.test_report_logs import (
    SCENARIOS,
    VARIANT,
    Run,
    null_run,
    reference_run,
    served,
    write_run,
)


def gate(tmp_path: Path, baseline: Run, candidate: Run, *args: str) -> tuple[int, str]:
    """Run `backbench gate` on the two runs; return its exit code and its summary file."""
    base = write_run(baseline, tmp_path / "baseline")
    cand = write_run(candidate, tmp_path / "candidate")
    summary = tmp_path / "summary.md"
    code = main(["gate", "--baseline", str(base.parent), "--candidate", str(cand.parent),
                 "--summary", str(summary), *args])  # fmt: skip
    return code, summary.read_text()


def test_reference_to_null_fails(tmp_path: Path) -> None:
    code, summary = gate(tmp_path, reference_run(epochs=2), Run(
        "backbench/null", {k: v for k, v in null_run().scores.items()} | {
            (s, 2): v for (s, _), v in null_run().scores.items()}))  # fmt: skip
    assert code == 1
    assert summary.startswith("## backbench gate: **FAIL**")
    assert (
        "| correct_secure | +100.0 points | [+100.0, +100.0] | 2 points | 6 (3) | **worse** |"
        in (summary)
    )
    # the null agent served nothing: no latency to compare, which is no verdict on its own
    assert "| p95_ratio | n/a |" in summary


def test_reference_to_reference_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # a second run of the reference, a little slower: within the allowed slowdown
    code, summary = gate(tmp_path, reference_run(), reference_run(p95=220.0))
    assert code == 0
    assert summary.startswith("## backbench gate: **PASS**")
    assert "| p95_ratio | +10.0 % slower |" in summary
    assert capsys.readouterr().out == summary


def test_different_scenario_sets_are_unusable(tmp_path: Path) -> None:
    fewer = Run("backbench/reference", {(SCENARIOS[0], 1): served()})
    code, summary = gate(tmp_path, reference_run(), fewer)
    assert code == 2
    assert "different scenario sets: only in the baseline: notes-versioned-ratelimit" in summary


def test_the_same_prompt_on_both_sides_is_unusable_when_prompts_should_differ(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _ = gate(tmp_path, reference_run(), reference_run(), "--prompts-differ")
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "same system prompt" in err
    variant = Run("backbench/reference", reference_run().scores, prompt=VARIANT)
    assert gate(tmp_path / "b", reference_run(), variant, "--prompts-differ")[0] == 0


def test_missing_logs_are_unusable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["gate", "--baseline", str(tmp_path / "none"), "--candidate", str(tmp_path)]) == 2
    assert "no such log or folder" in capsys.readouterr().err


def test_harness_errors_are_left_out_not_counted_as_failures(tmp_path: Path) -> None:
    errored = reference_run()
    errored.scores[(SCENARIOS[1], 1)] = None
    code, summary = gate(tmp_path, reference_run(), errored)
    assert code == 0
    assert "1 pair(s) left out: a side's sample errored in the harness" in summary
    assert "| correct | +0.0 points | [+0.0, +0.0] | 2 points | 2 (2) | ok |" in summary


def test_a_slower_candidate_fails_on_the_p95_ratio(tmp_path: Path) -> None:
    code, summary = gate(tmp_path, reference_run(), reference_run(p95=400.0))
    assert code == 1
    assert (
        "| p95_ratio | +100.0 % slower | [+100.0, +100.0] | 25 % slower | 3 (3) | **worse** |"
        in (summary)
    )


def test_the_p95_ratio_compares_ratios_to_the_reference_where_both_runs_have_them(
    tmp_path: Path,
) -> None:
    # twice the latency on a machine twice as slow: the same prompt, not a slower one
    busier = reference_run(p95=400.0, ratio=1.0)
    assert gate(tmp_path / "a", reference_run(ratio=1.0), busier)[0] == 0
    # the same latency, twice the reference's on the same machine: slower
    code, summary = gate(tmp_path / "b", reference_run(ratio=1.0), reference_run(ratio=2.0))
    assert code == 1 and "| p95_ratio | +100.0 % slower |" in summary


def test_a_side_with_two_models_is_unusable(tmp_path: Path) -> None:
    write_run(null_run(), tmp_path / "baseline")
    code, summary = gate(tmp_path, reference_run(), reference_run())
    assert code == 2
    assert "the baseline holds 2 model and prompt identities" in summary


def test_the_rule_fails_only_when_the_whole_interval_loses_more_than_allowed() -> None:
    assert loss_exceeds(Interval(5.0, 2.5, 7.0), 2.0)
    assert not loss_exceeds(Interval(5.0, 1.5, 9.0), 2.0)
    assert not loss_exceeds(Interval(-3.0, -6.0, 0.0), 2.0)


def test_the_prompt_gate_workflow_gates_a_prompt_change() -> None:
    import yaml

    from tests.conftest import REPO

    workflow = yaml.safe_load((REPO / ".github" / "workflows" / "prompt-gate.yml").read_text())
    # YAML 1.1 reads the key `on` as True
    assert workflow[True]["pull_request"]["paths"] == ["prompts/**"]
    steps = workflow["jobs"]["gate"]["steps"]
    script = "\n".join(s.get("run", "") for s in steps)
    assert "backbench gate --baseline" in script and "--prompts-differ" in script
    assert "-T system_prompt=" in script
    assert "gh pr comment" in script and "--summary" in script


def test_one_scenarios_loss_over_many_epochs_is_no_catalogue_loss(tmp_path: Path) -> None:
    # the candidate fails every epoch of one scenario of three and passes the others: a loss of
    # 33 points over 30 pairs, which a bootstrap of the pairs would call certain, but the epochs
    # of that scenario share its one reaction, and three scenarios say little of a catalogue
    epochs = 10
    broken = Run("backbench/reference", {
        (s, e): served(correct=0 if s == SCENARIOS[0] else 1)
        for s in SCENARIOS for e in range(1, epochs + 1)
    })  # fmt: skip
    code, summary = gate(tmp_path, reference_run(epochs=epochs), broken)
    assert code == 0, summary
    assert "| correct | +33.3 points | [-110.1, +176.8] | 2 points | 30 (3) | ok |" in summary
    assert "30 samples a side" in summary and "clustered by scenario" in summary
    # the same loss spread over every scenario is one: every scenario lost a third of its epochs
    spread = Run("backbench/reference", {
        (s, e): served(correct=0 if e % 3 == 0 else 1)
        for s in SCENARIOS for e in range(1, epochs + 1)
    })  # fmt: skip
    assert gate(tmp_path / "spread", reference_run(epochs=epochs), spread)[0] == 1
