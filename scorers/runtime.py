"""What the scorers need from a sandbox: running harness tools and the submission."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from inspect_ai.util import ExecResult


class HarnessError(RuntimeError):
    """The harness itself failed (not the submission): the sample must error, not score 0."""


class ScoringRuntime(Protocol):
    """The scoring side of a sample's sandbox (implemented by backbench.sandbox)."""

    workspace: Path  # the agent's files, read-only for scoring purposes
    private: Path  # harness-only folder: hidden tests, reports, logs
    app_secret: str

    async def run_tool(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
    ) -> ExecResult[str]:
        """Run a harness tool (pytest, locust, probes) where it can reach the submission."""
        ...

    async def spawn_submission(
        self, argv: list[str], *, env: dict[str, str], log: Path
    ) -> asyncio.subprocess.Process:
        """Start the submission in its own process group, output to `log` (capped)."""
        ...

    async def stop_agent_processes(self) -> None:
        """Kill every process the agent left running."""
        ...

    async def submission_env(self) -> dict[str, str]:
        """Fresh database and Redis for scoring, plus the port: the submission's environment."""
        ...
