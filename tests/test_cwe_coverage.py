"""scripts/cwe_coverage.py: how it reads a security mutant's CWE, and that it counts only what
a committed validation record shows caught (or a reference shows passed)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("cwe_coverage", ROOT / "scripts/cwe_coverage.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_a_mutants_cwe_comes_from_its_lines_comment(tmp_path: Path) -> None:
    yaml_file = tmp_path / "scenario.yaml"
    yaml_file.write_text(
        "mutants:\n"
        "  - name: plain-hash        # CWE-916: sha256 without a salt\n"
        "    catches: {test: test_x}\n"
        "  - name: off-by-one        # the limit is 101\n"
        "  - name: no-csrf # CWE-352 forms take any post\n"
    )
    assert _script().commented_cwes(yaml_file) == {"plain-hash": 916, "no-csrf": 352}


def test_only_validated_outcomes_count(tmp_path: Path) -> None:
    script = _script()
    real = script.coverage(ROOT / "results" / "validation")
    assert real["faced_count"] == len(real["faced"]) > 0
    assert real["planted_count"] == len(real["planted_and_caught"]) > 0
    # with no validation records, nothing is faced and no mutant counts as caught
    (tmp_path / "empty.json").write_text(json.dumps({"records": []}))
    none = script.coverage(tmp_path)
    assert none["faced_count"] == none["planted_count"] == 0
    assert none["security_mutants_not_caught_or_not_validated"]
