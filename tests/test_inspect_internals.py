"""inspect internals backbench depends on: these fail when inspect moves them."""

from backbench.sandbox import _inspect


def test_sandbox_cli_is_a_program_path() -> None:
    assert isinstance(_inspect.SANDBOX_CLI, str) and _inspect.SANDBOX_CLI


def test_no_other_module_imports_inspect_privates() -> None:
    import pathlib
    import re

    package = pathlib.Path(_inspect.__file__).resolve().parents[1]
    private = re.compile(r"^\s*(from|import)\s+inspect_ai(\.\w+)*\._", re.MULTILINE)
    offenders = [
        str(p.relative_to(package))
        for p in package.rglob("*.py")
        if p.name != "_inspect.py" and private.search(p.read_text())
    ]
    assert offenders == []
