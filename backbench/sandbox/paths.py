"""Paths in folders the agent writes: removed and read without following its links.

The harness runs as root. A link the agent leaves in its workspace could point at a harness file
(the hidden tests, a reference solution) or at the host's; these helpers never pass through one.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path


def remove_path(path: Path) -> None:
    """Remove what is at `path`: a link itself (never its target), a file, or a whole folder."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def empty_folder(folder: Path) -> None:
    """Remove everything in `folder`, keeping the folder."""
    for entry in list(folder.iterdir()):
        remove_path(entry)


def read_no_follow(root: Path, name: str, limit: int) -> bytes | None:
    """At most `limit` bytes of the file `name` (relative, '/'-separated) under `root`, opened
    one component at a time with O_NOFOLLOW: None when it is missing, or when any component
    is a link, as a folder or as the file."""
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        return None
    opened: list[int] = []
    try:
        folder = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
        opened.append(folder)
        for part in parts[:-1]:
            folder = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=folder)
            opened.append(folder)
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder)
    except OSError:
        return None
    finally:
        for descriptor in opened:
            os.close(descriptor)
    if not stat.S_ISREG(os.fstat(fd).st_mode):  # a folder, a pipe or a device: no file here
        os.close(fd)
        return None
    with os.fdopen(fd, "rb") as f:
        return f.read(limit)
