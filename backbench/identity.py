"""Content identity: what a run measured, so an edited prompt or scenario never looks unchanged."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from backbench import _yaml

# Generated files are not content: a scenario run once must keep its hash.
SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})


def text_sha256(text: str) -> str:
    """The sha256 of a text's UTF-8 bytes, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def folder_sha256(folder: Path, *, describing: bool = True) -> str:
    """The sha256 over every file of a folder: relative paths, exec bits and contents; without
    `describing`, scenario.yaml's descriptive lines are left out."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if SKIPPED_PARTS & set(rel.parts):
            continue
        executable = b"x" if path.stat().st_mode & 0o111 else b"-"
        data = path.read_bytes()
        if not describing and rel.as_posix() == "scenario.yaml":
            data = _DESCRIPTIVE.sub(b"", data)
        digest.update(f"{rel.as_posix()}\0{len(data)}\0".encode() + executable + b"\0" + data)
    return digest.hexdigest()


# scenario.yaml keys that describe a scenario without changing how it is scored (the README's
# table); each sits on one line of its own, which the validation digest leaves out
DESCRIPTIVE_KEYS = ("section", "difficulty", "builds", "cwes")
_DESCRIPTIVE = re.compile(rb"^(?:" + "|".join(DESCRIPTIVE_KEYS).encode() + rb"):[^\n]*\n?", re.M)


def descriptive_line(line: str) -> str | None:
    """The descriptive key a scenario.yaml line sets whole (`cwes: [89]`), if any."""
    # the same lines the validation digest leaves out, and only those that hold a value
    match = _DESCRIPTIVE.fullmatch(line.encode())
    key = line.partition(":")[0]
    return key if match and line.partition(":")[2].strip() else None


def validation_sha256(folder: Path) -> str:
    """The sha256 a validation records: the whole folder but scenario.yaml's descriptive lines,
    so describing a scenario (its difficulty, its line in the README) keeps its record."""
    return folder_sha256(folder, describing=False)


# what a mutation-adequacy measurement depends on (backbench adequacy): the hidden tests, the
# reference it mutates, the contract every response is checked against, and the scenario's
# services, peers and declared equivalents. Probes, hand-written mutants, other solutions and
# the load profile take no part, so changing them does not call for a new measurement.
ADEQUACY_FIELDS = ("services", "peers", "equivalent_mutants")


def adequacy_sha256(folder: Path) -> str:
    """The sha256 of what a scenario folder's adequacy measurement depends on.

    Read from the files themselves (not the typed schema), so the digest of a folder as it was
    at an older commit can be computed with today's code.
    """
    meta = _yaml.safe_load((folder / "scenario.yaml").read_text()) or {}
    openapi = folder / "openapi.yaml"
    parts = [
        folder_sha256(folder / "tests"),
        folder_sha256(folder / "reference"),
        hashlib.sha256(openapi.read_bytes() if openapi.is_file() else b"").hexdigest(),
        json.dumps({k: meta.get(k) for k in ADEQUACY_FIELDS}, sort_keys=True),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()
