"""Measure each static rule's false alarms on all the correct code of the catalogue.

    .venv/bin/python scripts/static_false_alarms.py [--out results/static_rules.json]

Correct code: every scenario's reference/, every solutions/<name>/, the starting files/ of the
scenarios whose starting code is correct (only deliberately slow), and each mutant's unchanged
lines (the mutant patch applied to a copy of the reference with `patch -p1`, as validation does;
an alarm whose construct spans a line the patch added or changed is the mutant's, not a false
one). A rule with no
false alarm may be scored (backbench.scoring.static_rules.RULES); writes the JSON and prints a
Markdown table.
"""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from backbench.scoring.static_rules import RULES, UNSCORED_BY_CHOICE, StaticFinding, scan_folder

REPO = Path(__file__).resolve().parent.parent
TASKS = REPO / "tasks"
# scenarios whose files/ hold correct starting code (slow by design, not insecure)
CORRECT_STARTING_FILES = ("performance/product-catalog-speedup",)
SKIPPED_PARTS = ("__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache")


def correct_folders() -> dict[str, list[Path]]:
    """The folders of correct code by kind: reference, solution, starting files."""
    return {
        "reference": sorted(TASKS.glob("*/*/reference")),
        "solution": sorted(p for p in TASKS.glob("*/*/solutions/*") if p.is_dir()),
        "files": [TASKS / s / "files" for s in CORRECT_STARTING_FILES],
    }


def changed_lines(reference: Path, mutant: Path) -> dict[str, set[int]]:
    """The lines of each .py file of `mutant` that the patch added or changed, from the files
    themselves (a patch may apply at an offset from its hunks' line numbers)."""
    changed: dict[str, set[int]] = {}
    for path in sorted(mutant.rglob("*.py")):
        name = path.relative_to(mutant).as_posix()
        before = reference / name
        old = before.read_text().splitlines() if before.is_file() else []
        new = path.read_text().splitlines()
        matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
        changed[name] = {
            j + 1
            for tag, _, _, j1, j2 in matcher.get_opcodes()
            if tag != "equal"
            for j in range(j1, j2)
        }
    return changed


def apply_mutant(reference: Path, patch: Path, target: Path) -> str:
    """Copy the reference to `target` and apply the mutant; '' or why it did not apply."""
    shutil.copytree(reference, target, ignore=shutil.ignore_patterns(*SKIPPED_PARTS))
    proc = subprocess.run(
        ["patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch", "-s",
         "-d", str(target), "-i", str(patch)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    return "" if proc.returncode == 0 else (proc.stdout + proc.stderr).strip()[-300:]


def where(finding: StaticFinding, origin: str) -> str:
    """How the JSON names one alarm."""
    return f"{origin}/{finding.file}:{finding.line}"


def measure() -> dict[str, Any]:
    """Every rule's false alarms, where they are, and what was counted."""
    alarms: dict[str, list[str]] = {rule: [] for rule in RULES}
    caught: dict[str, list[str]] = {rule: [] for rule in RULES}
    counted: dict[str, int] = {}
    for kind, folders in correct_folders().items():
        counted[kind] = len(folders)
        for folder in folders:
            origin = folder.relative_to(REPO).as_posix()
            for f in scan_folder(folder):
                alarms[f.rule].append(where(f, origin))
    patches = sorted(TASKS.glob("*/*/mutants/*.patch"))
    not_applied: list[str] = []
    with tempfile.TemporaryDirectory() as scratch:
        for i, patch in enumerate(patches):
            origin = patch.relative_to(REPO).as_posix()
            target = Path(scratch) / str(i)
            problem = apply_mutant(patch.parent.parent / "reference", patch, target)
            if problem:
                not_applied.append(f"{origin}: {problem}")
                continue
            changed = changed_lines(patch.parent.parent / "reference", target)
            for f in scan_folder(target):
                lines = range(f.line, max(f.line, f.end_line) + 1)
                own = bool(changed.get(f.file, set()).intersection(lines))
                (caught if own else alarms)[f.rule].append(where(f, origin))
    counted["mutant"] = len(patches) - len(not_applied)
    rules = {
        rule: {"cwe": r.cwe, "scored": not alarms[rule]
                and rule not in UNSCORED_BY_CHOICE, "false_alarms": len(alarms[rule]),
               "where": alarms[rule], "on_mutant_changes": len(caught[rule])}
        for rule, r in RULES.items()
    }  # fmt: skip
    return {"rules": rules, "folders": counted, "mutants_not_applied": not_applied,
            "caught_on_mutant_changes": caught}  # fmt: skip


def table(result: dict[str, Any]) -> str:
    """The README's table: rule, CWE, scored, false alarms on correct code."""
    lines = ["| rule | CWE | scored | false alarms on correct code |", "| --- | --- | --- | --- |"]
    for rule, row in result["rules"].items():
        scored = "yes" if row["scored"] else "no"
        lines.append(f"| `{rule}` | {row['cwe']} | {scored} | {row['false_alarms']} |")
    return "\n".join(lines)


def main() -> int:
    """Measure, write the JSON, print the table; exit 1 when RULES' flags disagree."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=REPO / "results" / "static_rules.json")
    args = parser.parse_args()
    result = measure()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    print(f"\ncounted folders: {result['folders']}")
    for line in result["mutants_not_applied"]:
        print(f"mutant not applied: {line}")
    wrong = [r for r, row in result["rules"].items() if RULES[r].scored != row["scored"]]
    for rule in wrong:
        print(f"RULES[{rule!r}].scored should be {result['rules'][rule]['scored']}")
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
