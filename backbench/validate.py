"""`backbench validate`: prove every scenario's oracles in both directions, through the real path.

The reference must pass, the null submission must fail, and every mutant must be caught by the
one check it declares. Submissions are scored by the real `inspect eval` CLI with the offline
`backbench/*` agents; the verdicts are judged from the score dicts in the .eval logs.

The judgement and rendering functions here are pure; backbench.validate_run does the I/O.
"""

from __future__ import annotations

import math
import os
import re
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from backbench import registry
from backbench.catalogue_check import catch_problem

__all__ = ["catch_problem"]  # judged here, checked by `backbench catalogue --check`

OK, WARNING, ERROR = "ok", "warning", "error"
REFERENCE_NEEDS = ("correct", "correct_secure", "uptime", "slo_met", "robust")
# a kind that runs no server has only its own checks, which `correct` sums up
OFFLINE_NEEDS = ("correct",)


def reference_needs(kind: str) -> tuple[str, ...]:
    """The verdicts a correct solution of a scenario of this kind must score 1."""
    return REFERENCE_NEEDS if registry.DELIVERABLE_KINDS[kind].server else OFFLINE_NEEDS


# Verdicts that must not change between repeats of the reference.
VERDICTS = ("correct", "correct_secure", "secure", "slo_met", "uptime", "robust")
CV_METRICS = ("p95_ms", "rps")
SLO_METRICS = tuple(registry.SLO_METRICS)
SLO_FLOORS = registry.SLO_FLOORS
CATCH_KINDS = tuple(registry.CHECK_KINDS)
FAST_LOAD_SECONDS = 2.0
FULL_LOAD_SECONDS = 10.0
# `inspect eval`s at once: one more than the cores. A sample waits on its server, PostgreSQL and
# the load's clock for much of its time: validating inventory-crud on 2 cores took 389 s two at a
# time and 327 s three at a time (1.6 of the 2 cores busy), with the same verdicts.
PARALLEL_EVALS = len(os.sched_getaffinity(0)) + 1
INSPECT_TIMEOUT = 1800
TEST_DEF = re.compile(r"^\s*(?:async\s+)?def\s+(test_\w+)", re.MULTILINE)


# -- evidence ---------------------------------------------------------------------------------


@dataclass
class Observation:
    """What one scored sample (one epoch) showed."""

    value: dict[str, float] = field(default_factory=dict)
    failed_tests: list[str] = field(default_factory=list)
    exploited_probes: list[str] = field(default_factory=list)
    not_served: str = ""
    error: str = ""
    failed_checks: list[str] = field(default_factory=list)  # the deliverable kind's


def observation(
    value: dict[str, Any] | None, metadata: dict[str, Any] | None, error: str = ""
) -> Observation:
    """An Observation from a Score's value and metadata (as stored in the .eval log)."""
    metadata = metadata or {}
    return Observation(
        value=dict(value or {}),
        failed_tests=[str(t["name"]) for t in metadata.get("failed_tests", [])],
        exploited_probes=[str(p) for p in metadata.get("exploited_probes", [])],
        not_served=str(metadata.get("not_served", "")),
        error=error,
        failed_checks=[str(c) for c in metadata.get("failed_checks", [])],
    )


