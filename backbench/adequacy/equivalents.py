"""Equivalent mutants declared in `scenario.yaml`, and the content digest of a scenario.

```yaml
equivalent_mutants:
  - id: app.py:create_order:sort_direction:536b142f
    reason: reversing the lock order keeps one order for every request, so no deadlock either
```

Read with plain yaml here; the typed scenario schema will own the key when it lands.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml

KEY = "equivalent_mutants"
DIGESTED = ("scenario.yaml", "reference", "tests")


@dataclass(frozen=True)
class Equivalent:
    """A mutant declared equivalent (it cannot be told apart over HTTP), with the reason."""

    id: str
    reason: str


def equivalent_problems(entries: object) -> list[str]:
    """What is wrong with an `equivalent_mutants` value: each needs an id and a one-line reason."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        return [f"{KEY} must be a list of {{id, reason}}"]
    problems = []
    for i, entry in enumerate(entries):
        where = f"{KEY}[{i}]"
        if not isinstance(entry, dict) or not str(entry.get("id") or "").strip():
            problems.append(f"{where}: needs an id")
            continue
        reason = str(entry.get("reason") or "").strip()
        if not reason:
            problems.append(f"{where} ({entry['id']}): needs a reason")
        elif "\n" in reason:
            problems.append(f"{where} ({entry['id']}): the reason must be one line")
    return problems


def read_equivalents(scenario_folder: Path) -> tuple[list[Equivalent], list[str]]:
    """The declared equivalents of a scenario, and the problems of the declaration."""
    meta = yaml.safe_load((scenario_folder / "scenario.yaml").read_text()) or {}
    entries = meta.get(KEY) if isinstance(meta, dict) else None
    problems = equivalent_problems(entries)
    if problems or not entries:
        return [], problems
    return [Equivalent(str(e["id"]).strip(), str(e["reason"]).strip()) for e in entries], []


def content_digest(scenario_folder: Path) -> str:
    """A digest of what decides a scenario's adequacy: its metadata, reference and tests."""
    digest = hashlib.sha256()
    for name in DIGESTED:
        root = scenario_folder / name
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            if "__pycache__" in path.parts:
                continue
            digest.update(path.relative_to(scenario_folder).as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
