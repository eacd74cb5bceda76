"""Content identity: what a run measured, so an edited prompt or scenario never looks unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

# Generated files are not content: a scenario run once must keep its hash.
SKIPPED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache"})


def text_sha256(text: str) -> str:
    """The sha256 of a text's UTF-8 bytes, in hex."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def folder_sha256(folder: Path) -> str:
    """The sha256 over every file of a folder: relative paths, exec bits and contents."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder)
        if SKIPPED_PARTS & set(rel.parts):
            continue
        executable = b"x" if path.stat().st_mode & 0o111 else b"-"
        data = path.read_bytes()
        digest.update(f"{rel.as_posix()}\0{len(data)}\0".encode() + executable + b"\0" + data)
    return digest.hexdigest()
