"""The README's tables are checked against the code, so they cannot drift."""

import inspect
import re
from pathlib import Path

from backbench.catalogue import all_scenarios
from backbench.scoring.verdict import SCORE_KEYS
from tests.conftest import REPO

README = (REPO / "README.md").read_text()


def block(name: str) -> str:
    match = re.search(rf"<!-- {name}:.*?-->(.*?)<!-- /{name} -->", README, re.S)
    assert match, f"README has no {name} block"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def section_task_functions() -> list[object]:
    import importlib.util

    functions = []
    for path in sorted((REPO / "tasks").glob("*/task.py")):
        spec = importlib.util.spec_from_file_location(f"task_{path.parent.name}", path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        functions.append(getattr(module, path.parent.name))
    return functions


def test_parameter_table_matches_every_task_signature() -> None:
    rows = {row[0].strip("`"): row for row in table_rows(block("task-parameters"))}
    for function in section_task_functions():
        params = inspect.signature(function).parameters  # type: ignore[arg-type]
        assert set(rows) == set(params), function
        doc = " ".join((inspect.getdoc(function) or "").split())
        for name, param in params.items():
            default = rows[name][1].strip("`")
            if param.default is not None:
                assert default == str(param.default), name
            assert rows[name][2].split(" (default")[0].rstrip(".") in doc


def test_score_key_table_matches_the_scorer() -> None:
    keys = [row[0].strip("`") for row in table_rows(block("score-keys"))]
    assert keys == SCORE_KEYS


def test_the_scenario_table_is_what_the_scenarios_declare() -> None:
    """The README's table of scenarios is generated from every scenario.yaml (`backbench
    catalogue --schema`): a new scenario, or a changed difficulty, shows there."""
    from backbench.schema_docs import with_scenario_table

    scenarios = all_scenarios()
    assert with_scenario_table(README, scenarios) == README, "run `backbench catalogue --schema`"
    for scenario in scenarios:
        assert f"| `{scenario.id}` | {scenario.builds}" in README, scenario.id


def test_contract_in_readme_names_what_scenarios_promise() -> None:
    contract = (REPO / "backbench" / "contracts" / "service.md").read_text()
    for phrase in ("start.sh", "$PORT", "DATABASE_URL", "REDIS_URL", "APP_SECRET", "/health"):
        assert phrase in contract and phrase in README


def test_readme_commands_exist() -> None:
    assert (REPO / "scripts" / "setup.sh").exists()
    ci = (REPO / ".ci" / "run").read_text()
    assert "scripts/setup.sh" in ci and "pytest" in ci
    assert Path(REPO / "prompts" / "backend-developer.md").exists()


def test_budget_table_matches_the_code() -> None:
    from backbench.scoring import functional, load_test, netprobe, robustness, security, submission
    from backbench.testkit import http

    expected = {
        "server ready (port accepts)": submission.READY_TIMEOUT,
        "a hidden test's request": http.DEFAULT_DEADLINE,
        "deadline misses before the tests stop": http.MAX_DEADLINE_MISSES,
        "functional stage": functional.TEST_TIMEOUT,
        "robust stage (schemathesis)": robustness.STAGE_TIMEOUT,
        "a security probe's request": netprobe.TIMEOUT,
        "security stage": security.PROBES_TIMEOUT,
        "a health probe": netprobe.HEALTH_TIMEOUT,
        "load stage at the default 10 s, the reference beside it (locust's hard cap)": (
            load_test.load_cap_seconds(10.0, with_baseline=True)
        ),
        "one slice of the load (the submission is paused in the reference's)": (
            load_test.SLICE_SECONDS
        ),
    }
    rows = {row[0]: row[1] for row in table_rows(block("budgets"))}
    assert set(rows) == set(expected)
    for what, value in expected.items():
        assert rows[what] in (f"{value:g} s", f"{value:g}"), what


def test_the_benchmark_scripts_repeat_runs_ask_for_stages_the_scorer_accepts() -> None:
    # --speedup-repeats once asked for `stages=load`, which the scorer refuses (functional must
    # be among them): the script then failed at once, before measuring anything
    import importlib.util

    from backbench.scoring.scorer import parse_stages

    spec = importlib.util.spec_from_file_location("benchmark", REPO / "scripts" / "benchmark.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "load" in parse_stages(module.SPEEDUP_STAGES)
    assert parse_stages(module.ROBUST_STAGES) == ("functional",)
    source = (REPO / "scripts" / "benchmark.py").read_text()
    assert re.findall(r'(?<!f)"stages=', source) == [], (
        "stages passed as a literal, not a checked name"
    )
