"""The migration checks: the seeded rows after the agent's upgrade, and after its downgrade.

start.sh runs the upgrade on a database seed.py filled. Before any hidden test touches it,
checks/upgrade/ (hidden pytest files with the test kit, mostly its `db`) proves every seeded row
survived in its new shape. After the functional tests the harness stops the server, runs the
scenario's downgrade command as the submission, and checks/downgrade/ proves the seeded rows are
back in their old shape. Each check folder runs with a copy of seed.py beside it, so a check can
recompute the rows the generator wrote.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from backbench.catalogue import Scenario
from backbench.runtime import ScoringRuntime
from backbench.schema import MigrationDeliverable
from backbench.scoring.functional import (
    FunctionalEvidence,
    functional_stage,
    functional_verdict,
    run_functional,
)
from backbench.scoring.kinds import KindVerdict
from backbench.scoring.kinds.workspace_runs import run_as_submission
from backbench.scoring.submission import RunningSubmission, stop_submission
from backbench.testkit.control import ADMIN_DATABASE_ENV

DOWNGRADE_TIMEOUT = 180
PHASES = {"upgrade": "migration_up", "downgrade": "migration_down"}


def check_folder(runtime: ScoringRuntime, scenario: Scenario, phase: str) -> Path:
    """A private folder with checks/<phase>/ and seed.py, shaped like a scenario's tests/."""
    folder = runtime.private / f"checks-{phase}"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(scenario.checks_dir / phase, folder / "tests")
    if scenario.seed_file.is_file():
        shutil.copyfile(scenario.seed_file, folder / "tests" / "seed.py")
    return folder / "tests"


async def upgrade_checks(
    runtime: ScoringRuntime, scenario: Scenario, running: RunningSubmission,
    tool_env: dict[str, str],
) -> FunctionalEvidence:  # fmt: skip
    """checks/upgrade/ against the freshly started submission."""
    tests = check_folder(runtime, scenario, "upgrade")
    return await functional_stage(runtime, tests, running, tool_env)


async def downgrade_checks(
    runtime: ScoringRuntime, scenario: Scenario, running: RunningSubmission,
    tool_env: dict[str, str],
) -> tuple[int | None, FunctionalEvidence | None]:  # fmt: skip
    """Stop the server, run the downgrade as the submission, then checks/downgrade/: the
    command's exit code (None: out of time) and the checks' evidence (None: not run)."""
    deliverable = scenario.deliverable
    assert isinstance(deliverable, MigrationDeliverable)
    await stop_submission(runtime, running)
    code = await run_as_submission(
        runtime, ["sh", "-c", deliverable.downgrade], running.env,
        runtime.private / "downgrade.log", DOWNGRADE_TIMEOUT,
    )  # fmt: skip
    if code != 0:
        return code, None
    tests = check_folder(runtime, scenario, "downgrade")
    env = {
        **tool_env, "BASE_URL": running.base_url, "APP_SECRET": running.env["APP_SECRET"],
        "DATABASE_URL": running.env.get("DATABASE_URL", ""),
        ADMIN_DATABASE_ENV: runtime.admin_database_url(running.env.get("DATABASE_URL", "")),
    }  # fmt: skip
    return code, await run_functional(runtime, tests, env, running, tool_env)


def migration_verdict(
    upgrade: FunctionalEvidence, downgrade_code: int | None,
    downgrade: FunctionalEvidence | None,
) -> KindVerdict:  # fmt: skip
    """`migration_up` and `migration_down` from the two check runs."""
    up = functional_verdict(upgrade)
    lines = [f"migration_up: {_checks_text(up.explanation)}"]
    values = {"migration_up": float(up.correct), "migration_down": 0.0}
    if downgrade is None:
        why = "out of time" if downgrade_code is None else f"exit {downgrade_code}"
        lines.append(f"migration_down: the downgrade command failed ({why})")
    else:
        down = functional_verdict(downgrade)
        # a downgrade of nothing (the starting code's) restores nothing: it counts only after an
        # upgrade that moved the data
        values["migration_down"] = float(down.correct and up.correct)
        lines.append(f"migration_down: {_checks_text(down.explanation)}")
        if down.correct and not up.correct:
            lines.append("  (not counted: the upgrade did not pass)")
    failed = [PHASES[p] for p in PHASES if not values[PHASES[p]]]
    return KindVerdict(values, failed, "\n".join(lines))


def _checks_text(explanation: str) -> str:
    """A check run's account, worded as checks rather than hidden tests."""
    return explanation.removeprefix("functional: ").replace("hidden tests passed", "checks passed")
