"""The judgement and rendering of `backbench validate`, on recorded score dicts."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backbench.cli import main
from backbench.scoring.scorer import SKIPPED_KEYS
from backbench.validate import (
    ERROR,
    OK,
    WARNING,
    Check,
    Observation,
    catch_problem,
    coefficient_of_variation,
    exit_code,
    flipped_verdicts,
    judge_mutant,
    judge_null,
    judge_reference,
    observation,
    render_readme,
    render_table,
    run_record,
)
from backbench.validate_run import (
    EvalCall,
    expected_seconds,
    inspect_command,
    mutant_stages,
    write_results,
)

SLO = {"p95_ms": 300.0, "error_rate": 0.01}

# Recorded from `inspect eval` logs of inventory-crud (values and the metadata keys judged).
REFERENCE_VALUE = {
    "correct": 1, "functional": 1.0, "secure": 1, "correct_secure": 1, "exploits": 0,
    "bandit_high": 0, "p50_ms": 13.0, "p95_ms": 28.0, "p99_ms": 47.0, "rps": 429.38,
    "error_rate": 0.0, "uptime": 1.0, "quality": 1.0, "slo_met": 1, "robust": 1.0,
}  # fmt: skip
REFERENCE_META = {"failed_tests": [], "passed_tests": ["test_health_returns_ok"],
                  "exploited_probes": []}  # fmt: skip
NULL_VALUE = {
    "correct": 0, "functional": 0.0, "secure": 0, "correct_secure": 0, "exploits": 0,
    "bandit_high": 0, "p50_ms": 10000.0, "p95_ms": 10000.0, "p99_ms": 10000.0, "rps": 0.0,
    "error_rate": 1.0, "uptime": 0.0, "quality": 0.0, "slo_met": 0,
}  # fmt: skip
NULL_META = {"not_served": "no start.sh at the workspace root", "timings": {}}
SQLI_VALUE = {**REFERENCE_VALUE, "secure": 0, "correct_secure": 0, "exploits": 1, "p95_ms": 21.0}
SQLI_META = {"failed_tests": [], "exploited_probes": ["sqli-name-filter"]}
PRICE_VALUE = {**REFERENCE_VALUE, "correct": 0, "functional": 0.95, "correct_secure": 0}


def failed(*names: str) -> list[dict[str, str]]:
    return [{"name": n, "outcome": "failed", "message": "assert 201 == 422"} for n in names]


def ref(**changes: float) -> Observation:
    return observation({**REFERENCE_VALUE, **changes}, REFERENCE_META)


# -- reference --------------------------------------------------------------------------------


def test_reference_that_passes_is_ok() -> None:
    check = judge_reference("inventory-crud", [ref()], SLO)
    assert check.severity == OK and check.ok
    assert check.observed.startswith("correct=1 correct_secure=1 uptime=1 slo_met=1")


def test_reference_failing_a_test_is_an_error_naming_the_test() -> None:
    obs = observation(PRICE_VALUE, {**REFERENCE_META, "failed_tests": failed("test_a")})
    check = judge_reference("inventory-crud", [obs], SLO)
    assert check.severity == ERROR
    assert "correct=0" in check.messages[0] and "test_a" in check.messages[0]


def test_reference_missing_the_slo_names_the_metric() -> None:
    check = judge_reference("inventory-crud", [ref(p95_ms=450.0, slo_met=0)], SLO)
    assert check.severity == ERROR
    assert "slo_met=0" in check.messages[0] and "p95_ms 450 > 300" in check.messages[0]


def test_a_solution_missing_the_ratios_names_each_in_its_direction() -> None:
    ratios = {**SLO, "p95_ratio": 3.0, "rps_ratio": 0.33}
    slow = ref(p95_ms=450.0, p95_ratio=4.5, rps_ratio=0.2, slo_met=0)
    check = judge_reference("inventory-crud", [slow], ratios)
    assert "p95_ratio 4.5 > 3" in check.messages[0] and "rps_ratio 0.2 < 0.33" in check.messages[0]
    # beside the reference, the absolute p95 is not judged
    assert "p95_ms" not in check.messages[0]


def test_reference_with_partial_uptime_is_an_error() -> None:
    check = judge_reference("inventory-crud", [ref(uptime=0.875)], SLO)
    assert check.severity == ERROR and "uptime=0.875" in check.messages[0]


@pytest.mark.parametrize("submission", ["reference", "solution:starlette"])
def test_a_correct_solution_that_is_not_robust_is_an_error_showing_the_share(
    submission: str,
) -> None:
    # the stage would be judging the documents' silence: the contract must be settled instead
    check = judge_reference("inventory-crud", [ref(robust=0.6667)], SLO, submission)
    assert check.severity == ERROR and not check.ok
    assert "robust=0.6667" in check.messages[0] and "robust=0.6667" in check.observed


def test_reference_not_served_is_an_error() -> None:
    check = judge_reference("inventory-crud", [observation(NULL_VALUE, NULL_META)], SLO)
    assert check.severity == ERROR and "not served" in check.messages[0]


def test_reference_sample_error_is_an_error() -> None:
    check = judge_reference("x", [Observation(error="RuntimeError: boom")], SLO)
    assert check.severity == ERROR and check.messages == ["sample error: RuntimeError: boom"]


def test_reference_without_a_sample_is_an_error() -> None:
    assert judge_reference("x", [], SLO).severity == ERROR


def test_flipped_verdict_across_repeats_is_an_error() -> None:
    repeats = [ref(), ref(slo_met=0, p95_ms=320.0), ref()]
    assert flipped_verdicts(repeats) == ["slo_met 1/0/1"]
    check = judge_reference("inventory-crud", repeats, SLO)
    assert check.severity == ERROR
    assert check.flaky == ["slo_met 1/0/1"]
    assert any(m == "flaky verdict: slo_met 1/0/1" for m in check.messages)
    assert "slo_met=1/0/1" in check.observed


def test_steady_repeats_are_ok_and_report_cv() -> None:
    repeats = [ref(p95_ms=28.0, rps=400.0), ref(p95_ms=30.0, rps=420.0), ref(p95_ms=32.0)]
    check = judge_reference("inventory-crud", repeats, SLO)
    assert check.severity == OK and check.flaky == []
    assert check.cv["p95_ms"] == pytest.approx(0.0544, abs=1e-3)
    assert check.cv["rps"] is not None and check.cv["rps"] > 0


def test_partial_uptime_flips_the_uptime_verdict() -> None:
    assert flipped_verdicts([ref(), ref(uptime=0.9)]) == ["uptime 1/0"]
    assert flipped_verdicts([ref(uptime=1.0), ref(uptime=1)]) == []


def test_coefficient_of_variation() -> None:
    assert coefficient_of_variation([10.0, 10.0]) == 0
    assert coefficient_of_variation([10.0, 20.0, 30.0]) == pytest.approx(0.4082, abs=1e-4)
    assert coefficient_of_variation([5.0]) is None
    assert coefficient_of_variation([0.0, 0.0]) is None


# -- null -------------------------------------------------------------------------------------


def test_null_that_fails_is_ok() -> None:
    check = judge_null("inventory-crud", [observation(NULL_VALUE, NULL_META)])
    assert check.severity == OK and "not served" in check.observed


def test_null_that_passes_is_an_error() -> None:
    check = judge_null("inventory-crud", [ref()])
    assert check.severity == ERROR and "correct=1" in check.messages[0]


# -- mutants ----------------------------------------------------------------------------------


def test_mutant_caught_by_its_test_is_ok() -> None:
    obs = observation(PRICE_VALUE, {"failed_tests": failed("test_create_rejects_negative_price"),
                                    "exploited_probes": []})  # fmt: skip
    check = judge_mutant(
        "inventory-crud", "no-price-validation",
        {"test": "test_create_rejects_negative_price"}, [obs], SLO,
    )  # fmt: skip
    assert check.severity == OK and check.messages == []
    assert check.submission == "mutant:no-price-validation"


def test_mutant_caught_by_a_parametrised_case_of_its_test() -> None:
    obs = observation(PRICE_VALUE, {"failed_tests": failed("test_x[-1]")})
    assert judge_mutant("s", "m", {"test": "test_x"}, [obs], SLO).severity == OK


def test_mutant_caught_by_its_probe_is_ok() -> None:
    check = judge_mutant(
        "inventory-crud", "string-built-sql", {"probe": "sqli-name-filter"},
        [observation(SQLI_VALUE, SQLI_META)], SLO,
    )  # fmt: skip
    assert check.severity == OK


NAN = float("nan")
NO_LOAD = {k: NAN for k in SKIPPED_KEYS["load"]}
NO_SECURITY = {k: NAN for k in SKIPPED_KEYS["security"]}


def test_each_mutant_runs_the_stages_its_declared_check_needs() -> None:
    assert mutant_stages({"test": "test_x"}) == "functional"
    assert mutant_stages({"probe": "cwe-89"}) == "functional,security"
    assert mutant_stages({"slo": "p95_ms"}) == "functional,load"
    call = EvalCall("m", "api_development", ["s"], "backbench/files", Path("logs"),
                    stages="functional,security")  # fmt: skip
    argv = inspect_command(call, "tasks/api_development", 10.0)
    assert argv[argv.index("stages=functional,security") - 1] == "-T"


def test_a_mutant_caught_only_by_a_probe_is_caught_without_the_load() -> None:
    # scored with -T stages=functional,security: no test failed, the load did not run
    obs = observation({**SQLI_VALUE, **NO_LOAD}, SQLI_META)
    check = judge_mutant("s", "m", {"probe": "sqli-name-filter"}, [obs], SLO)
    assert check.severity == OK and check.messages == []
    assert check.observed == "failed none; exploited sqli-name-filter"


def test_a_mutant_caught_only_by_the_slo_is_caught_without_the_probes() -> None:
    # scored with -T stages=functional,load: no test failed, the probes did not run
    slow = {**REFERENCE_VALUE, **NO_SECURITY, "p95_ms": 450.0, "slo_met": 0}
    check = judge_mutant("s", "m", {"slo": "p95_ms"}, [observation(slow, REFERENCE_META)], SLO)
    assert check.severity == OK and check.messages == []
    assert check.observed == "failed none; slo missed (p95 450 ms, errors 0)"
    # and the same run with the SLO met is not caught
    met = judge_mutant("s", "m", {"slo": "p95_ms"}, [observation(
        {**REFERENCE_VALUE, **NO_SECURITY}, REFERENCE_META)], SLO)  # fmt: skip
    assert met.severity == ERROR and "not caught" in met.messages[0]


def test_uncaught_mutant_is_an_error_naming_the_check() -> None:
    check = judge_mutant(
        "inventory-crud", "string-built-sql", {"probe": "sqli-name-filter"},
        [observation(REFERENCE_VALUE, REFERENCE_META)], SLO,
    )  # fmt: skip
    assert check.severity == ERROR and not check.ok
    assert "not caught" in check.messages[0]
    assert "probe sqli-name-filter" in check.messages[0]
    assert exit_code([check]) == 1


def test_mutant_caught_by_another_test_only_is_an_error() -> None:
    obs = observation(PRICE_VALUE, {"failed_tests": failed("test_other")})
    check = judge_mutant("s", "m", {"test": "test_x"}, [obs], SLO)
    assert check.severity == ERROR and "test test_x" in check.messages[0]


def test_mutant_failing_more_than_declared_is_a_warning() -> None:
    meta = {"failed_tests": failed("test_x", "test_y"), "exploited_probes": ["auth-create-item"]}
    check = judge_mutant("s", "m", {"test": "test_x"}, [observation(PRICE_VALUE, meta)], SLO)
    assert check.severity == WARNING and check.ok
    assert "not minimal" in check.messages[0]
    assert "test_y" in check.messages[0] and "auth-create-item" in check.messages[0]
    assert exit_code([check]) == 0


def test_mutant_caught_by_the_slo() -> None:
    slow = observation({**REFERENCE_VALUE, "p95_ms": 900.0, "slo_met": 0}, REFERENCE_META)
    assert judge_mutant("s", "slow", {"slo": "p95_ms"}, [slow], SLO).severity == OK
    check = judge_mutant("s", "slow", {"slo": "error_rate"}, [slow], SLO)
    assert check.severity == ERROR
    assert "slo_met=0, error_rate > 0.01" in check.messages[0]


def test_mutant_missing_both_slo_metrics_is_not_minimal() -> None:
    value = {**REFERENCE_VALUE, "p95_ms": 900.0, "error_rate": 0.2, "slo_met": 0}
    check = judge_mutant("s", "m", {"slo": "p95_ms"}, [observation(value, {})], SLO)
    assert check.severity == WARNING and "error_rate 0.2 > 0.01" in check.messages[0]


def test_mutant_that_is_never_served_is_an_error() -> None:
    check = judge_mutant("s", "m", {"test": "test_x"}, [observation(NULL_VALUE, NULL_META)], SLO)
    assert check.severity == ERROR and "never served" in check.messages[0]


def test_mutant_sample_error_is_an_error() -> None:
    check = judge_mutant("s", "m", {"test": "test_x"}, [Observation(error="boom")], SLO)
    assert check.severity == ERROR


def test_catch_problems() -> None:
    tests, probes = {"test_x"}, ["sqli"]
    assert catch_problem({"test": "test_x"}, probes, tests, SLO) == ""
    assert catch_problem({"probe": "sqli"}, probes, tests, SLO) == ""
    assert catch_problem({"slo": "p95_ms"}, probes, tests, SLO) == ""
    assert "not defined in tests/" in catch_problem({"test": "test_gone"}, probes, tests, SLO)
    assert "not among" in catch_problem({"probe": "nope"}, probes, tests, SLO)
    assert "does not set" in catch_problem({"slo": "p99_ms"}, probes, tests, SLO)
    assert "one of" in catch_problem({"test": "test_x", "probe": "sqli"}, probes, tests, SLO)


# -- rendering, results, command line ---------------------------------------------------------


def sample_checks() -> list[Check]:
    return [
        judge_reference("inventory-crud", [ref(), ref(p95_ms=30.0)], SLO),
        judge_null("inventory-crud", [observation(NULL_VALUE, NULL_META)]),
        judge_mutant(
            "inventory-crud",
            "sqli",
            {"probe": "sqli-name-filter"},
            [observation(REFERENCE_VALUE, REFERENCE_META)],
            SLO,
        ),  # fmt: skip
    ]


def test_table_lists_every_check_and_names_the_problem() -> None:
    table = render_table(sample_checks())
    header = table.splitlines()[0].split()
    assert header == ["scenario", "submission", "expected", "observed", "ok"]
    assert "mutant:sqli" in table and "FAIL" in table
    assert "ERROR inventory-crud mutant:sqli: not caught" in table


def test_run_record_and_readme(tmp_path: Path) -> None:
    started = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    run = run_record(sample_checks(), started, 75.2, False, 10.0, 2)
    assert not run["ok"]
    assert run["summary"]["mutants_caught"] == 0 and run["summary"]["reference_pass"] == 1
    record = run["records"][0]
    assert {"scenario", "submission", "expected", "observed", "ok", "severity", "scores"} <= set(
        record
    )
    assert record["scores"][0]["p95_ms"] == 28.0
    path = write_results(run, tmp_path, fast=False)
    assert path.name == "2026-01-02T03-04-05Z.json"
    assert json.loads(path.read_text())["records"][2]["severity"] == "error"
    readme = (tmp_path / "README.md").read_text()
    assert "| Reference passes | 1/1 |" in readme
    assert "| Mutants caught by their declared check | 0/1 (0 not minimal) |" in readme
    assert "1 min 15 s" in readme and "| 3.5% |" in readme  # p95 CV of 28 and 30
    assert readme == render_readme(run, path.name)


def test_the_readme_shows_each_scenarios_newest_full_run(tmp_path: Path) -> None:
    # inventory-crud validated in full, then once --fast, then orders-relational alone: the
    # README keeps inventory-crud's full run and adds the newer orders-relational one
    def run_of(scenario: str, hour: int, fast: bool = False) -> dict[str, Any]:
        checks = [judge_reference(scenario, [ref()], SLO)]
        when = datetime(2026, 1, 2, hour, tzinfo=UTC)
        return run_record(checks, when, 60.0, fast, 2.0 if fast else 10.0, 1)

    catalogue = ["inventory-crud", "orders-relational"]
    write_results(run_of("inventory-crud", 1), tmp_path, fast=False, catalogue=catalogue)
    write_results(run_of("inventory-crud", 2, fast=True), tmp_path, fast=True)
    write_results(run_of("orders-relational", 3), tmp_path, fast=False, catalogue=catalogue)
    readme = (tmp_path / "README.md").read_text()
    assert "inventory-crud (2026-01-02T01:00:00+00:00)" in readme
    assert "orders-relational (2026-01-02T03:00:00+00:00)" in readme
    assert "| Reference passes | 2/2 |" in readme and "| Wall time | 2 min 0 s |" in readme
    assert readme.count("| reference | correct=1") == 2


def test_fast_run_leaves_the_readme_alone(tmp_path: Path) -> None:
    run = run_record(sample_checks(), datetime.now(UTC), 1.0, True, 2.0, 1)
    write_results(run, tmp_path, fast=True)
    assert not (tmp_path / "README.md").exists()


def test_inspect_command_batches_and_passes_the_mutant_copy(tmp_path: Path) -> None:
    ref_call = EvalCall("reference", "api_development", ["a", "b"], "backbench/reference",
                        tmp_path, epochs=3)  # fmt: skip
    argv = inspect_command(ref_call, "tasks/api_development", 2.0)
    assert argv[1:3] == ["eval", "tasks/api_development"]
    assert "scenarios=a,b" in argv and "load_seconds=2" in argv
    assert argv[argv.index("--epochs") + 1] == "3"
    assert argv[argv.index("--max-samples") + 1] == "2"
    mutant = EvalCall("a/m", "api_development", ["a"], "backbench/files", tmp_path, tmp_path)
    argv = inspect_command(mutant, "tasks/api_development", 10.0)
    assert argv[argv.index("-M") + 1] == f"path={tmp_path}" and "--epochs" not in argv
    assert "load_baseline=none" not in argv
    # --fast judges its short loads absolute, with no reference beside them
    fast = inspect_command(mutant, "tasks/api_development", 2.0, beside_reference=False)
    assert fast[-2:] == ["-T", "load_baseline=none"]


def test_unknown_scenario_exits_2_with_the_catalogue_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["validate", "--scenarios", "no-such-scenario"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("backbench: error: unknown scenario(s) no-such-scenario; known:")


def test_unknown_section_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--section", "nope"]) == 2
    assert "unknown section 'nope'" in capsys.readouterr().err


def test_validated_hashes_take_the_newest_passing_full_run() -> None:
    from backbench.validate import changed, validated_hashes

    def run(started: str, fast: bool, hashes: dict[str, str], failed: str = "") -> dict:
        records = [{"scenario": s, "ok": s != failed} for s in hashes]
        return {"started": started, "fast": fast, "scenario_sha256": hashes, "records": records}

    runs = [
        run("2026-01-01", False, {"a": "a1", "b": "b1"}),
        run("2026-01-02", False, {"a": "a2", "b": "b2"}, failed="b"),
        run("2026-01-03", True, {"a": "a3", "b": "b3"}),
    ]
    validated = validated_hashes(runs)
    assert validated == {"a": "a2", "b": "b1"}
    assert changed({"a": "a2", "b": "b2", "c": "c1"}, validated) == ["b", "c"]
    assert changed({"a": "a2", "b": "b1"}, validated) == []


def test_rules_check_fails_on_any_coverage_problem_and_shows_the_matrix(tmp_path: Path) -> None:
    from backbench.validate import judge_rules, rules_to_tests

    matrix = {"test_a": ["r1"], "test_b": ["r1", "r2"], "test_c": []}
    assert rules_to_tests(["r1", "r2", "r3"], matrix) == {
        "r1": ["test_a", "test_b"], "r2": ["test_b"], "r3": []
    }  # fmt: skip
    good = judge_rules("s", ["r1", "r2"], {"test_a": ["r1"], "test_b": ["r2"]}, [])
    assert good.ok and good.observed == "2 rules, 2 tests, 2 rules tested"
    bad = judge_rules("s", ["r1", "r2", "r3"], matrix, ["r3: no hidden test checks it"])
    assert not bad.ok and bad.messages == ["r3: no hidden test checks it"]
    run = run_record([good], datetime.now(UTC), 1.0, False, 10.0, 1, {"s": "h"},
                     {"s": rules_to_tests(["r1", "r2", "r3"], matrix)})  # fmt: skip
    readme = render_readme(run, "x.json")
    assert "## Rules → tests: s" in readme and "| r3 | **none** |" in readme
    assert "| r1 | `test_a`, `test_b` |" in readme


def test_calls_expected_longest_count_the_stages_a_mutant_runs() -> None:
    # a batch of five probe mutants outlasts one of five test-caught ones: it starts first
    probes = EvalCall("s/mutants-functional+security-0", "a", ["s"], "backbench/files",
                      Path("x"), epochs=5, stages="functional,security")  # fmt: skip
    tests = EvalCall("s/mutants-functional-0", "a", ["s"], "backbench/files", Path("x"),
                     epochs=5, stages="functional")  # fmt: skip
    assert expected_seconds(probes, 1) > expected_seconds(tests, 1)
    everything = EvalCall("s/mutants-all-0", "a", ["s"], "backbench/files", Path("x"), epochs=4)
    assert expected_seconds(everything, 1) > expected_seconds(probes, 1)
