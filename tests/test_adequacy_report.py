"""Kill rates, the adequacy README and equivalent-mutant declarations: pure, no sandbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from backbench.adequacy.equivalents import content_digest, equivalent_problems, read_equivalents
from backbench.adequacy.report import (
    EQUIVALENT,
    ERROR,
    KILLED,
    KILLED_BY_START,
    SURVIVED,
    Outcome,
    ScenarioReport,
    exit_code,
    last_digests,
    render_readme,
    run_record,
)
from backbench.validate import judge_equivalents

SETTINGS = {"max_mutants": 40, "seed": 0, "jobs": 2, "min_kill_rate": 0.9, "sandbox": "namespace"}


def report(*statuses: str, scenario: str = "s") -> ScenarioReport:
    outcomes = [
        Outcome(
            id=f"app.py:f:constant:{i:08x}",
            operator="constant" if i % 2 else "boundary",
            description=f"change {i}",
            file="app.py",
            line=i,
            status=status,
            seconds=2.0,
            diff="--- reference/app.py\n+++ mutant/app.py\n-a\n+b\n" if status == SURVIVED else "",
        )  # fmt: skip
        for i, status in enumerate(statuses)
    ]
    return ScenarioReport(scenario, "d1g3st", generated=len(statuses) + 5, outcomes=outcomes)


def test_kill_rate_counts_start_failures_and_leaves_out_equivalents_and_errors() -> None:
    r = report(KILLED, KILLED_BY_START, SURVIVED, EQUIVALENT, ERROR)
    assert r.kill_rate == 2 / 3
    assert not r.meets(0.9) and r.meets(0.6)
    assert report(KILLED, KILLED).meets(0.9)
    assert report(EQUIVALENT).kill_rate is None and report(EQUIVALENT).meets(0.9)


def test_a_problem_fails_the_scenario_whatever_its_rate() -> None:
    r = report(KILLED)
    r.problems.append("the reference does not pass")
    assert not r.meets(0.0)
    assert exit_code([report(KILLED), r], 0.9) == 1
    assert exit_code([report(KILLED)], 0.9) == 0


def test_record_and_readme_list_every_survivor_with_its_diff() -> None:
    run = run_record(
        [report(KILLED, SURVIVED, SURVIVED, KILLED_BY_START), report(KILLED, scenario="t")],
        datetime(2026, 1, 1, tzinfo=UTC), 125.0, SETTINGS,
    )  # fmt: skip
    first = run["scenarios"][0]
    assert (first["killed"], first["killed_by_start"], first["survived"]) == (1, 1, 2)
    assert first["kill_rate"] == 0.5 and not first["meets_target"] and not run["ok"]
    text = render_readme(run, "x.json")
    assert "| s | 9 | 4 | 1 | 1 | 2 | 0 | 0 | 50% | no | 2.0 |" in text
    assert "`app.py:f:constant:00000001`" in text and "`app.py:f:constant:00000002`" in text
    assert "  +b" in text and "#### `boundary` (1)" in text and "#### `constant` (1)" in text
    assert "## t: survivors\n\nNone." in text
    assert "2 min 5 s" in text and "NOT met" in text


def test_last_digests_take_the_latest_run_of_each_scenario(tmp_path: Path) -> None:
    for name, scenarios in [
        ("2026-01-01T00-00-00Z.json", [("a", "old"), ("b", "b1")]),
        ("2026-02-01T00-00-00Z.json", [("a", "new")]),
    ]:
        data = {"scenarios": [{"scenario": s, "digest": d} for s, d in scenarios]}
        (tmp_path / name).write_text(json.dumps(data))
    assert last_digests(tmp_path) == {"a": "new", "b": "b1"}


def test_equivalent_declarations_need_an_id_and_a_one_line_reason() -> None:
    assert equivalent_problems(None) == []
    assert equivalent_problems([{"id": "x", "reason": "same value"}]) == []
    assert equivalent_problems({"id": "x"}) == ["equivalent_mutants must be a list of {id, reason}"]
    problems = equivalent_problems([{"id": "x"}, {"reason": "r"}, {"id": "y", "reason": "a\nb"}])
    assert problems == [
        "equivalent_mutants[0] (x): needs a reason",
        "equivalent_mutants[1]: needs an id",
        "equivalent_mutants[2] (y): the reason must be one line",
    ]


def test_read_equivalents_and_digest(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text(
        "id: s\nequivalent_mutants:\n  - id: app.py:f:constant:1\n    reason: same value\n"
    )
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "app.py").write_text("x = 1\n")
    [equivalent], problems = read_equivalents(tmp_path)
    assert (equivalent.id, equivalent.reason, problems) == ("app.py:f:constant:1", "same value", [])
    before = content_digest(tmp_path)
    (tmp_path / "prompt.md").write_text("not part of the digest")
    assert content_digest(tmp_path) == before
    (tmp_path / "reference" / "app.py").write_text("x = 2\n")
    assert content_digest(tmp_path) != before


def test_validate_reports_equivalents_without_reasons_as_errors() -> None:
    assert judge_equivalents("s", []) is None
    check = judge_equivalents("s", ["equivalent_mutants[0] (x): needs a reason"])
    assert check is not None and check.severity == "error"
    assert check.submission == "equivalent_mutants" and "needs a reason" in check.observed
