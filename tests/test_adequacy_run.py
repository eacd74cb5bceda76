"""The adequacy runner in a live sandbox: a kill is a kill, a no-op survives, a crash is 'start'."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from backbench.adequacy.mutate import Mutant, mutants_of_folder, unified_diff
from backbench.adequacy.report import KILLED, KILLED_BY_START, SURVIVED
from backbench.adequacy.run import Plan, measure_scenario
from backbench.catalogue import Scenario
from backbench.schema import EquivalentMutant
from tests.conftest import lean_scenario, requires_namespace

pytestmark = [pytest.mark.slow, pytest.mark.anyio, requires_namespace]


def handmade(scenario: Scenario, name: str, old: str, new: str) -> Mutant:
    source = (scenario.reference_dir / "app.py").read_text()
    assert old in source
    mutated = source.replace(old, new, 1)
    return Mutant(
        id=f"app.py:test:{name}:00000000", file="app.py", scope="test", operator=name,
        description=name, line=1, source=mutated, diff=unified_diff(source, mutated, "app.py"),
    )  # fmt: skip


async def test_runner_reports_kills_survivors_and_start_failures(
    inventory: Scenario, tmp_path: Path
) -> None:
    # the runner is the point: one hidden test file (the auth mutant's killer among its tests)
    # instead of the whole suite, which `backbench adequacy` runs on every mutant
    lean = lean_scenario(inventory, tmp_path, ("test_items.py",))
    generated = mutants_of_folder(lean.reference_dir)
    # the write guard's early return removed: writes without a token go through
    [auth] = [
        m for m in generated
        if m.scope == "require_bearer_for_writes" and m.operator == "remove_early_return"
    ]  # fmt: skip
    # the same value written another way: nothing over HTTP can tell
    no_op = handmade(lean, "no_op", "MAX_ID = 2**63 - 1", "MAX_ID = 9223372036854775807")
    crash = handmade(lean, "crash", "app = FastAPI(", "raise SystemExit(3)\napp = FastAPI(")
    plan = Plan([lean], max_mutants=None, seed=0, jobs=2, min_kill_rate=0.9, sandbox="namespace")
    lines: list[str] = []
    report = await measure_scenario(lean, plan, lines.append, [auth, no_op, crash])

    assert report.problems == []
    by_id = {o.id: o for o in report.outcomes}
    assert by_id[auth.id].status == KILLED
    assert "test_create_requires_bearer_token" in by_id[auth.id].failed_tests
    assert by_id[no_op.id].status == SURVIVED and by_id[no_op.id].diff
    assert by_id[crash.id].status == KILLED_BY_START
    assert report.kill_rate == pytest.approx(2 / 3)
    assert all(o.seconds > 0 for o in report.outcomes)
    assert len(lines) == 4  # the plan line and one per mutant


async def test_declared_equivalents_are_not_run_and_stale_ones_reported(
    inventory: Scenario,
) -> None:
    no_op = handmade(inventory, "no_op", "MAX_ID = 2**63 - 1", "MAX_ID = 9223372036854775807")
    declared = [
        EquivalentMutant(id=no_op.id, reason="the same integer"),
        EquivalentMutant(id="app.py:gone:constant:deadbeef", reason="was there once"),
    ]
    scenario = dataclasses.replace(inventory, equivalent_mutants=declared)
    plan = Plan(
        [scenario], max_mutants=None, seed=0, jobs=1, min_kill_rate=0.9, sandbox="namespace"
    )
    report = await measure_scenario(scenario, plan, lambda _: None, [no_op])
    assert [o.status for o in report.outcomes] == ["equivalent"]
    assert report.outcomes[0].detail == "the same integer"
    assert report.unknown_equivalents == ["app.py:gone:constant:deadbeef"]
    # a stale declaration fails the scenario (CI's `backbench adequacy --changed` exits 1)
    assert report.kill_rate is None and not report.meets(0.9)
