"""The deliverable kinds' verdicts, each in both directions, and how validate judges them."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from backbench.catalogue_check import catch_problem
from backbench.registry import DELIVERABLE_KINDS, KIND_KEYS
from backbench.schema import ScenarioFile, SuiteDeliverable
from backbench.scoring.functional import FunctionalEvidence
from backbench.scoring.kinds import KindVerdict, kind_values
from backbench.scoring.kinds.migration import migration_verdict
from backbench.scoring.kinds.review import Answer, Defect, read_review, review_verdict
from backbench.scoring.kinds.speedup import speedup_verdict
from backbench.scoring.kinds.tests_kind import SuiteEvidence, SuiteRun, suite_verdict
from backbench.scoring.verdict import SCORE_KEYS, failed_kind, offline_score
from backbench.validate import Observation, judge_mutant, judge_starting, reference_needs
from backbench.validate_run import mutant_stages

# -- speed-up ---------------------------------------------------------------------------------


def test_a_significant_speedup_beyond_the_required_factor_passes() -> None:
    cycles: list[list[float | None]] = [[10.0 + i % 3, 45.0 + i % 5] for i in range(20)]
    verdict = speedup_verdict(cycles, required=3.0)
    assert verdict.passed and verdict.values["speedup"] > 3.0 and verdict.values["speedup_p"] < 0.05


@pytest.mark.parametrize(
    "cycles",
    [
        [[10.0, 25.0]] * 20,  # 2.5x: real but short of 3x
        [[10.0, 45.0]] * 3,  # too few cycles to show anything
        [[None, 45.0]] * 20,  # the submission answered nothing in its slices
        [[10.0 + 30 * (i % 2), 45.0] for i in range(20)],  # fast half the time only
    ],
    ids=["short-of-factor", "few-cycles", "no-answers", "half-the-time"],
)
def test_a_speedup_that_is_short_or_not_shown_fails(cycles: list[list[float | None]]) -> None:
    assert speedup_verdict(cycles, required=3.0).failed == ["speedup"]


# -- review ------------------------------------------------------------------------------------

ANSWER = Answer(
    (
        Defect("race", "change-1", "app/orders.py", 40, 47, "race"),
        Defect("sqli", "change-1", "app/db.py", 10, 12, "injection"),
    ),
    ("change-2",),
)


def _review(*comments: tuple[str, str, int, str]) -> str:
    import json

    return json.dumps(
        {"comments": [{"change": c, "path": p, "line": n, "category": k, "severity": "high",
                       "message": "m"} for c, p, n, k in comments]}
    )  # fmt: skip


def test_a_review_that_finds_every_defect_and_leaves_the_clean_change_alone_passes() -> None:
    text = _review(
        ("change-1", "app/orders.py", 44, "race"), ("change-1", "./app/db.py", 12, "injection"),
        ("change-1", "app/orders.py", 3, "other"),  # an unplanted remark is no false alarm
    )  # fmt: skip
    verdict = review_verdict(text, ANSWER, 1.0, 0.75)
    assert verdict.passed and verdict.values == {"review_recall": 1.0, "review_precision": 1.0}


@pytest.mark.parametrize(
    ("comments", "failed"),
    [
        ((("change-1", "app/orders.py", 44, "race"),), ["review_recall"]),
        ((("change-1", "app/orders.py", 44, "race"), ("change-1", "app/db.py", 11, "logic")),
         ["review_recall"]),  # the right line under another category
        ((("change-1", "app/orders.py", 48, "race"), ("change-1", "app/db.py", 11, "injection")),
         ["review_recall"]),  # one line past the range
        ((("change-1", "app/orders.py", 44, "race"), ("change-1", "app/db.py", 11, "injection"),
          ("change-2", "app/x.py", 1, "logic"), ("change-2", "app/x.py", 9, "race")),
         ["review_precision"]),  # two alarms on the clean change: 2 / 4
        ((("change-2", "app/orders.py", 44, "race"),), ["review_recall", "review_precision"]),
    ],
    ids=["missed", "wrong-category", "wrong-line", "alarms-on-clean", "wrong-change"],
)  # fmt: skip
def test_a_review_that_misses_or_cries_wolf_fails(
    comments: tuple[tuple[str, str, int, str], ...], failed: list[str]
) -> None:
    assert review_verdict(_review(*comments), ANSWER, 1.0, 0.75).failed == failed


@pytest.mark.parametrize(
    "text",
    [None, "not json", '{"comments": 3}', '{"comments": [{}]}',
     _review(("change-1", "app/orders.py", 44, "race")).replace('"high"', '"urgent"'),
     _review(("change-1", "app/orders.py", 44, "race")).replace("44", '"44"')],
    ids=["none", "not-json", "not-a-list", "empty-comment", "unknown-severity", "line-as-text"],
)  # fmt: skip
def test_no_review_or_a_malformed_one_scores_zero(text: str | None) -> None:
    verdict = review_verdict(text, ANSWER, 1.0, 0.75)
    assert verdict.values == {"review_recall": 0.0, "review_precision": 0.0}
    assert verdict.failed == ["review_recall", "review_precision"]


def test_a_review_is_never_read_through_a_link(tmp_path: Path) -> None:
    secret = tmp_path / "harness-secret"
    secret.write_text('{"comments": []}')
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "review.json").symlink_to(secret)
    assert read_review(workspace, "review.json") is None
    (workspace / "other.json").write_text("{}")
    assert read_review(workspace, "other.json") == "{}"


# -- tests as the deliverable ------------------------------------------------------------------

SUITE = SuiteDeliverable.model_validate(
    {"kind": "tests", "package": "app", "min_coverage": 0.8, "min_mutation_kill": 0.6}
)


def _runs(original: int | None, equivalent: int | None, mutants: list[int | None],
          coverage: float = 90.0) -> SuiteEvidence:  # fmt: skip
    runs = [SuiteRun("original", original, coverage), SuiteRun("equivalent", equivalent)]
    runs += [SuiteRun(f"m{i}", code) for i, code in enumerate(mutants)]
    return SuiteEvidence(has_tests=True, runs=runs)


def test_a_suite_that_passes_covers_and_kills_passes() -> None:
    verdict = suite_verdict(_runs(0, 0, [1, 1, None, 0]), SUITE)  # a time-out kills too
    assert verdict.passed
    assert verdict.values == {
        "tests_pass": 1.0,
        "coverage": 0.9,
        "mutation_kill": 0.75,
        "mutants_run": 4.0,
    }


@pytest.mark.parametrize(
    ("evidence", "failed"),
    [
        (_runs(1, 1, [1, 1, 1]), ["tests_pass", "coverage", "mutation_kill"]),  # fails on code
        (_runs(0, 1, [1, 1, 1]), ["tests_pass", "coverage", "mutation_kill"]),  # fingerprints
        (_runs(0, 0, [0, 0, 1]), ["mutation_kill"]),  # asserts little
        (_runs(0, 0, [1, 1, 1], coverage=40.0), ["coverage"]),  # happy path only
        (SuiteEvidence(has_tests=False), ["tests_pass", "coverage", "mutation_kill"]),
    ],
    ids=["fails-on-correct", "fails-on-rewrite", "kills-few", "covers-little", "no-tests"],
)
def test_a_weak_or_wrong_suite_fails_its_check(evidence: SuiteEvidence, failed: list[str]) -> None:
    assert suite_verdict(evidence, SUITE).failed == failed


# -- migration ---------------------------------------------------------------------------------

PASSED = '<testsuite><testcase name="test_rows"/></testsuite>'
FAILED = '<testsuite><testcase name="test_rows"><failure message="lost"/></testcase></testsuite>'


def _checks(xml: str) -> FunctionalEvidence:
    return FunctionalEvidence(returncode=0 if xml == PASSED else 1, junit_xml=xml)


def test_a_migration_that_keeps_the_rows_both_ways_passes() -> None:
    verdict = migration_verdict(_checks(PASSED), 0, _checks(PASSED))
    assert verdict.passed and verdict.values == {"migration_up": 1.0, "migration_down": 1.0}


@pytest.mark.parametrize(
    ("up", "code", "down", "failed"),
    [
        (FAILED, 0, PASSED, ["migration_up", "migration_down"]),  # nothing moved, nothing back
        (PASSED, 0, FAILED, ["migration_down"]),
        (PASSED, 2, None, ["migration_down"]),  # the downgrade command failed
        (PASSED, None, None, ["migration_down"]),  # ... or ran out of time
    ],
)
def test_a_migration_that_loses_data_fails_the_phase(
    up: str, code: int | None, down: str | None, failed: list[str]
) -> None:
    verdict = migration_verdict(_checks(up), code, _checks(down) if down else None)
    assert verdict.failed == failed


# -- score keys and validate -------------------------------------------------------------------


def test_every_sample_has_every_kind_key_and_other_kinds_leave_them_nan() -> None:
    values = kind_values(KindVerdict({"speedup": 4.0, "speedup_p": 0.001}))
    assert set(values) == set(KIND_KEYS) <= set(SCORE_KEYS)
    assert values["speedup"] == 4.0 and math.isnan(values["coverage"])
    assert all(math.isnan(v) for v in kind_values(None).values())


def test_an_offline_kind_scores_correct_from_its_checks_and_nan_for_the_server() -> None:
    value, _ = offline_score(KindVerdict({"review_recall": 1.0, "review_precision": 1.0}))
    assert value["correct"] == 1 and math.isnan(value["p95_ms"]) and math.isnan(value["secure"])
    failed, _ = offline_score(failed_kind("review"))
    assert failed["correct"] == 0 and failed["review_recall"] == 0.0


def test_a_mutant_declaring_a_check_is_caught_only_by_that_check() -> None:
    caught = Observation(value={"correct": 0}, failed_checks=["speedup"])
    missed = Observation(value={"correct": 0}, failed_checks=[], failed_tests=["test_x"])
    assert judge_mutant("s", "m", {"check": "speedup"}, [caught], {}).ok
    assert not judge_mutant("s", "m", {"check": "speedup"}, [missed], {}).ok
    assert mutant_stages({"check": "speedup"}) == "functional,load"
    assert mutant_stages({"check": "migration_up"}) == "functional"


def test_a_check_the_kind_lacks_cannot_be_declared() -> None:
    checks = DELIVERABLE_KINDS["review"].checks
    assert catch_problem({"check": "review_recall"}, [], [], {}, checks) == ""
    assert "lacks" in catch_problem({"check": "speedup"}, [], [], {}, checks)


def test_the_unchanged_starting_code_must_fail_but_pass_the_functional_tests() -> None:
    slow = Observation(value={"correct": 0, "functional": 1.0}, failed_checks=["speedup"])
    assert judge_starting("s", [slow], server=True).ok
    assert not judge_starting("s", [Observation(value={"correct": 1, "functional": 1.0})], True).ok
    broken = Observation(value={"correct": 0, "functional": 0.5})
    assert not judge_starting("s", [broken], server=True).ok
    assert judge_starting("s", [broken], server=False).ok
    assert reference_needs("review") == ("correct",) and "robust" in reference_needs("speedup")


def test_a_server_kind_must_state_its_load_and_an_offline_kind_need_not() -> None:
    review = {"id": "r", "title": "t", "services": [], "mutants": [], "section": "s",
              "difficulty": "easy", "builds": "a review", "cwes": [],
              "deliverable": {"kind": "review", "min_recall": 1, "min_precision": 0.5}}  # fmt: skip
    assert ScenarioFile.model_validate(review).load is None
    with pytest.raises(ValidationError, match="needs load, slo, probes"):
        ScenarioFile.model_validate({**review, "deliverable": {"kind": "speedup", "required": 3}})


# -- repository: the codebase's own tests ------------------------------------------------------


def test_own_tests_pass_or_fail_on_the_exit_code_of_the_original_tests() -> None:
    from backbench.scoring.kinds.repository import own_tests_verdict
    from backbench.scoring.kinds.workspace_runs import WorkspaceRun

    assert own_tests_verdict(WorkspaceRun(0, "5 passed")).passed
    for code in (1, 2, 5, None):  # failed, interrupted, no tests collected, out of time
        assert own_tests_verdict(WorkspaceRun(code, "1 failed")).failed == ["own_tests"]


def test_overlay_never_writes_through_a_link_the_agent_left(tmp_path: Path) -> None:
    from backbench.scoring.kinds.workspace_runs import overlay

    outside = tmp_path / "outside"
    outside.mkdir()
    tree, source = tmp_path / "tree", tmp_path / "source"
    (source / "tests").mkdir(parents=True)
    (source / "tests" / "test_a.py").write_text("original")
    tree.mkdir()
    (tree / "tests").symlink_to(outside)  # the agent's link where the tests folder goes
    overlay(tree, source)
    assert not list(outside.iterdir())
    assert (tree / "tests" / "test_a.py").read_text() == "original"
    assert not (tree / "tests").is_symlink()


# -- config ------------------------------------------------------------------------------------

DOCKERFILE = """ARG BASE_IMAGE=python:3.11.9-slim
FROM ${BASE_IMAGE}
WORKDIR /app
COPY . .
USER app
HEALTHCHECK CMD python -c "print(1)"
CMD ["./start.sh"]
"""
COMPOSE = """services:
  app:
    build: .
    depends_on:
      db: {condition: service_healthy}
  db:
    image: postgres:16.4
    healthcheck: {test: ["CMD", "pg_isready"]}