@dataclass
class Check:
    """One scenario x submission: what was expected, what was seen, and the verdict."""

    scenario: str
    submission: str  # reference | null | mutant:<name>
    expected: str
    observed: str
    severity: str = OK
    messages: list[str] = field(default_factory=list)
    scores: list[dict[str, float]] = field(default_factory=list)
    cv: dict[str, float | None] = field(default_factory=dict)
    flaky: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No error (a warning is still ok)."""
        return self.severity != ERROR

    def record(self) -> dict[str, Any]:
        """The JSON record of this check."""
        return {"ok": self.ok, **asdict(self)}


def _worst(severities: Iterable[str]) -> str:
    order = [OK, WARNING, ERROR]
    return max(severities, key=order.index, default=OK)


def test_matches(name: str, test: str) -> bool:
    """Whether a JUnit test case name is the test function `test` (parametrised ids included)."""
    return name == test or name.startswith(test + "[")


def coefficient_of_variation(values: list[float]) -> float | None:
    """Population standard deviation over mean; None for fewer than 2 values or a zero mean."""
    if len(values) < 2:
        return None
    mean = statistics.fmean(values)
    if mean == 0:
        return None
    return round(statistics.pstdev(values) / mean, 4)


def flipped_verdicts(observations: list[Observation]) -> list[str]:
    """The verdicts that differ between epochs, each with its values, e.g. 'slo_met 1/0/1'."""
    flipped = []
    for key in VERDICTS:
        # a verdict a kind does not measure (NaN) cannot flip
        values = [
            _verdict(o.value, key) for o in observations if not o.error and _ran(o.value, key)
        ]
        if len(set(values)) > 1:
            flipped.append(f"{key} {'/'.join(str(v) for v in values)}")
    return flipped


def _verdict(value: dict[str, float], key: str) -> int:
    """A verdict as 0 or 1; one that was not measured (NaN) is not a pass."""
    number = value.get(key, 0)
    if isinstance(number, float) and math.isnan(number):
        return 0
    if key in ("uptime", "robust"):
        return int(number == 1)
    return int(number)


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _names(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def _why_failed(obs: Observation, slo_text: str = "") -> list[str]:
    """Evidence behind the failing verdicts of one observation."""
    if obs.not_served:
        return [f"not served: {obs.not_served}"]
    why = []
    if obs.failed_tests:
        why.append(f"failed tests: {_names(obs.failed_tests)}")
    if obs.exploited_probes:
        why.append(f"exploited probes: {_names(obs.exploited_probes)}")
    if obs.value.get("bandit_high", 0):
        why.append(f"bandit high findings: {_number(obs.value['bandit_high'])}")
    if not obs.value.get("slo_met", 0) and slo_text:
        why.append(slo_text)
    if obs.value.get("uptime", 1) != 1:
        why.append(f"uptime {_number(obs.value['uptime'])}")
    if obs.value.get("robust", 1) != 1:
        why.append(f"robust {_number(obs.value['robust'])} (see the score's explanation)")
    return why


def slo_misses(value: dict[str, float], slo: dict[str, float]) -> list[str]:
    """The SLO metrics that `value` misses, e.g. ['p95_ratio 4.1 > 3', 'rps_ratio 0.2 < 0.3']."""
    misses = []
    # with the reference measured beside it, the ratios stand for the absolute p95
    beside = not math.isnan(value.get("p95_ratio", math.nan))
    for m in SLO_METRICS:
        if m not in slo or m not in value or math.isnan(value[m]) or (beside and m == "p95_ms"):
            continue
        if m in SLO_FLOORS and value[m] < slo[m]:
            misses.append(f"{m} {_number(value[m])} < {_number(slo[m])}")
        elif m not in SLO_FLOORS and value[m] > slo[m]:
            misses.append(f"{m} {_number(value[m])} > {_number(slo[m])}")
    return misses


def _errors(obs: list[Observation]) -> list[str]:
    return [f"sample error: {o.error}" for o in obs if o.error]


# -- judgement --------------------------------------------------------------------------------


def judge_reference(
    scenario: str, observations: list[Observation], slo: dict[str, float],
    submission: str = "reference", needs: tuple[str, ...] = REFERENCE_NEEDS,
) -> Check:  # fmt: skip
    """The reference (or another correct solution) must score correct, correct_secure, uptime,
    slo_met and robust 1 in every epoch (a kind without a server: `needs`). A correct solution
    that is not robust is an error like any other: the stage would then judge the documents'
    silence, not the submission."""
    expected = " ".join(f"{k}=1" for k in needs)
    check = Check(scenario, submission, expected, "", scores=[o.value for o in observations])
    messages = _errors(observations) or ([] if observations else ["no scored sample"])
    scored = [o for o in observations if not o.error]
    for epoch, obs in enumerate(scored, start=1):
        short = [k for k in needs if _verdict(obs.value, k) != 1]
        if short:
            where = f"epoch {epoch}: " if len(scored) > 1 else ""
            why = _why_failed(obs, "slo missed: " + _names(slo_misses(obs.value, slo)))
            shown = ", ".join(f"{k}={_shown(obs.value, k)}" for k in short)
            messages.append(f"{where}{shown} ({'; '.join(why)})")
    check.flaky = flipped_verdicts(scored)
    messages += [f"flaky verdict: {f}" for f in check.flaky]
    if len(scored) > 1:
        check.cv = {m: coefficient_of_variation([o.value.get(m, 0.0) for o in scored])
                    for m in CV_METRICS}  # fmt: skip
    check.observed = _observed_values(scored, needs) if scored else "no score"
    if scored and scored[0].failed_checks:
        check.observed += f" (failed checks: {_names(scored[0].failed_checks)})"
    if scored and _ran(scored[0].value, "p95_ms"):
        check.observed += f" (p95 {_spread([o.value['p95_ms'] for o in scored])} ms)"
    check.messages = messages
    check.severity = ERROR if messages else OK
    return check


def _shown(value: dict[str, float], key: str) -> str:
    """A verdict as shown: 0 or 1, and a share (uptime, robust) as its value when below 1."""
    if key in ("uptime", "robust") and _verdict(value, key) != 1:
        return _number(round(float(value.get(key, 0)), 4))
    return str(_verdict(value, key))


def _observed_values(observations: list[Observation], keys: Iterable[str]) -> str:
    parts = []
    for key in keys:
        values = [_shown(o.value, key) for o in observations]
        parts.append(
            f"{key}={'/'.join(str(v) for v in values) if len(set(values)) > 1 else values[0]}"
        )
    return " ".join(parts)


def _spread(values: list[float]) -> str:
    if min(values) == max(values):
        return f"{values[0]:.0f}"
    return f"{min(values):.0f}-{max(values):.0f}"


def judge_null(scenario: str, observations: list[Observation]) -> Check:
    """The empty submission must score correct=0."""
    check = Check(scenario, "null", "correct=0", "", scores=[o.value for o in observations])
    messages = _errors(observations) or ([] if observations else ["no scored sample"])
    scored = [o for o in observations if not o.error]
    if any(_verdict(o.value, "correct") for o in scored):
        messages.append("the empty submission scored correct=1: the hidden tests prove nothing")
    check.observed = _observed_values(scored, ["correct"]) if scored else "no score"
    if scored and scored[0].not_served:
        check.observed += f" (not served: {scored[0].not_served})"
    check.messages = messages
    check.severity = ERROR if messages else OK
    return check


def judge_starting(scenario: str, observations: list[Observation], server: bool) -> Check:
    """The unchanged starting code (files/) must score correct=0: the task asks for a change.
    With `server` (a kind that keeps the behaviour, a speed-up) it must still pass the functional
    tests (functional=1): the change asked for is then the only thing missing."""
    expected = "correct=0 functional=1" if server else "correct=0"
    check = Check(scenario, "starting", expected, "", scores=[o.value for o in observations])
    messages = _errors(observations) or ([] if observations else ["no scored sample"])
    scored = [o for o in observations if not o.error]
    if any(_verdict(o.value, "correct") for o in scored):
        messages.append("the unchanged starting code scored correct=1: the task asks nothing")
    if server and any(o.value.get("functional", 0) != 1 for o in scored):
        messages.append("the starting code fails hidden tests: it is not the service described")
    check.observed = _observed_values(scored, ["correct"]) if scored else "no score"
    if scored and server:
        check.observed += f" functional={_number(scored[0].value.get('functional', 0))}"
    if scored and scored[0].failed_checks:
        check.observed += f" (failed checks: {_names(scored[0].failed_checks)})"
    check.messages = messages
    check.severity = ERROR if messages else OK
    return check


def describe_catch(catches: dict[str, str], slo: dict[str, float]) -> str:
    """What a mutant's `catches` asks for, as a table cell."""
    if "check" in catches:
        return f"check {catches['check']} fails"
    if "test" in catches:
        return f"fails test {catches['test']}"
    if "probe" in catches:
        return f"probe {catches['probe']} exploits"
    if "slo" in catches:
        metric = catches["slo"]
        return f"slo_met=0, {metric} > {_number(slo[metric]) if metric in slo else '?'}"
    return f"unknown catch {catches}"


