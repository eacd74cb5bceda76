"""The scenario's reference, started beside the submission for the load stage: the baseline
its load figures are measured against, in the same slices of time (locustfile.py)."""

from __future__ import annotations

import shutil
import uuid

from backbench.catalogue import Scenario
from backbench.runtime import HarnessError, ScoringRuntime
from backbench.scoring.submission import RunningSubmission, await_ready

# -T load_baseline values: the reference beside the submission, or absolute figures only
LOAD_BASELINES = ("reference", "none")


async def start_baseline(
    runtime: ScoringRuntime, scenario: Scenario, tool_env: dict[str, str],
    peer_env: dict[str, str] | None = None,
) -> RunningSubmission:  # fmt: skip
    """Start a copy of the baseline (the reference; a speed-up's starting code) as a harness
    tool (out of the agent's reach, never paused) on a database, Redis database and port of its
    own; `peer_env`: the peers' variables, so that it reaches the peers the submission does."""
    folder = runtime.private / f"baseline-{uuid.uuid4().hex[:8]}"
    shutil.copytree(scenario.baseline_dir, folder)
    env = {**(peer_env or {}), **await runtime.baseline_env()}
    log = runtime.private / "baseline.log"
    proc = await runtime.spawn_tool(["./start.sh"], env=env, cwd=folder, log=log)
    running = await await_ready(runtime, RunningSubmission(proc=proc, env=env, log=log), tool_env)
    if not running.ready:
        await proc.kill()
        raise HarnessError(
            f"the reference did not start for the load baseline: {running.log_tail()}"
        )
    return running
