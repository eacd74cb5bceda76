"""Layer 1: every verdict is a pure function of recorded evidence, tested in both directions."""

import json
import math
import re
from typing import Any

import pytest

from backbench.runtime import HarnessError
from backbench.scoring.exploits import authentication, sql_injection
from backbench.scoring.functional import FunctionalEvidence, functional_verdict, parse_junit
from backbench.scoring.load_figures import figures, percentile
from backbench.scoring.load_test import (
    LoadEvidence,
    baseline_failed,
    load_generator_failed,
    load_verdict,
    median_cycle_ratio,
    read_result,
)
from backbench.scoring.quality import QualityEvidence, quality_verdict
from backbench.scoring.security import probes_verdict, security_verdict
from backbench.scoring.uptime import UptimeEvidence, uptime_verdict
from backbench.testkit.http import UNRESPONSIVE


def junit(*cases: tuple[str, str]) -> str:
    body = []
    for name, outcome in cases:
        inner = {
            "passed": "",
            "failed": '<failure message="assert 200 == 422">trace</failure>',
            "error": '<error message="fixture broke">trace</error>',
            "skipped": '<skipped message="skip"/>',
        }[outcome]
        body.append(f'<testcase classname="tests.test_items" name="{name}">{inner}</testcase>')
    return f'<testsuites><testsuite name="pytest">{"".join(body)}</testsuite></testsuites>'


class TestFunctional:
    def test_all_passed_with_exit_zero_is_correct(self) -> None:
        result = functional_verdict(FunctionalEvidence(0, junit(("a", "passed"), ("b", "passed"))))
        assert result.correct and result.fraction == 1.0

    def test_one_failure_is_not_correct_and_named(self) -> None:
        evidence = FunctionalEvidence(1, junit(("test_a", "passed"), ("test_b", "failed")))
        result = functional_verdict(evidence)
        assert not result.correct
        assert result.fraction == 0.5
        assert [c.name for c in result.failed] == ["test_b"]
        assert "test_b" in result.explanation

    def test_errors_count_as_failures(self) -> None:
        result = functional_verdict(FunctionalEvidence(1, junit(("a", "error"), ("b", "passed"))))
        assert result.fraction == 0.5 and not result.correct

    def test_report_saying_passed_but_exit_one_is_not_trusted(self) -> None:
        # a planted hook can rewrite outcomes in the report but not pytest's exit code
        result = functional_verdict(FunctionalEvidence(1, junit(("a", "passed"))))
        assert not result.correct

    def test_skipped_tests_are_not_counted(self) -> None:
        result = functional_verdict(FunctionalEvidence(0, junit(("a", "passed"), ("b", "skipped"))))
        assert result.fraction == 1.0 and result.passed == ["a"]

    def test_timeout_scores_zero_and_names_the_stage_budget(self) -> None:
        result = functional_verdict(FunctionalEvidence(None, None))
        assert result.fraction == 0 and not result.correct
        assert result.out_of_time == result.explanation
        assert re.fullmatch(r"functional: ran out of its \d+ s budget", result.explanation)

    def test_tests_the_kit_stopped_make_the_stage_end_early(self) -> None:
        stopped = (
            f'<testcase name="test_c"><error message="{UNRESPONSIVE} (3 requests)">x</error>'
            "</testcase>"
        )
        xml = junit(("test_a", "passed"), ("test_b", "failed")).replace(
            "</testsuite>", stopped + "</testsuite>"
        )
        result = functional_verdict(FunctionalEvidence(1, xml))
        assert not result.correct and result.fraction == pytest.approx(1 / 3)
        assert "stopped early" in result.out_of_time and "1 tests not run" in result.out_of_time
        # the stopped tests are counted, not listed one by one
        assert "FAILED test_b" in result.explanation and "test_c" not in result.explanation

    def test_ordinary_failures_do_not_end_the_stage(self) -> None:
        result = functional_verdict(FunctionalEvidence(1, junit(("a", "failed"), ("b", "error"))))
        assert result.out_of_time == ""

    @pytest.mark.parametrize("code", [2, 3, 4, 5])
    def test_broken_test_run_is_a_harness_error(self, code: int) -> None:
        with pytest.raises(HarnessError):
            functional_verdict(FunctionalEvidence(code, junit(("a", "passed"))))

    def test_missing_report_is_a_harness_error(self) -> None:
        with pytest.raises(HarnessError):
            functional_verdict(FunctionalEvidence(1, None))

    def test_parse_junit_reads_outcomes(self) -> None:
        cases = parse_junit(junit(("a", "passed"), ("b", "failed"), ("c", "skipped")))
        assert [(c.name, c.outcome) for c in cases] == [
            ("a", "passed"),
            ("b", "failed"),
            ("c", "skipped"),
        ]