def judge_mutant(
    scenario: str, mutant: str, catches: dict[str, str], observations: list[Observation],
    slo: dict[str, float],
) -> Check:  # fmt: skip
    """A mutant must be caught by the check it declares; catching more is a warning."""
    check = Check(
        scenario, f"mutant:{mutant}", describe_catch(catches, slo), "",
        scores=[o.value for o in observations],
    )  # fmt: skip
    errors = _errors(observations) or ([] if observations else ["no scored sample"])
    warnings: list[str] = []
    scored = [o for o in observations if not o.error]
    for obs in scored:
        caught, extra = _caught(obs, catches, slo)
        if obs.not_served:
            errors.append(f"not caught by {check.expected}: never served ({obs.not_served})")
        elif not caught:
            errors.append(f"not caught: expected {check.expected}, saw {_observed_mutant(obs)}")
        elif extra:
            warnings.append(f"not minimal: also {'; '.join(extra)}")
    check.observed = "; ".join(_observed_mutant(o) for o in scored) if scored else "no score"
    check.messages = errors + warnings
    check.severity = ERROR if errors else WARNING if warnings else OK
    return check


def _caught(
    obs: Observation, catches: dict[str, str], slo: dict[str, float]
) -> tuple[bool, list[str]]:
    """Whether the declared check caught the mutant, and what else failed beside it."""
    test, probe, metric = catches.get("test"), catches.get("probe"), catches.get("slo")
    kind_check = catches.get("check")
    other_tests = [t for t in obs.failed_tests if not (test and test_matches(t, test))]
    other_checks = [c for c in obs.failed_checks if c != kind_check]
    other_probes = [p for p in obs.exploited_probes if p != probe]
    misses = slo_misses(obs.value, slo)
    other_misses = [m for m in misses if not (metric and m.startswith(metric + " "))]
    if test:
        caught = any(test_matches(t, test) for t in obs.failed_tests)
    elif probe:
        caught = probe in obs.exploited_probes
    elif metric:
        caught = not obs.value.get("slo_met", 1) and len(other_misses) < len(misses)
    elif kind_check:
        caught = kind_check in obs.failed_checks
    else:
        caught = False
    extra = []
    if other_checks:
        extra.append(f"failed checks {_names(other_checks)}")
    if other_tests:
        extra.append(f"failed tests {_names(other_tests)}")
    if other_probes:
        extra.append(f"exploited probes {_names(other_probes)}")
    if other_misses:
        extra.append(f"missed slo {_names(other_misses)}")
    return caught, extra


