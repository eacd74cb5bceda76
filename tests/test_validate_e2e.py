"""`backbench validate` end to end: the real console script, `inspect eval` and the .eval logs.

The catalogue is validated as it is, then in scratch copies where one thing was broken on
purpose (the reference, a hidden test, a mutant): validation must fail and say where.
"""

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import lean_tasks

BACKBENCH = Path(sys.executable).parent / "backbench"
SCENARIO = "inventory-crud"
BROKEN = "inventory-broken"  # a copy of it, broken in three places
TIMEOUT = 900
LEAN_TESTS = ("test_items.py",)

pytestmark = pytest.mark.slow


def validate(
    out: Path, tasks: Path | None = None, scenarios: str | None = SCENARIO
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BACKBENCH_TASKS_DIR": str(tasks)} if tasks else dict(os.environ)
    if not tasks:
        env.pop("BACKBENCH_TASKS_DIR", None)
    return subprocess.run(
        [str(BACKBENCH), "validate", "--fast", "--output", str(out),
         *(["--scenarios", scenarios] if scenarios else [])],
        env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip


def results(out: Path) -> dict:
    [path] = out.glob("*.json")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def validated(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One `backbench validate --fast` over two scenarios: inventory-crud (cut down to one hidden
    test file, two of its mutants and one of its other solutions), which must pass, and a copy of
    it, inventory-broken, with a broken reference, a hidden test that tests nothing and a mutant
    that changes nothing, each of which must fail and be named.

    One run for both: each `inspect eval` of a run scores the scenarios of a section together,
    so the second scenario costs far less than a second run. Each broken thing breaks a row of
    its own (mutants are judged by the check they declare, whatever the reference does).
    """
    # the command is the point here; `backbench validate` runs the whole suites
    tasks = lean_tasks(tmp_path_factory.mktemp("validate") / "tasks", SCENARIO, LEAN_TESTS)
    good = scenario_dir(tasks, SCENARIO)
    # two caught by a test (one `inspect eval` scores both), one by a probe
    keep_mutants(good, "no-price-validation", "total-is-page-size", "string-built-sql")
    broken = good.parent / BROKEN
    shutil.copytree(good, broken)
    replace_in(broken / "scenario.yaml", f"id: {SCENARIO}\n", f"id: {BROKEN}\n")
    keep_solutions(good, "flask")
    keep_solutions(broken)
    break_reference_test_and_mutant(broken)
    out = tasks.parent / "out"
    return validate(out, tasks, f"{SCENARIO},{BROKEN}"), out


def test_validate_fast_passes_a_sound_scenario(
    validated: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    # the whole catalogue is validated by `backbench validate` for a release, and CI validates
    # the scenarios whose content changed (`--changed`): here, the command itself
    proc, out = validated
    assert not [line for line in proc.stdout.splitlines() if line.startswith(f"ERROR {SCENARIO} ")]
    run = results(out)
    assert run["fast"] and run["load_seconds"] == 2
    assert set(run["scenarios"]) == {SCENARIO, BROKEN}
    assert set(run["scenario_sha256"]) == {SCENARIO, BROKEN}
    records = [r for r in run["records"] if r["scenario"] == SCENARIO]
    # the run exits 1 for the broken copy alone: every check of the sound one is ok (exit_code,
    # 0 when every check is, is tested in test_validate.py)
    assert records and all(r["ok"] for r in records), [r for r in records if not r["ok"]]
    kinds = [r["submission"].split(":")[0] for r in records]
    assert {"rules", "reference", "null"} <= set(kinds) and kinds.count("mutant") == 3
    assert "solution:flask" in [r["submission"] for r in records]
    # each mutant ran the stages its declared check needs: the probes, not the load, for this
    # one (NaN: not run), and the probe still caught it
    [probe] = [r for r in records if r["submission"] == "mutant:string-built-sql"]
    assert "exploited cwe-89" in probe["observed"] and "slo" not in probe["observed"]
    assert math.isnan(probe["scores"][0]["p95_ms"]) and probe["scores"][0]["exploits"] >= 1
    [tested] = [r for r in records if r["submission"] == "mutant:no-price-validation"]
    assert math.isnan(tested["scores"][0]["secure"]) and math.isnan(tested["scores"][0]["rps"])
    assert run["mutant_stages"] == "declared"
    # the two scored in one eval are each judged on their own sample (told apart by the folder
    # each one's answer names): each failed its own declared test
    for name, test in (
        ("no-price-validation", "test_create_rejects_negative_price"),
        ("total-is-page-size", "test_list_pagination_reports_total_limit_offset"),
    ):
        [mutant] = [r for r in records if r["submission"] == f"mutant:{name}"]
        assert mutant["ok"] and test in mutant["observed"], mutant
    [reference] = [r for r in records if r["submission"] == "reference"]
    assert reference["severity"] == "ok" and reference["scores"][0]["correct"] == 1
    assert not (out / "README.md").exists()  # only a full run rewrites it


def scenario_dir(tasks: Path, scenario: str) -> Path:
    [folder] = tasks.glob(f"*/{scenario}")
    return folder


def keep_mutants(folder: Path, *names: str) -> None:
    meta_file = folder / "scenario.yaml"
    meta = yaml.safe_load(meta_file.read_text())
    meta["mutants"] = [m for m in meta["mutants"] if m["name"] in names]
    assert [m["name"] for m in meta["mutants"]] == list(names)
    meta_file.write_text(yaml.safe_dump(meta, sort_keys=False))


def keep_solutions(folder: Path, *names: str) -> None:
    for solution in (folder / "solutions").iterdir():
        if solution.name not in names:
            shutil.rmtree(solution)


def replace_in(file: Path, old: str, new: str) -> None:
    text = file.read_text()
    assert old in text, f"{old!r} not in {file}: update this test"
    file.write_text(text.replace(old, new, 1))


def assert_fails_naming(proc: subprocess.CompletedProcess[str], *words: str) -> None:
    assert proc.returncode == 1, proc.stdout + proc.stderr
    errors = [line for line in proc.stdout.splitlines() if line.startswith("ERROR ")]
    assert any(all(w in line for w in words) for line in errors), proc.stdout


def break_reference_test_and_mutant(folder: Path) -> None:
    """A broken reference, a hidden test that tests nothing and a mutant that changes nothing."""
    replace_in(
        folder / "reference" / "app.py",
        "return Response(status_code=204)", "return Response(status_code=200)",
    )  # fmt: skip
    # the test no longer sends the request at all: the contract check of its answer would
    # catch the mutant otherwise (a negative price in a 201 breaks the documented schema)
    body = (
        '    r = api.post("/v1/items", json={"name": name, "price": -4.5, "quantity": 1}, '
        "headers=auth_headers)\n"
        '    assert_error(r, 422, "validation_error")\n'
        '    assert api.get("/v1/items", params={"name": name}).json()["total"] == 0\n'
    )
    replace_in(folder / "tests" / "test_items.py", body, "    assert name\n")
    (folder / "mutants" / "string-built-sql.patch").write_text(
        "--- reference/start.sh\n+++ mutant/start.sh\n@@ -1,2 +1,3 @@\n"
        " #!/usr/bin/env bash\n+# a comment only\n set -euo pipefail\n"
    )


def test_a_broken_reference_fails_validation(
    validated: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, out = validated
    assert_fails_naming(
        proc, f"ERROR {BROKEN} reference:", "correct=0", "test_delete_item_returns_204_then_404"
    )
    [record] = [
        r for r in results(out)["records"]
        if r["submission"] == "reference" and r["scenario"] == BROKEN
    ]  # fmt: skip
    assert not record["ok"]


def test_a_hidden_test_that_no_longer_tests_fails_validation(
    validated: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    assert_fails_naming(
        validated[0], f"ERROR {BROKEN} mutant:no-price-validation:", "not caught",
        "test_create_rejects_negative_price",
    )  # fmt: skip


def test_a_mutant_that_changes_nothing_fails_validation(
    validated: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    assert_fails_naming(
        validated[0], f"ERROR {BROKEN} mutant:string-built-sql:", "not caught",
        "probe cwe-89",
    )  # fmt: skip
