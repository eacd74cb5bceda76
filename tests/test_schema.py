"""scenario.yaml's schema, the registries and `backbench catalogue --check` (pure and fast).

The broken folders are scratch copies of inventory-crud whose hidden tests use the test kit's
fixtures, so the only problem in each is the one the test puts there.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from backbench import catalogue_check
from backbench.catalogue import (
    ERROR,
    CatalogueError,
    find_scenario,
    load_scenario,
    read_scenario_file,
    scenario_folders,
    section_names,
    section_scenarios,
)
from backbench.catalogue_check import check_folder, kit_fixtures_used
from backbench.cli import main
from backbench.peers.kinds import PEER_KINDS
from backbench.registry import CHECK_KINDS, PEERS, PROBE_KINDS, SERVICES, SLO_METRICS, one_of
from backbench.schema import Catches, ScenarioFile, Slo
from backbench.schema_docs import GUIDE_FILE, SCHEMA_FILE, field_rows, schema_text, with_field_table

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "tasks" / "api_development" / "inventory-crud"
META = "tasks/api_development/inventory-crud/scenario.yaml"
KIT_TESTS = '''"""Hidden tests that use the test kit."""


def test_create_rejects_negative_price(api):
    assert api.post("/v1/items", json={"price": -1}).status_code == 422


def test_list_pagination_reports_total_limit_offset(authed_api, unique):
    assert authed_api.get("/v1/items", params={"name": unique()}).status_code == 200
'''


RULED_TESTS = '''"""Hidden tests naming their rules."""
import pytest

pytestmark = pytest.mark.rules("auth-writes")


@pytest.mark.rules("price-positive")
def test_create_rejects_negative_price(api):
    assert api.post("/v1/items", json={"price": -1}).status_code == 422


class TestListing:
    pytestmark = [pytest.mark.rules("list-total")]

    def test_list_pagination_reports_total_limit_offset(self, authed_api, unique):
        assert authed_api.get("/v1/items", params={"name": unique()}).status_code == 200
'''


def _rule(rule_id: str, quote: str) -> dict[str, Any]:
    return {"id": rule_id, "text": f"{rule_id}.", "source": {"file": "prompt.md", "quote": quote}}


RULES = [
    _rule("price-positive", "strictly greater than 0"),
    _rule("auth-writes", "Every write"),
    _rule("list-total", "`total` is the number"),
]


def scratch_mutants(meta: dict[str, Any]) -> list[dict[str, Any]]:
    """The mutants whose catching check the scratch copy still has (its two tests, probes)."""
    tests = {
        "test_create_rejects_negative_price",
        "test_list_pagination_reports_total_limit_offset",
    }
    return [
        m for m in meta["mutants"] if "probe" in m["catches"] or m["catches"].get("test") in tests
    ]


@pytest.fixture
def scenario(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A valid scratch copy of inventory-crud, its hidden tests on the kit, in ./tasks."""
    folder = tmp_path / "tasks" / "api_development" / SOURCE.name
    shutil.copytree(SOURCE, folder, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    (folder / "tests").mkdir()
    (folder / "tests" / "test_items.py").write_text(RULED_TESTS)
    edit(folder, lambda meta: meta.update(rules=RULES, mutants=scratch_mutants(meta)))
    monkeypatch.setenv("BACKBENCH_TASKS_DIR", str(tmp_path / "tasks"))
    monkeypatch.chdir(tmp_path)
    return folder


def edit(folder: Path, change: Callable[[dict[str, Any]], None]) -> None:
    meta = yaml.safe_load((folder / "scenario.yaml").read_text())
    change(meta)
    text = yaml.safe_dump(meta, sort_keys=False)
    # the descriptive keys stay on one line each, as a scenario writes them
    for key in ("section", "difficulty", "builds", "cwes"):
        text = text.replace(
            yaml.safe_dump({key: meta[key]}),
            yaml.safe_dump({key: meta[key]}, default_flow_style=True, width=10**6)[1:-2] + "\n",
        )
    (folder / "scenario.yaml").write_text(text)


def check(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["catalogue", "--check", *args])
    return code, capsys.readouterr().out.splitlines()


# -- the real catalogue -----------------------------------------------------------------------


@pytest.mark.parametrize("folder", scenario_folders(), ids=lambda f: f.name)
def test_every_scenario_loads_through_the_schema(folder: Path) -> None:
    model, problems = read_scenario_file(folder)
    assert model is not None and problems == []
    scenario = load_scenario(folder)
    # a kind without a server is not probed
    assert scenario.id == folder.name and scenario.mutants
    assert bool(scenario.probes) == scenario.kind_spec.server
    assert all(isinstance(p, dict) and p["kind"] in PROBE_KINDS for p in scenario.probes)
    assert set(scenario.peers) <= set(PEER_KINDS) and scenario.rules
    # declared equivalents name a file, scope and operator the mutator could generate from; that
    # it still does is `backbench adequacy`'s check (seconds a scenario: CI runs it on the
    # scenarios whose reference or declarations changed)
    assert catalogue_check.equivalent_problems(scenario) == []
    first = (folder / "scenario.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../../../docs/scenario.schema.json"


def test_the_real_catalogue_passes_the_check(capsys: pytest.CaptureFixture[str]) -> None:
    problems = [p for f in scenario_folders() for p in check_folder(f)]
    errors = [p for p in problems if p.severity == ERROR]
    assert errors == []
    assert all(
        p.file.name == "conftest.py" or p.field == "rules" for p in problems if p.severity != ERROR
    )
    code, out = check(capsys)
    assert code == (2 if errors else 0)
    assert out[-1].startswith(f"checked {len(scenario_folders())} scenario folder(s):")


def test_listing_names_every_scenario_with_its_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalogue"]) == 0
    out = capsys.readouterr().out
    for section in section_names():
        assert f"{section}: {len(section_scenarios(section))} scenario(s)" in out
    header = next(line for line in out.splitlines() if line.startswith("id "))
    assert header.split() == ["id", "title", "services", "tests", "mutants", "rules"]
    for folder in scenario_folders():
        assert folder.name in out


# -- broken scratch folders -------------------------------------------------------------------


def test_the_scratch_copy_is_valid(scenario: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(capsys)
    assert (code, out) == (0, ["checked 1 scenario folder(s): 0 error(s), 0 warning(s)"])


def _unknown_probe_kind(folder: Path) -> None:
    edit(folder, lambda m: m["probes"].update(exclude=[{"family": "sqli", "reason": "r"}]))


def _misspelled_top_level_key(folder: Path) -> None:
    edit(folder, lambda m: m.update(sevices=m.pop("services")))


def _misspelled_nested_key(folder: Path) -> None:
    def misspell(meta: dict[str, Any]) -> None:
        request = meta["load"]["requests"][0]
        request["wieght"] = request.pop("weight")

    edit(folder, misspell)


def _test_file_without_kit_fixture(folder: Path) -> None:
    (folder / "tests" / "test_plain.py").write_text(
        "import httpx\nimport pytest\n\n\n@pytest.mark.rules('price-positive')\n"
        "def test_health():\n    assert httpx.get('http://x/health')\n"
    )


def _mutant_catching_a_missing_test(folder: Path) -> None:
    edit(folder, lambda m: m["mutants"][0].update(catches={"test": "test_gone"}))


def _rule_quoting_what_the_prompt_does_not_say(folder: Path) -> None:
    source = {"file": "prompt.md", "quote": "prices may be negative"}
    edit(folder, lambda m: m["rules"][0].update(source=source))


def _unknown_service(folder: Path) -> None:
    edit(folder, lambda m: m.update(services=["postgres", "mongodb"]))


def _unknown_peer(folder: Path) -> None:
    edit(folder, lambda m: m.update(peers=["smtp", "ftp"]))


def _section_of_another_folder(folder: Path) -> None:
    edit(folder, lambda m: m.update(section="database"))


def _cwes_not_planned(folder: Path) -> None:
    edit(folder, lambda m: m.update(cwes=[*m["cwes"], 79]))


BROKEN = {
    "unknown probe kind": (
        _unknown_probe_kind,
        f"{META}: probes.exclude[0].family: unknown probe family 'sqli'; "
        f"expected one of {one_of(PROBE_KINDS)}",
    ),
    "misspelled top-level key": (
        _misspelled_top_level_key,
        f"{META}: sevices: unknown key 'sevices'; expected one of builds, cwes, "
        "deliverable, difficulty, equivalent_mutants, id, load, mutants, peers, probes, rules, "
        "section, services, slo, title "
        "(did you mean 'services'?)",
    ),
    "misspelled nested key": (
        _misspelled_nested_key,
        f"{META}: load.requests[0].wieght: unknown key 'wieght'; expected one of headers, json, "
        "method, name, path, weight (did you mean 'weight'?)",
    ),
    "test file without a kit fixture": (
        _test_file_without_kit_fixture,
        "tasks/api_development/inventory-crud/tests/test_plain.py: fixtures: uses no test-kit "
        "fixture; expected a test parameter or @pytest.mark.usefixtures naming one of api, ",
    ),
    "mutant catching a missing test": (
        _mutant_catching_a_missing_test,
        f"{META}: mutants[0].catches.test: declares test test_gone, which is not defined in tests/",
    ),
    "rule quote not in the prompt": (
        _rule_quoting_what_the_prompt_does_not_say,
        f"{META}: rules[0].source.quote: not found in prompt.md",
    ),
    "unknown service": (
        _unknown_service,
        f"{META}: services[1]: unknown service 'mongodb'; expected one of postgres, redis",
    ),
    "unknown peer": (
        _unknown_peer,
        f"{META}: peers[1]: unknown peer 'ftp'; "
        "expected one of http_sink, oidc, payments, s3, smtp, upstream",
    ),
    "section of another folder": (
        _section_of_another_folder,
        f"{META}: section: 'database' differs from the section folder 'api_development'",
    ),
    "cwes the probes do not plan": (_cwes_not_planned, f"{META}: cwes: "),
}


def test_a_descriptive_key_over_several_lines_is_a_warning(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    meta = scenario / "scenario.yaml"
    meta.write_text(meta.read_text().replace("difficulty: medium\n", "difficulty:\n  medium\n"))
    code, out = check(capsys)
    assert code == 0, "\n".join(out)
    assert f"{META}: difficulty: warning: not on one line of its own" in "\n".join(out)
    assert out[-1] == "checked 1 scenario folder(s): 0 error(s), 1 warning(s)"


@pytest.mark.parametrize("breakage", BROKEN)
def test_check_rejects_a_broken_folder_naming_the_file_and_field(
    breakage: str, scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    breaks, expected = BROKEN[breakage]
    breaks(scenario)
    code, out = check(capsys)
    assert code == 2
    assert any(line.startswith(expected) for line in out), "\n".join(out)
    assert out[-1] == "checked 1 scenario folder(s): 1 error(s), 0 warning(s)"
    assert not any("Traceback" in line for line in out)


def test_the_console_script_rejects_an_unknown_probe_kind(scenario: Path) -> None:
    _unknown_probe_kind(scenario)
    script = Path(sys.executable).parent / "backbench"
    run = subprocess.run(
        [str(script), "catalogue", "--check", "--scenarios", scenario.name],
        capture_output=True, text=True, timeout=60, check=False, env=os.environ.copy(),
    )  # fmt: skip
    assert run.returncode == 2, run.stderr
    assert f"{META}: probes.exclude[0].family: unknown probe family 'sqli'" in run.stdout
    assert run.stderr == ""


def _first_equivalent_id(new_id: str) -> Callable[[Path], None]:
    """A breakage: the first declared equivalent mutant (the copy's 10 are valid) renamed."""
    return lambda f: edit(f, lambda m: m["equivalent_mutants"][0].update(id=new_id))


FOLDER_BREAKAGES: dict[str, tuple[Callable[[Path], Any], str]] = {
    "id differs from the folder": (
        lambda f: edit(f, lambda m: m.update(id="inventory")),
        f"{META}: id: 'inventory' differs from the folder name 'inventory-crud'",
    ),
    "exclusion naming nothing": (
        lambda f: edit(f, lambda m: m["probes"].update(exclude=[{"reason": "r"}])),
        f"{META}: probes.exclude[0]: name a family, a cwe or an operation",
    ),
    "two catches": (
        lambda f: edit(f, lambda m: m["mutants"][0]["catches"].update(probe="cwe-89")),
        f"{META}: mutants[0].catches: set exactly one of check, probe, slo, test",
    ),
    "empty slo": (
        lambda f: edit(f, lambda m: m.update(slo={})),
        f"{META}: slo: set at least one of error_rate, p95_ms, p95_ratio, rps_ratio",
    ),
    "catching an unknown probe": (
        lambda f: edit(f, lambda m: m["mutants"][2].update(catches={"probe": "nope"})),
        f"{META}: mutants[2].catches.probe: declares probe nope, which is not among",
    ),
    "no patch": (
        lambda f: (f / "mutants" / "no-create-auth.patch").unlink(),
        f"{META}: mutants[3].name: no patch mutants/no-create-auth.patch",
    ),
    "no prompt": (
        lambda f: (f / "prompt.md").unlink(),
        "tasks/api_development/inventory-crud: prompt.md: missing",
    ),
    "start.sh not executable": (
        lambda f: (f / "reference" / "start.sh").chmod(0o644),
        "tasks/api_development/inventory-crud/reference/start.sh: mode: not executable",
    ),
    "no hidden test file": (
        lambda f: (f / "tests" / "test_items.py").unlink(),
        "tasks/api_development/inventory-crud/tests: test_*.py: none found",
    ),
    "a wrong type": (
        lambda f: edit(f, lambda m: m["load"].update(users="many")),
        f"{META}: load.users: input should be a valid integer, unable to parse string as an "
        "integer, got 'many'",
    ),
    "equivalent naming an unknown operator": (
        _first_equivalent_id("app.py:ApiError.__init__:remove_line:f888df9d"),
        f"{META}: equivalent_mutants[0].id: unknown operator 'remove_line'; expected one of ",
    ),
    "equivalent naming a file the reference lacks": (
        _first_equivalent_id("main.py:ApiError.__init__:remove_statement:f888df9d"),
        f"{META}: equivalent_mutants[0].id: the reference has no main.py",
    ),
    "equivalent naming a scope the file lacks": (
        _first_equivalent_id("app.py:ApiFault.__init__:remove_statement:f888df9d"),
        f"{META}: equivalent_mutants[0].id: app.py defines no scope 'ApiFault.__init__'",
    ),
    "equivalent that is no mutant id": (
        _first_equivalent_id("the ApiError one"),
        f"{META}: equivalent_mutants[0].id: not a generated mutant's id",
    ),
    "yaml that is not a mapping": (
        lambda f: (f / "scenario.yaml").write_text("- a list\n"),
        f"{META}: input should be a valid dictionary or instance of ScenarioFile, got a list",
    ),
}


@pytest.mark.parametrize("breakage", FOLDER_BREAKAGES)
def test_check_rejects_other_folder_problems(
    breakage: str, scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    breaks, expected = FOLDER_BREAKAGES[breakage]
    breaks(scenario)
    code, out = check(capsys, "--scenarios", scenario.name)
    assert code == 2
    assert any(line.startswith(expected) for line in out), "\n".join(out)


def test_loading_a_broken_scenario_raises_one_line_per_problem(scenario: Path) -> None:
    _unknown_probe_kind(scenario)
    _misspelled_top_level_key(scenario)
    with pytest.raises(CatalogueError) as raised:
        load_scenario(scenario)
    lines = str(raised.value).splitlines()
    assert len(lines) == len(raised.value.problems) == 2
    assert all(line.startswith(META + ": ") for line in lines)


def test_finding_a_scenario_reads_its_folder_alone(scenario: Path) -> None:
    # the scorer finds each sample's scenario: its cost must not grow with the catalogue
    sibling = scenario.parent / "broken-sibling"
    shutil.copytree(scenario, sibling)
    edit(sibling, lambda m: m.update(id="broken-sibling", sevices=m.pop("services")))
    assert find_scenario(scenario.name).id == scenario.name
    with pytest.raises(CatalogueError, match="sevices"):
        find_scenario("broken-sibling")
    with pytest.raises(CatalogueError, match="unknown scenario 'nope'"):
        find_scenario("nope")


def test_other_commands_report_a_broken_scenario_as_a_usage_error(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _unknown_probe_kind(scenario)
    assert main(["catalogue"]) == 2
    assert capsys.readouterr().err.startswith(
        f"backbench: error: {META}: probes.exclude[0].family:"
    )


def test_a_non_empty_conftest_is_an_error(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (scenario / "tests" / "conftest.py").write_text('"""Only a docstring: empty."""\n')
    assert check(capsys)[0] == 0
    (scenario / "tests" / "conftest.py").write_text("import pytest\n")
    code, out = check(capsys)
    assert code == 2
    assert out[0] == (
        "tasks/api_development/inventory-crud/tests/conftest.py: not empty; "
        "the test kit (backbench.testkit) provides the fixtures"
    )


def test_a_rule_quote_matches_across_line_breaks_and_spacing(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    quote = "required,   strictly\n greater than 0"
    rule = {"id": "price-positive", "text": "Prices are positive.",
            "source": {"file": "prompt.md", "quote": quote}}  # fmt: skip
    edit(scenario, lambda m: m.update(rules=[rule, *RULES[1:]], peers=["smtp"]))
    assert check(capsys)[0] == 0
    loaded = load_scenario(scenario)
    assert loaded.rules[0].source.quote == quote and loaded.peers == ["smtp"]


# -- kit fixtures -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source, used",
    [
        ("def test_a(api, other): pass", {"api"}),
        ("async def test_a(db): pass", {"db"}),
        ("import pytest\n@pytest.mark.usefixtures('server')\ndef test_a(): pass", {"server"}),
        ("import pytest\npytestmark = pytest.mark.usefixtures('redis')", {"redis"}),
        ("import pytest\n@pytest.fixture\ndef item(authed_api): pass\ndef test_a(item): pass",
         {"authed_api"}),
        ("class TestX:\n    def test_a(self, unique): pass", {"unique"}),
        ("def helper(api): pass\ndef test_a(client): pass", set()),
    ],
)  # fmt: skip
def test_kit_fixtures_are_found_in_parameters_and_marks(source: str, used: set[str]) -> None:
    assert kit_fixtures_used(ast.parse(source)) == used


# -- registries and schema agree --------------------------------------------------------------


def test_every_registered_probe_family_names_itself_and_its_cwes() -> None:
    for kind, family in PROBE_KINDS.items():
        assert family.name == kind and family.cwes and all(c > 0 for c in family.cwes)


def test_catches_and_slo_follow_their_registries() -> None:
    assert set(Catches.model_fields) == set(CHECK_KINDS)
    assert set(SLO_METRICS) <= set(Slo.model_fields)
    schema = json.loads(schema_text())
    assert schema["properties"]["services"]["items"]["enum"] == sorted(SERVICES)
    assert schema["properties"]["peers"]["items"]["enum"] == sorted(PEERS)


def test_peer_names_match_the_peers_package_when_it_exists() -> None:
    kinds = pytest.importorskip("backbench.peers.kinds")
    assert set(kinds.PEER_KINDS) == set(PEERS)


def test_netprobe_imports_no_more_than_stdlib_httpx_and_the_package() -> None:
    code = (
        "import sys, backbench.scoring.netprobe\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pydantic', 'yaml', 'inspect_ai'}))"
    )
    run = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert run.stdout.strip() == "[]"


# -- generated documents ----------------------------------------------------------------------


def test_the_committed_json_schema_is_the_generated_one() -> None:
    committed = (REPO / "docs" / SCHEMA_FILE).read_text()
    assert committed == schema_text(), "run: backbench catalogue --schema"


def test_the_field_table_in_the_guide_is_the_generated_one() -> None:
    guide = (REPO / "docs" / GUIDE_FILE).read_text()
    assert guide == with_field_table(guide), "run: backbench catalogue --schema"
    for path, *_ in field_rows():
        assert f"| `{path}` |" in guide, path


def test_every_schema_field_is_in_the_field_table() -> None:
    def fields(model: Any, prefix: str) -> set[str]:
        found = set()
        for name, info in model.model_fields.items():
            found.add(f"{prefix}{info.alias or name}")
        return found

    rows = {path for path, *_ in field_rows()}
    assert fields(ScenarioFile, "") <= rows


def test_schema_command_writes_both_documents(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    guide = "# g\n<!-- scenario-fields: x -->\nold\n<!-- /scenario-fields -->\n"
    (docs / GUIDE_FILE).write_text(guide)
    assert main(["catalogue", "--schema", str(docs)]) == 0
    assert (docs / SCHEMA_FILE).read_text() == schema_text()
    assert "| `load.requests[].weight` |" in (docs / GUIDE_FILE).read_text()


def test_rule_matrix_reads_marks_on_tests_classes_and_modules(scenario: Path) -> None:
    (scenario / "tests" / "test_items.py").write_text(RULED_TESTS)
    matrix = catalogue_check.rule_matrix(scenario / "tests")
    assert matrix == {
        "test_create_rejects_negative_price": ["auth-writes", "price-positive"],
        "test_list_pagination_reports_total_limit_offset": ["auth-writes", "list-total"],
    }


def test_every_rule_tested_and_every_test_ruled_passes(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (scenario / "tests" / "test_items.py").write_text(RULED_TESTS)
    edit(scenario, lambda meta: meta.update(rules=RULES))
    code, out = check(capsys)
    assert code == 0, out


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        (lambda m: m.update(rules=[*RULES, _rule("sku-null", "when absent")]),
         "rules[3]: sku-null: no hidden test checks it"),
        (lambda m: m.update(rules=RULES[:2]),
         "names rule 'list-total', which scenario.yaml does not declare"),
    ],
)  # fmt: skip
def test_an_untested_rule_or_an_unknown_rule_id_is_an_error(
    scenario: Path, capsys: pytest.CaptureFixture[str], change: Any, needle: str
) -> None:
    (scenario / "tests" / "test_items.py").write_text(RULED_TESTS)
    edit(scenario, change)
    code, out = check(capsys)
    assert code == 2 and any(needle in line for line in out), out


def test_a_test_that_checks_no_rule_is_an_error(
    scenario: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = RULED_TESTS.replace('pytestmark = pytest.mark.rules("auth-writes")\n', "")
    text = text.replace('    pytestmark = [pytest.mark.rules("list-total")]\n', "")
    (scenario / "tests" / "test_items.py").write_text(text)
    edit(scenario, lambda meta: meta.update(rules=RULES[:1]))
    code, out = check(capsys)
    assert code == 2
    assert any("test_list_pagination_reports_total_limit_offset: checks no rule" in x for x in out)