def _observed_mutant(obs: Observation) -> str:
    if obs.not_served:
        return f"not served: {obs.not_served}"
    parts = [f"failed {_names(obs.failed_tests)}"]
    if obs.failed_checks:
        parts.append(f"failed checks {_names(obs.failed_checks)}")
    # a stage left out (-T stages) scores NaN: it saw nothing, which is not "none"
    if _ran(obs.value, "secure"):
        parts.append(f"exploited {_names(obs.exploited_probes)}")
    if _ran(obs.value, "slo_met"):
        slo = "slo met" if obs.value.get("slo_met", 0) else "slo missed"
        p95, errors = _number(obs.value.get("p95_ms", 0)), _number(obs.value.get("error_rate", 0))
        parts.append(f"{slo} (p95 {p95} ms, errors {errors})")
    return "; ".join(parts)


def _ran(value: dict[str, float], key: str) -> bool:
    number = value.get(key, 0)
    return not (isinstance(number, float) and math.isnan(number))


def judge_rules(
    scenario: str, rule_ids: list[str], matrix: dict[str, list[str]], problems: list[str]
) -> Check:
    """Every rule checked by a hidden test (or a kind check), every hidden test checking a rule."""
    tested = {r for rules in matrix.values() for r in rules}
    check = Check(
        scenario, "rules", "every rule tested, every test names a rule",
        f"{len(rule_ids)} rules, {len(matrix)} tests, "
        f"{len([r for r in rule_ids if r in tested])} rules tested",
        ERROR if problems else OK, list(problems),
    )  # fmt: skip
    return check


def rules_to_tests(rule_ids: list[str], matrix: dict[str, list[str]]) -> dict[str, list[str]]:
    """The rule -> tests matrix, rules in their declared order."""
    return {r: sorted(t for t, rules in matrix.items() if r in rules) for r in rule_ids}


def exit_code(checks: list[Check]) -> int:
    """0 when no check is an error, else 1."""
    return 0 if all(c.ok for c in checks) else 1


# -- rendering --------------------------------------------------------------------------------

TABLE_COLUMNS = ("scenario", "submission", "expected", "observed", "ok")
CELL_WIDTH = 70
OK_MARK = {OK: "ok", WARNING: "warn", ERROR: "FAIL"}


