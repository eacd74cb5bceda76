"""Kill rates, the adequacy README and equivalent-mutant declarations: pure, no sandbox."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

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
from backbench.catalogue import CatalogueError, load_scenario, tasks_dir

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


def test_a_declared_equivalent_no_longer_generated_fails_the_scenario() -> None:
    # the check of the declarations against the generated mutants: here, on the scenarios
    # `backbench adequacy --changed` measures in CI, not in the test suite for every scenario
    stale = report(KILLED)
    stale.unknown_equivalents.append("app.py:gone:constant:deadbeef")
    assert not stale.meets(0.0) and exit_code([stale], 0.9) == 1
    assert not stale.record(0.9)["meets_target"]


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


def test_an_equivalent_without_a_one_line_reason_is_refused_by_the_catalogue(
    tmp_path: Path,
) -> None:
    source = tasks_dir() / "api_development" / "inventory-crud"
    folder = tmp_path / "inventory-crud"
    shutil.copytree(source, folder)
    meta = folder / "scenario.yaml"
    data = yaml.safe_load(meta.read_text())
    assert load_scenario(folder).equivalent_mutants  # the shipped declarations load
    for bad in ({"id": "app.py:f:constant:1"}, {"id": "x", "reason": "one\ntwo"}):
        meta.write_text(yaml.safe_dump({**data, "equivalent_mutants": [bad]}))
        with pytest.raises(CatalogueError):
            load_scenario(folder)


def test_the_ratchet_passes_below_target_but_never_below_the_last_rate(tmp_path: Path) -> None:
    from backbench.adequacy.report import last_kill_rates

    for name, rate in [("2026-01-01T00-00-00Z.json", 0.5), ("2026-02-01T00-00-00Z.json", 0.6)]:
        data = {"scenarios": [{"scenario": "s", "digest": "d", "kill_rate": rate}]}
        (tmp_path / name).write_text(json.dumps(data))
    floors = last_kill_rates(tmp_path)
    assert floors == {"s": 0.6}
    two_of_three = report(KILLED, KILLED, SURVIVED)  # 67%: under target, above the last rate
    one_of_two = report(KILLED, SURVIVED)  # 50%: a drop
    assert exit_code([two_of_three], 0.9) == 1
    assert exit_code([two_of_three], 0.9, floors) == 0
    assert exit_code([one_of_two], 0.9, floors) == 1
    assert exit_code([report(KILLED, SURVIVED, scenario="new")], 0.9, floors) == 1


def test_the_adequacy_digest_follows_what_a_measurement_depends_on(tmp_path: Path) -> None:
    import shutil

    import yaml

    from backbench.catalogue import find_scenario
    from backbench.identity import adequacy_sha256

    folder = tmp_path / "s"
    shutil.copytree(find_scenario("inventory-crud").folder, folder)
    before = adequacy_sha256(folder)
    meta_file = folder / "scenario.yaml"
    meta = yaml.safe_load(meta_file.read_text())
    # probes, hand-written mutants, load and other solutions take no part
    meta["load"]["users"] = int(meta["load"].get("users", 8)) + 1
    meta_file.write_text(yaml.safe_dump(meta))
    shutil.rmtree(folder / "solutions")
    (folder / "mutants" / "extra.patch").write_text("--- a\n+++ b\n")
    assert adequacy_sha256(folder) == before
    # tests, reference, contract and declared equivalents do
    for change in ("tests", "reference", "openapi", "equivalents"):
        copy = tmp_path / change
        shutil.copytree(folder, copy)
        if change == "tests":
            (copy / "tests" / "test_more.py").write_text("def test_x(api):\n    pass\n")
        elif change == "reference":
            (copy / "reference" / "app.py").write_text("# changed\n")
        elif change == "openapi":
            (copy / "openapi.yaml").write_text("openapi: 3.1.0\n")
        else:
            meta["equivalent_mutants"] = []
            (copy / "scenario.yaml").write_text(yaml.safe_dump(meta))
        assert adequacy_sha256(copy) != before, change


def test_describing_a_scenario_keeps_its_validation_and_anything_else_calls_for_one(
    tmp_path: Path,
) -> None:
    """The validation digest leaves out scenario.yaml's one-line descriptive keys only."""
    from backbench.catalogue import find_scenario
    from backbench.identity import folder_sha256, validation_sha256

    folder = tmp_path / "s"
    shutil.copytree(find_scenario("inventory-crud").folder, folder)
    before, whole = validation_sha256(folder), folder_sha256(folder)
    meta_file = folder / "scenario.yaml"
    text = meta_file.read_text()
    described = text.replace("difficulty: medium\n", "difficulty: hard\n").replace(
        'builds: "', 'builds: "changed: '
    )
    assert described != text
    meta_file.write_text(described)
    assert validation_sha256(folder) == before
    assert folder_sha256(folder) != whole  # the eval log's identity still sees it
    meta_file.write_text(described.replace("users: 8", "users: 9"))
    assert validation_sha256(folder) != before
    meta_file.write_text(described)
    (folder / "prompt.md").write_text("changed\n")
    assert validation_sha256(folder) != before