def row(count: int = 1000, fail: int = 0, p95: float = 70.0, seconds: float = 10.0) -> dict:
    """Figures as the locustfile writes them: `count` latencies whose 95th percentile is `p95`."""
    times = [p95 / 2] * (count * 90 // 100) + [p95] * (count - count * 90 // 100 - 1)
    return figures(times + [p95 * 2] if count else [], fail, seconds)


class TestLoadFigures:
    def test_percentiles_are_exact_nearest_rank(self) -> None:
        ordered = [float(v) for v in range(1, 101)]
        assert percentile(ordered, 0.95) == 95.0 and percentile(ordered, 0.5) == 50.0
        assert percentile([7.0], 0.99) == 7.0

    def test_rate_is_per_open_second(self) -> None:
        figures_row = figures([1.0, 2.0, 3.0, 4.0], 1, seconds=2.0)
        assert figures_row["Request Count"] == "4" and float(figures_row["Requests/s"]) == 2.0
        assert figures_row["Failure Count"] == "1" and figures_row["50%"] == "2.0"

    def test_no_request_has_a_zero_count(self) -> None:
        assert figures([], 0, 10.0)["Request Count"] == "0"

    def test_result_file_gives_both_servers(self) -> None:
        text = json.dumps({"submission": row(), "baseline": row(p95=35.0), "slices": 20})
        submission, baseline, slices = read_result(text)
        assert submission and baseline and slices == 20
        assert float(baseline["95%"]) == 35.0
        assert read_result("not json") == (None, None, 0)


class TestLoad:
    def test_fast_server_meets_slo(self) -> None:
        result = load_verdict(LoadEvidence(0, row(), 10), {"p95_ms": 300})
        assert result.slo_met and result.p95_ms == 70 and result.rps == 100.0
        assert result.error_rate == 0 and math.isnan(result.p95_ratio)

    def test_slow_server_misses_p95(self) -> None:
        evidence = LoadEvidence(0, row(p95=900), 10)
        result = load_verdict(evidence, {"p95_ms": 300, "error_rate": 0.01})
        assert not result.slo_met and "p95" in result.slo_misses[0]

    def test_failing_requests_miss_error_rate(self) -> None:
        evidence = LoadEvidence(0, row(count=1000, fail=50), 10)
        result = load_verdict(evidence, {"error_rate": 0.01})
        assert result.error_rate == 0.05 and not result.slo_met

    def test_no_requests_has_no_latency_and_misses_the_slo(self) -> None:
        result = load_verdict(LoadEvidence(0, None, 10), {"p95_ms": 300})
        assert math.isnan(result.p95_ms) and result.error_rate == 1.0 and not result.slo_met
        assert math.isnan(result.p95_ratio)

    def test_no_requests_while_healthy_is_the_load_generators_failure(self) -> None:
        nothing = LoadEvidence(0, row(count=0), 10)
        assert load_generator_failed(nothing, [{"status": 200}, {"status": 200}])
        assert not load_generator_failed(nothing, [{"status": None}, {"status": 503}])
        served = LoadEvidence(0, row(count=100), 10)
        assert not load_generator_failed(served, [{"status": 200}])


RATIO_SLO = {"p95_ratio": 3.0, "rps_ratio": 0.33, "error_rate": 0.01, "p95_ms": 50.0}


class TestLoadRatios:
    def test_as_fast_as_the_reference_meets_the_ratios_not_the_absolute_p95(self) -> None:
        # p95 70 ms misses the absolute 50 ms, which only applies without a reference
        evidence = LoadEvidence(0, row(), 10, baseline=row(p95=70.0), slices=20)
        result = load_verdict(evidence, RATIO_SLO)
        assert result.slo_met and result.p95_ratio == 1.0 and result.rps_ratio == 1.0
        assert "20 slices" in result.explanation

    def test_slower_than_three_times_the_reference_misses(self) -> None:
        evidence = LoadEvidence(0, row(p95=400.0), 10, baseline=row(p95=100.0))
        result = load_verdict(evidence, RATIO_SLO)
        assert result.p95_ratio == 4.0 and not result.slo_met
        assert "p95 ratio" in result.slo_misses[0]

    def test_a_third_of_the_reference_throughput_misses_the_floor(self) -> None:
        evidence = LoadEvidence(0, row(count=300), 10, baseline=row(count=1000))
        result = load_verdict(evidence, RATIO_SLO)
        assert result.rps_ratio == 0.3 and not result.slo_met
        assert any("rps ratio" in m for m in result.slo_misses)

    def test_the_median_cycle_ratio_ignores_one_disturbed_cycle(self) -> None:
        same: list[float | None] = [20.0, 20.0]
        cycles: list[list[float | None]] = [same, same, same, same, [200.0, 20.0], [None, 20.0]]
        assert median_cycle_ratio(cycles) == 1.0
        assert math.isnan(median_cycle_ratio([]))

    def test_a_reference_that_failed_is_the_harness_fault(self) -> None:
        assert baseline_failed(LoadEvidence(0, row(), 10, baseline=row(count=0)))
        assert baseline_failed(LoadEvidence(0, row(), 10, baseline=row(fail=3)))
        assert not baseline_failed(LoadEvidence(0, row(), 10, baseline=row()))
        assert not baseline_failed(LoadEvidence(0, row(), 10))

    def test_a_submission_that_served_nothing_has_no_ratio(self) -> None:
        evidence = LoadEvidence(0, None, 10, baseline=row())
        result = load_verdict(evidence, RATIO_SLO)
        assert math.isnan(result.p95_ratio) and not result.slo_met


class TestUptime:
    def test_all_probes_answered(self) -> None:
        value, _ = uptime_verdict(UptimeEvidence([{"status": 200}] * 10, alive_after=True))
        assert value == 1.0

    def test_outage_lowers_uptime(self) -> None:
        probes: list[dict[str, Any]] = [{"status": 200}] * 8 + [{"status": None}, {"status": 503}]
        value, _ = uptime_verdict(UptimeEvidence(probes, alive_after=True))
        assert value == 0.8

    def test_dead_server_never_scores_one(self) -> None:
        value, text = uptime_verdict(UptimeEvidence([{"status": 200}] * 10, alive_after=False))
        assert value < 1 and "exited" in text


def sqli(plain: dict, *attempts: dict, kind: str = "tautology") -> dict:
    sent = [{"kind": "plain", "seconds": 0.01, **plain}]
    sent += [
        {
            "kind": kind,
            "seconds": 0.01,
            "payload": "zz' OR '1'='1",
            "operation": "GET /v1/items",
            "request": "GET /v1/items",
            **a,
        }
        for a in attempts
    ]
    return {
        "slots": [
            {
                "operation": "GET /v1/items",
                "where": "query",
                "name": "name",
                "sleep": 2.0,
                "sent": sent,
            }
        ]
    }


def sql_injection_exploited(evidence: dict) -> str | None:
    found = sql_injection.findings(evidence)
    return f"{found[0]['signal']}: {found[0]['proof']}" if found else None


def family(evidence: dict, kind: str = "sql_injection", cwes: tuple[int, ...] = (89,)) -> dict:
    findings = (sql_injection if kind == "sql_injection" else authentication).findings(evidence)
    return {"id": kind, "kind": kind, "cwes": list(cwes), "findings": findings}


class TestSecurity:
    def test_parameterized_filter_is_safe(self) -> None:
        evidence = sqli({"status": 200, "count": 0}, {"status": 200, "count": 0})
        assert sql_injection_exploited(evidence) is None

    def test_tautology_returning_rows_is_an_exploit(self) -> None:
        evidence = sqli({"status": 200, "count": 0}, {"status": 200, "count": 7})
        assert "7 rows" in (sql_injection_exploited(evidence) or "")

    def test_server_error_on_quote_is_an_exploit(self) -> None:
        evidence = sqli({"status": 200, "count": 0}, {"status": 500, "count": None})
        assert sql_injection_exploited(evidence)

    def test_broken_endpoint_is_not_an_exploit(self) -> None:
        evidence = sqli({"status": 500, "count": None}, {"status": 500, "count": None})
        assert sql_injection_exploited(evidence) is None

    def test_validation_rejection_is_safe(self) -> None:
        evidence = sqli({"status": 200, "count": 0}, {"status": 422, "count": None})
        assert sql_injection_exploited(evidence) is None

    def test_an_answer_slower_by_the_sleep_is_an_exploit(self) -> None:
        evidence = sqli({"status": 200, "count": 0}, {"status": 200, "seconds": 2.1}, kind="sleep")
        assert "time-based" in (sql_injection_exploited(evidence) or "")

    def test_a_server_hiding_errors_is_caught_by_the_row_count(self) -> None:
        evidence = sqli({"status": 404}, {"status": 200, "count": None})
        assert "boolean differential" in (sql_injection_exploited(evidence) or "")

    def test_refused_anonymous_request_is_safe(self) -> None:
        evidence = {"attempts": [{"cwe": 306, "vector": "no credentials", "status": 401}]}
        assert authentication.findings(evidence) == []

    def test_served_anonymous_request_is_an_exploit(self) -> None:
        evidence = {"attempts": [{"cwe": 306, "vector": "no credentials", "status": 201}]}
        assert authentication.findings(evidence)[0]["cwe"] == 306

    def test_probe_that_could_not_run_is_not_counted(self) -> None:
        assert probes_verdict([{"id": "x", "kind": "sql_injection", "error": "ConnectError"}]) == []

    def test_security_verdict_counts_bandit_high(self) -> None:
        bandit = {
            "results": [
                {
                    "issue_severity": "HIGH",
                    "test_id": "B602",
                    "filename": "/w/app.py",
                    "line_number": 3,
                    "issue_text": "shell=True",
                },
                {
                    "issue_severity": "LOW",
                    "test_id": "B101",
                    "filename": "/w/app.py",
                    "line_number": 4,
                    "issue_text": "assert",
                },
            ]
        }
        result = security_verdict([], bandit)
        assert result.bandit_high == 1 and "B602" in result.explanation

    def test_security_verdict_names_exploited_probe(self) -> None:
        evidence = family(sqli({"status": 200, "count": 0}, {"status": 200, "count": 3}))
        result = security_verdict([evidence], {"results": []})
        assert result.exploited == ["cwe-89"] and "CWE-89" in result.explanation
        assert "decided by probes" in result.explanation


class TestQuality:
    def test_clean_maintainable_code_scores_high(self) -> None:
        value, _ = quality_verdict(QualityEvidence(500, [], {"app.py": 60.0}))
        assert value == 1.0

    def test_lint_findings_lower_the_score(self) -> None:
        findings = [{"code": "F401"}] * 25
        value, text = quality_verdict(QualityEvidence(500, findings, {"app.py": 60.0}))
        assert value == 0.75 and "F401x25" in text

    def test_unmaintainable_code_lowers_the_score(self) -> None:
        value, _ = quality_verdict(QualityEvidence(500, [], {"app.py": 5.0}))
        assert value == pytest.approx(0.625)

    def test_no_source_scores_zero(self) -> None:
        assert quality_verdict(QualityEvidence(0, [], {}))[0] == 0.0


def test_load_result_written_at_quit_reads_like_the_csv_row() -> None:
    submission, _, _ = read_result(
        '{"submission": {"Name": "Aggregated", "Request Count": 54, "Failure Count": 0, '
        '"Requests/s": 37.1, "50%": 140, "95%": 530, "99%": 540}, "baseline": null}'
    )
    result = load_verdict(LoadEvidence(0, submission, 1), {"p95_ms": 600})
    assert (result.requests, result.p95_ms, result.rps, result.slo_met) == (54, 530.0, 37.1, True)
    assert read_result("[1]") == (None, None, 0)


def test_a_stopped_functional_stage_scores_like_a_server_never_served() -> None:
    from backbench.scoring.functional import FunctionalResult
    from backbench.scoring.verdict import SCORE_KEYS, not_served_score, stopped_score

    functional = FunctionalResult(0.25, False, explanation="functional: 1/4", out_of_time="why")
    value, text = stopped_score(functional, 0.9, "quality: fine", 2)
    never, _ = not_served_score("why", 0.9, "quality: fine", 2)
    assert set(value) == set(SCORE_KEYS)
    assert value == {**never, "functional": 0.25} and value["correct"] == 0
    assert text.startswith("functional: 1/4") and "security, load and uptime: not run" in text


def test_a_security_stage_out_of_time_is_not_secure() -> None:
    evidence = {
        "id": "cwe-306",
        "kind": "authentication",
        "cwe": 306,
        "out_of_time": True,
        "error": "the security stage ran out of its 120 s budget",
    }
    result = security_verdict([evidence], {"results": []})
    assert result.exploited == ["cwe-306"] and "ran out of its 120 s budget" in result.explanation


FASTAPI_IDIOMS = """
from typing import List, Optional

from fastapi import Depends, FastAPI, Query

app = FastAPI()


def session() -> Optional[str]:
    return None


@app.get("/items")
def items(db: Optional[str] = Depends(session), name: Optional[str] = Query(None)) -> List[str]:
    return [name or "", db or ""]
"""
DEFECTS = """
import os


def read(path):
    try:
        return open(path).read()
    except:
        return None
"""


@pytest.mark.parametrize(
    ("source", "codes"), [(FASTAPI_IDIOMS, set()), (DEFECTS, {"E722", "F401"})]
)
def test_quality_lint_finds_defects_not_framework_idioms(
    tmp_path: Any, source: str, codes: set[str]
) -> None:
    import json
    import subprocess

    from backbench.scoring.quality import ruff_argv

    (tmp_path / "app.py").write_text(source)
    proc = subprocess.run(ruff_argv([str(tmp_path / "app.py")]), capture_output=True, text=True)
    assert {f["code"] for f in json.loads(proc.stdout)} >= codes
    if not codes:
        assert json.loads(proc.stdout) == [], proc.stdout


def test_bandit_scores_only_high_severity_with_high_confidence() -> None:
    def finding(severity: str, confidence: str) -> dict[str, Any]:
        return {"issue_severity": severity, "issue_confidence": confidence, "test_id": "B6",
                "filename": "/w/app.py", "line_number": 1, "issue_text": "x"}  # fmt: skip

    bandit = {"results": [finding("HIGH", "LOW"), finding("MEDIUM", "HIGH")]}
    result = security_verdict([], bandit)
    assert result.bandit_high == 0 and "2 findings of lower severity" in result.explanation
    assert security_verdict([], {"results": [finding("HIGH", "HIGH")]}).bandit_high == 1


def test_a_server_that_stops_answering_the_probes_proves_cwe_400() -> None:
    evidence = {"id": "sql_injection", "kind": "sql_injection", "cwes": [89], "unresponsive": True,
                "error": "3 requests in a row missed their deadline"}  # fmt: skip
    assert [pid for pid, _, _ in probes_verdict([evidence])] == ["cwe-400"]
