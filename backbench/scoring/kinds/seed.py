"""Seed data: a scenario's hidden seed.py, run into every fresh database before start.sh.

The generator runs as a harness tool (the harness's Python, where tools reach the sample's
services) with the new database's own URL, the role the service connects as, which owns the
database: the tables it creates belong to that role, so the service's migrations may alter them.
It never enters the agent's workspace. It
runs into the agent's development database before the agent starts (`seed_workspace`), and
into each database the harness creates while scoring, the submission's and the baseline's
(`SeededRuntime`), so every start.sh finds the same data.
"""

from __future__ import annotations

import shutil
import sys
from typing import Any

from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.util import sandbox

from backbench.catalogue import Scenario, find_scenario
from backbench.runtime import HarnessError, ScoringRuntime, scoring_runtime

SEED_TIMEOUT = 180
# a codebase's git history travels as a bundle in files/ (a scenario folder cannot hold a .git):
# before the agent starts it becomes the workspace's repository, HEAD at the bundle's tip
HISTORY_BUNDLE = ".git-history.bundle"
UNBUNDLE = f"""set -e
git clone -q --no-checkout {HISTORY_BUNDLE} .git-history-clone
mv .git-history-clone/.git .git
rmdir .git-history-clone
git reset -q
rm -f {HISTORY_BUNDLE}
git remote remove origin
git config user.name agent
git config user.email agent@backbench.invalid
"""


async def seed_database(
    runtime: ScoringRuntime, scenario: Scenario, database_url: str, tool_env: dict[str, str]
) -> None:
    """Run the scenario's seed.py into `database_url` (nothing when it has none)."""
    if not scenario.seed_file.is_file() or not database_url:
        return
    folder = runtime.private / "seed"
    folder.mkdir(exist_ok=True)
    shutil.copyfile(scenario.seed_file, folder / "seed.py")
    env = {**tool_env, "DATABASE_URL": database_url}
    result = await runtime.run_tool(
        [sys.executable, "-I", "seed.py"], env=env, cwd=folder, timeout=SEED_TIMEOUT
    )
    if result.returncode != 0:
        raise HarnessError(
            f"seed.py failed (exit {result.returncode}): {(result.stdout + result.stderr)[-600:]}"
        )


class SeededRuntime:
    """A ScoringRuntime whose fresh databases hold the scenario's seed data."""

    def __init__(self, inner: ScoringRuntime, scenario: Scenario) -> None:
        self._inner = inner
        self._scenario = scenario

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def submission_env(self) -> dict[str, str]:
        env = await self._inner.submission_env()
        await seed_database(self._inner, self._scenario, env.get("DATABASE_URL", ""), {})
        return env

    async def baseline_env(self) -> dict[str, str]:
        env = await self._inner.baseline_env()
        await seed_database(self._inner, self._scenario, env.get("DATABASE_URL", ""), {})
        return env


def seeded(runtime: ScoringRuntime, scenario: Scenario) -> ScoringRuntime:
    """`runtime`, seeding each fresh database when the scenario has a seed.py."""
    if not scenario.seed_file.is_file():
        return runtime
    wrapped: Any = SeededRuntime(runtime, scenario)
    return wrapped  # a ScoringRuntime by delegation


@solver
def seed_workspace() -> Solver:
    """Before the agent starts: the seed data into its development database, and the
    codebase's history into its workspace."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        scenario = find_scenario(str(state.metadata["scenario"]))
        if scenario.seed_file.is_file():
            async with scoring_runtime(sandbox()) as runtime:
                url = await runtime.agent_database_url()
                await seed_database(runtime, scenario, url, {})
        if (scenario.files_dir / HISTORY_BUNDLE).is_file():
            result = await sandbox().exec(["sh", "-c", UNBUNDLE], timeout=120)
            if not result.success:
                raise HarnessError(f"could not unpack the git history: {result.stderr[-400:]}")
        return state

    return solve
