"""inspect internals backbench depends on: these fail when inspect moves them."""

import pathlib
import re

from backbench import _inspect


def test_sandbox_cli_is_a_program_path() -> None:
    assert isinstance(_inspect.SANDBOX_CLI, str) and _inspect.SANDBOX_CLI


def test_prerequisite_error_carries_its_message() -> None:
    assert _inspect.PrerequisiteError("fix this").message == "fix this"


def test_no_other_module_imports_inspect_privates() -> None:
    package = pathlib.Path(_inspect.__file__).resolve().parent
    private = re.compile(r"^\s*(from|import)\s+inspect_ai(\.\w+)*\._", re.MULTILINE)
    offenders = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if p.name != "_inspect.py" and private.search(p.read_text())
    ]
    assert offenders == []


def test_absolute_task_paths_are_found_once_patched(tmp_path: pathlib.Path) -> None:
    from inspect_ai._eval import list as inspect_list

    tasks = pathlib.Path(__file__).resolve().parents[1] / "tasks"
    _inspect.patch_absolute_task_paths()
    found = inspect_list.task_files([str(tasks)], tmp_path)
    assert tasks / "api_development" / "task.py" in found


def test_inspect_still_refuses_absolute_task_paths_unpatched(tmp_path: pathlib.Path) -> None:
    # when this fails, inspect globs absolute paths itself: remove the patch
    import pytest

    tasks = pathlib.Path(__file__).resolve().parents[1] / "tasks"
    with pytest.raises(NotImplementedError):
        _inspect._original_task_files([str(tasks)], tmp_path)
