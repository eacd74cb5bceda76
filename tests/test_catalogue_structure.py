"""Every scenario folder has the shape docs/scenarios.md asks for (no server is started)."""

import os
import re
import subprocess
from typing import Any

import pytest
import yaml

from backbench.catalogue import KNOWN_SERVICES, REQUIRED_KEYS, Scenario, all_scenarios, tasks_dir
from backbench.scoring.attack_surface import possible_probe_ids
from backbench.validate import CATCH_KINDS, SLO_METRICS
from backbench.validate_run import hidden_test_names

MIN_TESTS = 8
MIN_MUTANTS = 2
SCENARIOS = all_scenarios()
# the kinds whose deliverable is a server: a prompt, an OpenAPI document, hidden tests, an SLO
SERVERS = [s for s in SCENARIOS if s.kind_spec.server]


def by_id(scenarios: list[Scenario]) -> list[Any]:
    return [pytest.param(s, id=s.id) for s in scenarios]


def test_the_catalogue_is_not_empty() -> None:
    assert SCENARIOS, f"no scenario.yaml under {tasks_dir()}"


@pytest.mark.parametrize("scenario", by_id(SCENARIOS))
def test_metadata_has_the_required_keys_and_known_services(scenario: Scenario) -> None:
    meta = yaml.safe_load((scenario.folder / "scenario.yaml").read_text())
    assert REQUIRED_KEYS <= set(meta), f"missing {sorted(REQUIRED_KEYS - set(meta))}"
    assert meta["id"] == scenario.folder.name
    assert set(meta["services"]) <= KNOWN_SERVICES
    if scenario.kind_spec.server:
        assert set(scenario.slo) <= set(SLO_METRICS) and scenario.slo
    else:  # nothing is loaded or probed
        assert not scenario.slo and not scenario.probes
    ids = [p["id"] for p in scenario.probes]
    assert len(ids) == len(set(ids)), f"duplicate probe ids in {ids}"


@pytest.mark.parametrize("scenario", by_id(SERVERS))
def test_agent_facing_files_exist(scenario: Scenario) -> None:
    assert scenario.prompt_file.is_file()
    assert scenario.openapi_file.is_file()
    yaml.safe_load(scenario.openapi_file.read_text())


@pytest.mark.parametrize("scenario", by_id(SERVERS))
def test_hidden_tests_have_enough_test_functions(scenario: Scenario) -> None:
    names = hidden_test_names(scenario.tests_dir)
    assert len(names) >= MIN_TESTS, f"{len(names)} test functions in tests/: {sorted(names)}"


@pytest.mark.parametrize("scenario", by_id(SERVERS))
def test_reference_start_script_is_executable(scenario: Scenario) -> None:
    start = scenario.reference_dir / "start.sh"
    assert start.is_file(), f"{start} is missing"
    assert os.access(start, os.X_OK), f"{start} is not executable"


@pytest.mark.parametrize("scenario", by_id(SCENARIOS))
def test_mutants_declare_a_known_check(scenario: Scenario) -> None:
    assert len(scenario.mutants) >= MIN_MUTANTS
    names = [m.name for m in scenario.mutants]
    assert len(names) == len(set(names)), f"duplicate mutant names in {names}"
    tests = hidden_test_names(scenario.tests_dir)
    probes = set(possible_probe_ids(scenario.probes))  # with those a submission's code adds
    for mutant in scenario.mutants:
        assert len(mutant.catches) == 1, f"{mutant.name}: catches {mutant.catches}"
        [(kind, target)] = mutant.catches.items()
        assert kind in CATCH_KINDS, f"{mutant.name}: unknown catch kind {kind!r}"
        if kind == "test":
            assert target in tests, f"{mutant.name}: test {target} is not in tests/"
        elif kind == "probe":
            assert target in probes, f"{mutant.name}: probe {target} is not among {probes}"
        elif kind == "check":
            assert target in scenario.kind_spec.checks, f"{mutant.name}: no check {target}"
        else:
            assert target in scenario.slo, f"{mutant.name}: slo {target} is not set"


@pytest.mark.parametrize("scenario", by_id(SCENARIOS))
def test_mutant_patches_apply_cleanly_to_the_reference(scenario: Scenario) -> None:
    for mutant in scenario.mutants:
        assert mutant.patch.is_file(), f"{mutant.patch} is missing"
        proc = subprocess.run(
            ["patch", "-p1", "--dry-run", "--batch", "--forward", "-d",
             str(scenario.reference_dir), "-i", str(mutant.patch)],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        output = proc.stdout + proc.stderr
        assert proc.returncode == 0, f"{mutant.name}.patch does not apply:\n{output}"
        assert "fuzz" not in output, f"{mutant.name}.patch applies only with fuzz:\n{output}"
        touched = re.search(r"(checking|patching) file", output)
        assert touched, f"{mutant.name}.patch changes nothing:\n{output}"


@pytest.mark.parametrize("scenario", by_id(SCENARIOS))
def test_agent_facing_files_never_name_a_hidden_test(scenario: Scenario) -> None:
    names = hidden_test_names(scenario.tests_dir)
    for file in (scenario.prompt_file, scenario.openapi_file):
        if not file.is_file():  # a kind without an API has no OpenAPI document
            continue
        text = file.read_text()
        leaked = sorted(n for n in names if re.search(rf"\b{re.escape(n)}\b", text))
        assert not leaked, f"{file.name} names hidden tests {leaked}"
