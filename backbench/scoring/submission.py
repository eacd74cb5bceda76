"""Starting and stopping the submitted server (start.sh) for scoring."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from backbench.runtime import ScoringRuntime, SubmissionProcess

READY_TIMEOUT = 30.0
SETTLE_SECONDS = 0.5


@dataclass
class RunningSubmission:
    """A started submission: its process, port, environment and log."""

    proc: SubmissionProcess
    env: dict[str, str]
    log: Path
    ready: bool = False
    ready_seconds: float = 0.0
    test_env: dict[str, str] = field(default_factory=dict)  # for the hidden tests only (peers)
    peer_env: dict[str, str] = field(default_factory=dict)  # the peers' variables it was given

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.env['PORT']}"

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def refresh(self) -> None:
        """Bring `alive` up to date (a sandbox may learn of an exit only when asked)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 0.5)

    def log_tail(self, size: int = 1500) -> str:
        if not self.log.exists():
            return ""
        return self.log.read_bytes()[-size:].decode(errors="replace")


def start_script_problem(workspace: Path) -> str | None:
    """Why start.sh cannot be run, or None."""
    script = workspace / "start.sh"
    if not script.is_file():
        return "no start.sh at the workspace root"
    if not os.access(script, os.X_OK):
        return "start.sh is not executable"
    return None


async def start_submission(
    runtime: ScoringRuntime, tool_env: dict[str, str], extra_env: dict[str, str] | None = None
) -> RunningSubmission:
    """Run ./start.sh with the scoring environment and `extra_env`; wait up to 30 s for its port."""
    env = {**(extra_env or {}), **await runtime.submission_env()}
    running = await launch_submission(runtime, env, runtime.private / "server.log", tool_env)
    running.peer_env = dict(extra_env or {})
    return running


async def launch_submission(
    runtime: ScoringRuntime, env: dict[str, str], log: Path, tool_env: dict[str, str]
) -> RunningSubmission:
    """Run ./start.sh with `env`, its output to `log`; wait up to 30 s for its port."""
    proc = await runtime.spawn_submission(["./start.sh"], env=env, log=log)
    return await await_ready(runtime, RunningSubmission(proc=proc, env=env, log=log), tool_env)


async def await_ready(
    runtime: ScoringRuntime, running: RunningSubmission, tool_env: dict[str, str]
) -> RunningSubmission:
    """Wait up to 30 s for `running`'s port to accept connections (or its process to exit)."""
    proc = running.proc
    loop = asyncio.get_running_loop()
    start = loop.time()
    waiter = asyncio.create_task(
        runtime.run_tool(
            [sys.executable, "-I", "-m", "backbench.scoring.netprobe", "wait",
             "--url", running.base_url, "--timeout", str(READY_TIMEOUT)],
            env=tool_env, cwd=runtime.private, timeout=READY_TIMEOUT + 15,
        )
    )  # fmt: skip
    exited = asyncio.create_task(proc.wait())
    done, _ = await asyncio.wait({waiter, exited}, return_when=asyncio.FIRST_COMPLETED)
    if waiter in done and waiter.result().returncode == 0:
        # a start.sh that daemonizes and exits is not a foreground server: give its exit a
        # moment to show before the submission counts as ready
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(exited), SETTLE_SECONDS)
        running.ready = running.alive
    else:
        waiter.cancel()
        with contextlib.suppress(asyncio.CancelledError, TimeoutError):
            await waiter
    if not exited.done():
        exited.cancel()
    running.ready_seconds = round(loop.time() - start, 2)
    return running


async def relaunch_submission(
    runtime: ScoringRuntime, running: RunningSubmission, tool_env: dict[str, str], log: Path
) -> None:
    """Kill `running`'s process group and start it again in place, with the same environment."""
    await running.proc.kill()
    fresh = await launch_submission(runtime, running.env, log, tool_env)
    running.proc, running.log = fresh.proc, fresh.log
    running.ready, running.ready_seconds = fresh.ready, fresh.ready_seconds


async def restore_submission(
    runtime: ScoringRuntime, running: RunningSubmission, tool_env: dict[str, str]
) -> None:
    """After tests that controlled the server: kill every process of the agent and start the
    submission again, so the later stages score one known process."""
    await stop_submission(runtime, running)
    await relaunch_submission(runtime, running, tool_env, runtime.private / "server-restored.log")


async def restart_on_fresh_data(
    runtime: ScoringRuntime, running: RunningSubmission, tool_env: dict[str, str], log: Path
) -> None:
    """Stop the submission and start it again on an empty database and Redis, as it was first
    started: a stage whose requests depend on the data it finds (the robust stage's cases draw
    ids from the answers) then sends the same requests whatever ran before it."""
    await stop_submission(runtime, running)
    running.env = {**running.env, **await runtime.submission_env()}
    await relaunch_submission(runtime, running, tool_env, log)


async def stop_submission(runtime: ScoringRuntime, running: RunningSubmission) -> None:
    """Kill the submission's whole process group, and whatever escaped it."""
    await running.proc.kill()
    await runtime.stop_agent_processes()
