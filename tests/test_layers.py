"""Dependencies point one way: tasks -> scoring -> runtime -> sandbox."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "backbench"
# each layer, and the layers above it that it must never import
FORBIDDEN = {
    "sandbox": ("backbench.runtime", "backbench.scoring", "backbench.task", "backbench.testkit"),
    "runtime": ("backbench.scoring", "backbench.task", "backbench.testkit"),
    "scoring": ("backbench.task",),
}


def imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_layers_below(layer: str) -> None:
    offenders = [
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in sorted((PACKAGE / layer).rglob("*.py"))
        for name in sorted(imports(path))
        if name.startswith(FORBIDDEN[layer])
    ]
    assert offenders == []


def test_the_layer_check_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from backbench.scoring.scorer import backbench_scorer\n")
    assert "backbench.scoring.scorer" in imports(bad)
