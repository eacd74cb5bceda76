"""The one place backbench reaches into inspect's private modules.

tests/test_inspect_internals.py fails when inspect moves what is used here, and when inspect
fixes what is patched here (so the patch can go).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from inspect_ai._eval import list as _list
from inspect_ai._eval import loader as _loader

# A PrerequisiteError is printed by inspect's CLI as its message alone, without a traceback.
from inspect_ai._util.error import PrerequisiteError

# inspect injects its text_editor tool into a sandbox by running this program; the sandbox
# gives it a tools folder the agent can write.
from inspect_ai.util._sandbox._cli import SANDBOX_CLI

# The oldest Docker Engine and Compose that inspect's docker sandbox accepts (it checks them
# when a sample starts; sandbox=auto checks them before choosing docker).
from inspect_ai.util._sandbox.docker.prereqs import (
    DOCKER_COMPOSE_REQUIRED_VERSION,
    DOCKER_ENGINE_REQUIRED_VERSION,
)

__all__ = [
    "DOCKER_COMPOSE_REQUIRED_VERSION",
    "DOCKER_ENGINE_REQUIRED_VERSION",
    "SANDBOX_CLI",
    "PrerequisiteError",
    "patch_absolute_task_paths",
]

_original_task_files = _list.task_files


def _task_files(globs: list[str] | None = None, root_dir: Path | None = None) -> list[Path]:
    """inspect's task_files, also for absolute paths: it globs them from the working directory,
    which pathlib refuses ("Non-relative patterns are unsupported")."""
    globs = list(globs or [])
    relative = [g for g in globs if not Path(g).is_absolute()]
    found: list[Path] = []
    if relative or not globs:
        found += _original_task_files(relative, root_dir)
    for glob in globs:
        path = Path(glob)
        if path.is_absolute():
            found += _original_task_files([str(path.relative_to(path.anchor))], Path(path.anchor))
    return found


def patch_absolute_task_paths() -> None:
    """Let `inspect eval /absolute/path/to/tasks` find tasks (applied by the entry point)."""
    patched: Any = _task_files
    _list.task_files = patched
    _loader.task_files = patched  # the loader imported the name itself
