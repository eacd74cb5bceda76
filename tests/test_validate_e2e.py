"""`backbench validate` end to end: the real console script, `inspect eval` and the .eval logs.

The catalogue is validated as it is, then in scratch copies where one thing was broken on
purpose (the reference, a hidden test, a mutant): validation must fail and say where.
"""

import json
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
TIMEOUT = 900
LEAN_TESTS = ("test_items.py",)

pytestmark = pytest.mark.slow


def validate(
    out: Path, tasks: Path | None = None, scenario: str | None = SCENARIO
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BACKBENCH_TASKS_DIR": str(tasks)} if tasks else dict(os.environ)
    if not tasks:
        env.pop("BACKBENCH_TASKS_DIR", None)
    return subprocess.run(
        [str(BACKBENCH), "validate", "--fast", "--output", str(out),
         *(["--scenarios", scenario] if scenario else [])],
        env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False,
    )  # fmt: skip


def results(out: Path) -> dict:
    [path] = out.glob("*.json")
    return json.loads(path.read_text())


def test_validate_fast_passes_on_one_scenario(scratch: Path) -> None:
    # the whole catalogue is validated by `backbench validate` for a release, and CI validates
    # the scenarios whose content changed (`--changed`): here, the command itself, on a copy
    # with two of the mutants and one of the other solutions
    keep_mutants(scratch, "no-price-validation", "string-built-sql")
    keep_solutions(scratch, "flask")
    out = scratch.parent / "out"
    proc = validate(out, scratch)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    run = results(out)
    assert run["ok"] and run["fast"] and run["load_seconds"] == 2
    assert run["scenarios"] == [SCENARIO] and set(run["scenario_sha256"]) == {SCENARIO}
    for scenario in run["scenarios"]:
        records = [r for r in run["records"] if r["scenario"] == scenario]
        kinds = [r["submission"].split(":")[0] for r in records]
        assert {"rules", "reference", "null"} <= set(kinds) and kinds.count("mutant") == 2
        assert "solution:flask" in [r["submission"] for r in records]
        [reference] = [r for r in records if r["submission"] == "reference"]
        assert reference["severity"] == "ok" and reference["scores"][0]["correct"] == 1
    assert not (out / "README.md").exists()  # only a full run rewrites it


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    # the command is the point here; `backbench validate` runs the whole suites
    return lean_tasks(tmp_path / "tasks", SCENARIO, LEAN_TESTS)


def scenario_dir(tasks: Path) -> Path:
    [folder] = tasks.glob(f"*/{SCENARIO}")
    return folder


def keep_mutants(tasks: Path, *names: str) -> None:
    meta_file = scenario_dir(tasks) / "scenario.yaml"
    meta = yaml.safe_load(meta_file.read_text())
    meta["mutants"] = [m for m in meta["mutants"] if m["name"] in names]
    assert [m["name"] for m in meta["mutants"]] == list(names)
    meta_file.write_text(yaml.safe_dump(meta, sort_keys=False))


def keep_solutions(tasks: Path, *names: str) -> None:
    for solution in (scenario_dir(tasks) / "solutions").iterdir():
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


@pytest.fixture(scope="module")
def broken(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One run over a copy with a broken reference, a hidden test that tests nothing and a
    mutant that changes nothing.

    Each breaks a row of its own (mutants are judged by the check they declare, whatever the
    reference does), so one run shows all three.
    """
    tasks = lean_tasks(tmp_path_factory.mktemp("oracles") / "tasks", SCENARIO, LEAN_TESTS)
    keep_mutants(tasks, "no-price-validation", "string-built-sql")
    keep_solutions(tasks)
    app = scenario_dir(tasks) / "reference" / "app.py"
    replace_in(app, "return Response(status_code=204)", "return Response(status_code=200)")
    tests = scenario_dir(tasks) / "tests" / "test_items.py"
    # the test no longer sends the request at all: the contract check of its answer would
    # catch the mutant otherwise (a negative price in a 201 breaks the documented schema)
    body = (
        '    r = api.post("/v1/items", json={"name": name, "price": -4.5, "quantity": 1}, '
        "headers=auth_headers)\n"
        '    assert_error(r, 422, "validation_error")\n'
        '    assert api.get("/v1/items", params={"name": name}).json()["total"] == 0\n'
    )
    replace_in(tests, body, "    assert name\n")
    patch = scenario_dir(tasks) / "mutants" / "string-built-sql.patch"
    patch.write_text(
        "--- reference/start.sh\n+++ mutant/start.sh\n@@ -1,2 +1,3 @@\n"
        " #!/usr/bin/env bash\n+# a comment only\n set -euo pipefail\n"
    )
    return validate(tasks.parent / "out", tasks), tasks.parent / "out"


def test_a_broken_reference_fails_validation(
    broken: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, out = broken
    assert_fails_naming(
        proc, f"ERROR {SCENARIO} reference:", "correct=0", "test_delete_item_returns_204_then_404"
    )
    [record] = [r for r in results(out)["records"] if r["submission"] == "reference"]
    assert not record["ok"]


def test_a_hidden_test_that_no_longer_tests_fails_validation(
    broken: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    assert_fails_naming(
        broken[0], f"ERROR {SCENARIO} mutant:no-price-validation:", "not caught",
        "test_create_rejects_negative_price",
    )  # fmt: skip


def test_a_mutant_that_changes_nothing_fails_validation(
    broken: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    assert_fails_naming(
        broken[0], f"ERROR {SCENARIO} mutant:string-built-sql:", "not caught",
        "probe cwe-89",
    )  # fmt: skip
