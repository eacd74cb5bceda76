"""The CWEs the catalogue covers: those its references face, and those its security mutants
plant and its checks catch.

- Faced: a scenario's `cwes:` (which `backbench catalogue --check` keeps equal to the probes
  planned from its contract and `probes:`), counted where the scenario's newest committed
  validation passed its reference, so that none of those probes succeeded on it.
- Planted and caught: a mutant plants a CWE when its `catches:` names a probe (`cwe-<n>`) or its
  line in scenario.yaml says `# CWE-<n>: ...`, the catalogue's convention for a security mutant
  a hidden test catches. It counts as caught where the newest validation record of that mutant
  passed (its named check failed it).

    python scripts/cwe_coverage.py [--json out.json]

Exit 0; the figures go to stdout (and the JSON file).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from backbench.catalogue import all_scenarios, read_scenario_file  # noqa: E402
from backbench.validate import merged_run  # noqa: E402
from backbench.validate_run import recorded_runs  # noqa: E402

MUTANT_LINE = re.compile(r"^\s*- name:\s*([\w.-]+)\s*#\s*CWE-(\d+)\b", re.M)


def commented_cwes(scenario_yaml: Path) -> dict[str, int]:
    """Mutant name -> the CWE its line's comment names."""
    return {m.group(1): int(m.group(2)) for m in MUTANT_LINE.finditer(scenario_yaml.read_text())}


def coverage(validation: Path) -> dict[str, Any]:
    """The CWEs faced by passing references and planted by caught mutants, by scenario."""
    scenarios = all_scenarios()
    run = merged_run(recorded_runs(validation), [s.id for s in scenarios])
    outcome = {(r["scenario"], r["submission"]): bool(r["ok"]) for r in run.get("records", [])}
    faced: dict[int, list[str]] = defaultdict(list)
    planted: dict[int, list[str]] = defaultdict(list)
    uncaught: list[str] = []
    for scenario in scenarios:
        model, _ = read_scenario_file(scenario.folder)
        if model is None:
            continue
        if outcome.get((scenario.id, "reference")):
            for faced_cwe in model.cwes:
                faced[faced_cwe].append(scenario.id)
        comments = commented_cwes(scenario.folder / "scenario.yaml")
        for mutant in model.mutants:
            probe = mutant.catches.probe or ""
            cwe: int | None = (
                int(probe.removeprefix("cwe-")) if probe else comments.get(mutant.name)
            )
            if cwe is None:
                continue
            label = f"{scenario.id}:{mutant.name}"
            if outcome.get((scenario.id, f"mutant:{mutant.name}")):
                planted[cwe].append(label)
            else:
                uncaught.append(label)
    return {
        "faced": {str(c): faced[c] for c in sorted(faced)},
        "planted_and_caught": {str(c): planted[c] for c in sorted(planted)},
        "security_mutants_not_caught_or_not_validated": uncaught,
        "faced_count": len(faced),
        "planted_count": len(planted),
    }


def main() -> int:
    """Print the figures; write them as JSON with --json."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--validation", type=Path, default=ROOT / "results" / "validation")
    args = parser.parse_args()
    figures = coverage(args.validation)
    print(f"CWEs the references face (reference validated): {figures['faced_count']}")
    print("  " + ", ".join(figures["faced"]))
    print(f"CWEs the security mutants plant, caught: {figures['planted_count']}")
    print("  " + ", ".join(figures["planted_and_caught"]))
    if figures["security_mutants_not_caught_or_not_validated"]:
        print("not caught or not validated: " + ", ".join(
            figures["security_mutants_not_caught_or_not_validated"]))  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
