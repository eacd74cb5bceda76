"""Which files of a submission are its source code."""

from pathlib import Path

# Folders that hold installed or generated code, not the agent's own.
SKIPPED_DIRS = {
    ".venv", "venv", "env", "site-packages", "node_modules", "__pycache__", ".git",
    ".mypy_cache", ".ruff_cache", ".pytest_cache", "build", "dist",
}  # fmt: skip
MAX_FILES = 2000


def python_files(root: Path) -> list[Path]:
    """The submission's own .py files (no virtualenvs or caches), at most MAX_FILES."""
    found = []
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root)
        if SKIPPED_DIRS & set(rel.parts) or path.is_symlink() or not path.is_file():
            continue
        found.append(path)
        if len(found) >= MAX_FILES:
            break
    return found