def _cell(text: str, width: int = CELL_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_table(checks: list[Check]) -> str:
    """The terminal table, then one line per problem naming the scenario and the check."""
    rows = [
        [c.scenario, c.submission, _cell(c.expected), _cell(c.observed), OK_MARK[c.severity]]
        for c in checks
    ]
    widths = [max(len(r[i]) for r in [list(TABLE_COLUMNS), *rows]) for i in range(5)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(TABLE_COLUMNS, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    problems = problem_lines(checks)
    if problems:
        lines += ["", *problems]
    return "\n".join(lines)


def problem_lines(checks: list[Check]) -> list[str]:
    """'ERROR <scenario> <submission>: <message>' for every error and warning."""
    lines = []
    for check in checks:
        label = "ERROR" if check.severity == ERROR else "WARNING"
        lines += [f"{label} {check.scenario} {check.submission}: {m}" for m in check.messages]
    return lines


def summary(checks: list[Check]) -> dict[str, Any]:
    """Counts over the checks: what the README and the JSON file report."""
    return records_summary([c.record() for c in checks])


def records_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Counts over check records (Check.record()), from one run or several."""
    by_kind: dict[str, list[dict[str, Any]]] = {"reference": [], "null": [], "mutant": []}
    for record in records:
        by_kind.setdefault(record["submission"].split(":")[0], []).append(record)
    return {
        "scenarios": len({r["scenario"] for r in records}),
        "reference_pass": sum(r["ok"] for r in by_kind["reference"]),
        "references": len(by_kind["reference"]),
        "solutions_pass": sum(r["ok"] for r in by_kind.get("solution", [])),
        "solutions": len(by_kind.get("solution", [])),
        "null_fail": sum(r["ok"] for r in by_kind["null"]),
        "nulls": len(by_kind["null"]),
        "mutants_caught": sum(r["ok"] for r in by_kind["mutant"]),
        "mutants": len(by_kind["mutant"]),
        "not_minimal": sum(r["severity"] == WARNING for r in by_kind["mutant"]),
        "flaky": sum(len(r.get("flaky", [])) for r in records),
        "errors": sum(r["severity"] == ERROR for r in records),
        "warnings": sum(r["severity"] == WARNING for r in records),
    }


def newest_runs(
    runs: Iterable[dict[str, Any]], scenarios: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """Per scenario of `scenarios`, the newest full (not --fast) run that validated it."""
    found: dict[str, dict[str, Any]] = {}
    wanted = set(scenarios)
    for run in sorted(runs, key=lambda r: str(r.get("started", "")), reverse=True):
        if run.get("fast"):
            continue
        for scenario in set(run.get("scenarios", [])) & wanted - set(found):
            found[scenario] = run
    return found


def merged_run(runs: Iterable[dict[str, Any]], scenarios: Iterable[str]) -> dict[str, Any]:
    """One run record made of each scenario's newest full run: what the README shows while
    only changed scenarios are validated again."""
    picked = newest_runs(runs, scenarios)
    order = sorted(picked)
    records = [r for s in order for r in picked[s]["records"] if r["scenario"] == s]
    sources = {s: str(picked[s]["started"]) for s in order}
    distinct = {str(run["started"]): run for run in picked.values()}.values()
    return {
        "rule_matrix": {s: m for s in order if (m := picked[s].get("rule_matrix", {}).get(s))},
        "started": max(sources.values(), default=""),
        "wall_seconds": sum(float(run.get("wall_seconds", 0)) for run in distinct),
        "load_seconds": max((float(run.get("load_seconds", 0)) for run in distinct), default=0),
        "repeat": min((int(run.get("repeat", 1)) for run in distinct), default=1),
        "scenarios": order,
        "sources": sources,
        "ok": not any(r["severity"] == ERROR for r in records),
        "summary": records_summary(records),
        "records": records,
    }


def run_record(
    checks: list[Check], started: datetime, wall_seconds: float, fast: bool,
    load_seconds: float, repeat: int, hashes: dict[str, str] | None = None,
    rule_matrix: dict[str, dict[str, list[str]]] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The JSON document of one run; `hashes` are the validated scenarios' content hashes and
    `rule_matrix` their rule -> tests matrices."""
    return {
        "rule_matrix": rule_matrix or {},
        "scenario_sha256": dict(sorted((hashes or {}).items())),
        "started": started.isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 1),
        "fast": fast,
        "load_seconds": load_seconds,
        "repeat": repeat,
        "scenarios": sorted({c.scenario for c in checks}),
        "ok": exit_code(checks) == 0,
        "summary": summary(checks),
        "records": [c.record() for c in checks],
    }


def validated_hashes(runs: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Per scenario, the content hash its newest full (not --fast) passing run validated."""
    found: dict[str, str] = {}
    for run in sorted(runs, key=lambda r: str(r.get("started", "")), reverse=True):
        if run.get("fast"):
            continue
        failed = {r["scenario"] for r in run.get("records", []) if not r.get("ok")}
        for scenario, digest in run.get("scenario_sha256", {}).items():
            if scenario not in failed:
                found.setdefault(scenario, digest)
    return found


def changed(current: dict[str, str], validated: dict[str, str]) -> list[str]:
    """The scenarios whose content differs from what the last full validation saw."""
    return sorted(s for s, digest in current.items() if validated.get(s) != digest)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


def _cv_text(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_readme(run: dict[str, Any], json_name: str) -> str:
    """results/validation/README.md: a summary of the last full run, or (a merged_run) of each
    scenario's newest full run."""
    s = run["summary"]
    records = run["records"]
    sources = run.get("sources")
    origin = (
        "the newest full (not `--fast`) run of each scenario: "
        + ", ".join(f"{sid} ({started})" for sid, started in sources.items())
        if sources
        else f"its last full (not `--fast`) run, [`{json_name}`]({json_name})"
    )
    lines = [
        "# Validation results",
        "",
        f"Generated by `backbench validate` from {origin}. Do not edit: rerun `backbench "
        "validate` to refresh it.",
        "",
        "| | |",
        "|---|---|",
        f"| Started (UTC) | {run['started']} |",
        f"| Scenarios | {s['scenarios']} ({', '.join(run['scenarios'])}) |",
        f"| Reference passes | {s['reference_pass']}/{s['references']} |",
        f"| Other correct solutions pass | {s.get('solutions_pass', 0)}/{s.get('solutions', 0)} |",
        f"| Null submission fails | {s['null_fail']}/{s['nulls']} |",
        f"| Mutants caught by their declared check | {s['mutants_caught']}/{s['mutants']}"
        f" ({s['not_minimal']} not minimal) |",
        f"| Flaky verdicts | {s['flaky']} (over {run['repeat']} reference repeat(s)) |",
        f"| Load test | {_number(run['load_seconds'])} s per submission |",
        f"| Wall time | {_duration(run['wall_seconds'])} |",
        f"| Result | {'OK' if run['ok'] else str(s['errors']) + ' error(s)'}"
        f"{', ' + str(s['warnings']) + ' warning(s)' if s['warnings'] else ''} |",
        "",
        "## Per scenario",
        "",
        "| scenario | reference | null | starting code fails | mutants caught | p95 ms | p95 CV "
        "| rps | rps CV |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for scenario in run["scenarios"]:
        own = [r for r in records if r["scenario"] == scenario]
        ref = next((r for r in own if r["submission"] == "reference"), None)
        null = next((r for r in own if r["submission"] == "null"), None)
        starting = next((r for r in own if r["submission"] == "starting"), None)
        mutants = [r for r in own if r["submission"].startswith("mutant:")]
        # a kind without a server has no load figures (NaN): shown as not measured
        p95 = [v["p95_ms"] for v in (ref or {}).get("scores", []) if _measured(v, "p95_ms")]
        rps = [v["rps"] for v in (ref or {}).get("scores", []) if _measured(v, "rps")]
        cv = (ref or {}).get("cv", {})
        lines.append(
            f"| {scenario} | {_pass(ref)} | {_pass(null)} "
            f"| {_pass(starting) if starting else '–'} "
            f"| {sum(r['ok'] for r in mutants)}/{len(mutants)} "
            f"| {_mean(p95)} | {_cv_text(cv.get('p95_ms'))} | {_mean(rps)} "
            f"| {_cv_text(cv.get('rps'))} |"
        )
    lines += ["", "## Checks", "", "| " + " | ".join(TABLE_COLUMNS) + " |", "|---|---|---|---|---|"]
    for r in records:
        lines.append(
            f"| {r['scenario']} | {r['submission']} | {_md(r['expected'])} | {_md(r['observed'])} "
            f"| {OK_MARK[r['severity']]} |"
        )
    for scenario, matrix in sorted(run.get("rule_matrix", {}).items()):
        lines += ["", f"## Rules → tests: {scenario}", "", "| rule | tests |", "|---|---|"]
        lines += [
            f"| {rule} | {', '.join(f'`{t}`' for t in tests) or '**none**'} |"
            for rule, tests in matrix.items()
        ]
    problems = [
        f"- **{r['severity']}** {r['scenario']} {r['submission']}: {_md(m)}"
        for r in records
        for m in r["messages"]
    ]
    lines += ["", "## Problems", "", *(problems or ["None."])]
    return "\n".join(lines) + "\n"


def _pass(record: dict[str, Any] | None) -> str:
    return "–" if record is None else "yes" if record["ok"] else "**no**"


def _measured(value: dict[str, Any], key: str) -> bool:
    return key in value and _ran(value, key)


def _mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):.0f}" if values else "–"