"""
SHA = "a" * 40
WORKFLOW = f"""on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-24.04
    steps:
      - uses: actions/checkout@{SHA}
      - id: tests
        run: python -m pytest -q tests
"""


def _config(**changes: Any) -> Any:
    from backbench.scoring.kinds.config import ConfigEvidence
    from backbench.scoring.kinds.workspace_runs import WorkspaceRun

    evidence = ConfigEvidence(DOCKERFILE, COMPOSE, WORKFLOW, ci_on_submission=WorkspaceRun(0, ""),
                              ci_on_regression=WorkspaceRun(1, ""))  # fmt: skip
    for key, value in changes.items():
        setattr(evidence, key, value)
    return evidence


def _deliverable() -> Any:
    from backbench.schema import ConfigDeliverable

    return ConfigDeliverable.model_validate({"kind": "config"})


def test_a_complete_configuration_passes_every_check() -> None:
    from backbench.scoring.kinds.config import config_verdict

    verdict = config_verdict(_config(), _deliverable())
    assert verdict.passed, verdict.explanation


@pytest.mark.parametrize(
    ("changes", "failed"),
    [
        ({"dockerfile": DOCKERFILE.replace("USER app\n", "")}, ["dockerfile"]),
        ({"dockerfile": DOCKERFILE.replace("USER app", "USER root")}, ["dockerfile"]),
        # the app then has no healthcheck in compose either (it inherits the image's)
        ({"dockerfile": DOCKERFILE.replace("HEALTHCHECK", "# HEALTHCHECK")},
         ["dockerfile", "compose"]),
        ({"dockerfile": "FROM python:3.11 AS build\n" + DOCKERFILE}, ["dockerfile"]),
        ({"dockerfile": DOCKERFILE.replace("USER app", "USER root:app")}, ["dockerfile"]),
        ({"compose": COMPOSE.replace("build: .", "build: .\n    healthcheck: {disable: true}")},
         ["compose"]),
        ({"dockerfile": DOCKERFILE.replace("3.11.9-slim", "latest")}, ["dockerfile"]),
        ({"dockerfile": DOCKERFILE.replace("${BASE_IMAGE}", "python:3.11")}, ["dockerfile"]),
        ({"hadolint_errors": ["DL3000 line 3: use absolute WORKDIR"]}, ["dockerfile"]),
        ({"compose": COMPOSE.replace("service_healthy", "service_started")}, ["compose"]),
        ({"compose_schema_errors": "dependson is not allowed"}, ["compose"]),
        ({"compose": None}, ["compose"]),
        ({"workflow": WORKFLOW.replace(f"@{SHA}", "@v4")}, ["workflow"]),
        ({"workflow": WORKFLOW + "  reuse:\n    uses: org/repo/.github/workflows/x.yml@main\n"},
         ["workflow"]),
        ({"workflow": WORKFLOW.replace("[push, pull_request]", "[push]")}, ["workflow"]),
        ({"zizmor_high": ["unpinned-uses"]}, ["workflow"]),
        ({"ci_on_regression": None}, ["ci_catches"]),
    ],
    ids=["no-user", "root", "no-healthcheck", "registry-build-stage", "root-with-group",
         "app-healthcheck-disabled", "latest", "base-not-from-arg", "hadolint", "not-healthy",
         "compose-schema", "no-compose", "unpinned", "unpinned-reusable", "push-only", "zizmor",
         "never-catches"],
)  # fmt: skip
def test_each_missing_piece_fails_its_own_check(changes: dict[str, Any], failed: list[str]) -> None:
    from backbench.scoring.kinds.config import config_verdict

    assert config_verdict(_config(**changes), _deliverable()).failed == failed


def test_a_test_step_that_fails_on_correct_code_catches_nothing() -> None:
    from backbench.scoring.kinds.config import config_verdict
    from backbench.scoring.kinds.workspace_runs import WorkspaceRun

    verdict = config_verdict(_config(ci_on_submission=WorkspaceRun(1, "")), _deliverable())
    assert verdict.failed == ["ci_passes"] and verdict.unjudged == ["ci_catches"]
    assert math.isnan(verdict.values["ci_catches"]) and not verdict.passed
    no_step = _config(workflow=WORKFLOW.replace("id: tests", "id: lint"), ci_on_submission=None)
    assert config_verdict(no_step, _deliverable()).failed == ["workflow", "ci_passes"]


def test_nothing_hidden_of_any_kind_reaches_the_workspace() -> None:
    from backbench.catalogue import all_scenarios
    from backbench.task import scenario_files

    hidden = ("seed.py", "review.yaml", "checks", "equivalent", "regression", "reference",
              "tests", "mutants", "solutions")  # fmt: skip
    for scenario in all_scenarios():
        for source in scenario_files(scenario).values():
            rel = Path(source).relative_to(scenario.folder)
            assert rel.parts[0] in ("files", "openapi.yaml"), (scenario.id, rel)
            assert not set(rel.parts[:1]) & set(hidden), (scenario.id, rel)


def test_each_kind_states_its_own_contract() -> None:
    from backbench.catalogue import find_scenario
    from backbench.task import contract_text

    review = contract_text(find_scenario("order-service-review"))
    assert "start.sh" not in review and "review file" in review
    assert "python3 -m pytest" in contract_text(find_scenario("rates-client-tests"))
    seeded = contract_text(find_scenario("customer-address-migration"))
    assert "not empty" in seeded and "start.sh" in seeded
    assert "not empty" not in contract_text(find_scenario("inventory-crud"))


def test_adequacy_leaves_a_codebases_own_tests_unmutated(tmp_path: Path) -> None:
    from backbench.adequacy.mutate import mutants_of_folder
    from backbench.catalogue import find_scenario

    (tmp_path / "app").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "app" / "a.py").write_text("def f(x):\n    return x > 1\n")
    (tmp_path / "tests" / "test_a.py").write_text("def test_f():\n    assert 2 > 1\n")
    files = {m.file for m in mutants_of_folder(tmp_path, ("tests",))}
    assert files == {"app/a.py"}
    assert find_scenario("library-loans-extension").unmutated == ("tests",)
    assert find_scenario("inventory-crud").unmutated == ()


def test_a_file_is_never_read_through_a_linked_folder_on_its_way(tmp_path: Path) -> None:
    from backbench.scoring.kinds.workspace_runs import read_workspace_file

    hidden = tmp_path / "hidden" / "workflows"  # a harness folder: a reference's workflow, say
    hidden.mkdir(parents=True)
    (hidden / "ci.yml").write_text("the reference's workflow")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / ".github").symlink_to(tmp_path / "hidden")
    assert read_workspace_file(workspace, ".github/workflows/ci.yml", 1000) is None
    (workspace / ".github").unlink()
    (workspace / ".github" / "workflows").mkdir(parents=True)
    (workspace / ".github" / "workflows" / "ci.yml").write_text("the agent's")
    assert read_workspace_file(workspace, ".github/workflows/ci.yml", 1000) == "the agent's"
    assert read_workspace_file(workspace, "../hidden/workflows/ci.yml", 1000) is None
    assert read_workspace_file(workspace, ".github/workflows", 1000) is None  # a folder
