"""Running the agent's own code as the submission, in a workspace the harness rebuilt.

Kinds that judge code the agent wrote by running it (a test suite, a service's own tests, a CI
step) run it as the submission, never as the harness, from a workspace that holds exactly the
tree the harness prepared for that run; what one run leaves behind never reaches the next.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from backbench.runtime import ScoringRuntime
from backbench.sandbox.paths import read_no_follow, remove_path

RUN_TIMEOUT = 120
# never copied from a submission into a run's tree: caches and coverage data of earlier runs
SKIPPED = shutil.ignore_patterns("__pycache__", ".pytest_cache", ".coverage*", "*.pyc")


@dataclass
class WorkspaceRun:
    """One command's exit code (None: out of time) and the tail of its output."""

    returncode: int | None
    output: str


def snapshot(workspace: Path, target: Path) -> Path:
    """A copy of the workspace as submitted (links kept as links, never followed)."""
    shutil.copytree(workspace, target, symlinks=True, ignore=SKIPPED)
    return target


def overlay(tree: Path, source: Path, under: str = "") -> None:
    """Copy `source`'s files over `tree/under`, replacing what is there. The tree is a copy of
    the agent's files: a link or a file where a folder of the path should be is removed first,
    so the harness never writes through a link the agent made."""
    for path in sorted(source.rglob("*")):
        if "__pycache__" in path.parts or not path.is_file():
            continue
        target = tree / under / path.relative_to(source)
        _clear_path(tree, target)
        shutil.copy2(path, target)


def _clear_path(tree: Path, target: Path) -> None:
    """Make every folder from `tree` down to `target`'s parent a real folder, and `target` free."""
    current = tree
    for part in target.relative_to(tree).parts[:-1]:
        current = current / part
        if current.is_symlink() or (current.exists() and not current.is_dir()):
            current.unlink()
        current.mkdir(exist_ok=True)
    remove_path(target)


def read_workspace_file(workspace: Path, name: str, limit: int) -> str | None:
    """A file the agent wrote, as text, or None when there is none: never through a link the
    agent made, in any component of `name` (it could point at a harness file), at most `limit`
    bytes."""
    data = read_no_follow(workspace, name, limit)
    return data.decode("utf-8", errors="replace") if data is not None else None


async def run_as_submission(
    runtime: ScoringRuntime, argv: list[str], env: dict[str, str], log: Path, timeout: float
) -> int | None:
    """Run `argv` in the workspace as the submission, bounded in time, then stop everything it
    left running: its exit code, or None when it ran out of time."""
    proc = await runtime.spawn_submission(argv, env=env, log=log)
    try:
        code: int | None = await asyncio.wait_for(proc.wait(), timeout)
    except TimeoutError:
        code = None
    await proc.kill()
    await runtime.stop_agent_processes()
    return code


async def run_in_workspace(
    runtime: ScoringRuntime, tree: Path, argv: list[str], env: dict[str, str], label: str,
    timeout: float = RUN_TIMEOUT,
) -> WorkspaceRun:  # fmt: skip
    """Make the workspace hold `tree`, run `argv` there as the submission, stop what it left."""
    await runtime.replace_workspace(tree)
    log = runtime.private / f"{label}-{os.urandom(4).hex()}.log"
    code = await run_as_submission(runtime, argv, env, log, timeout)
    output = log.read_text(errors="replace") if log.is_file() else ""
    return WorkspaceRun(code, output[-4000:])
