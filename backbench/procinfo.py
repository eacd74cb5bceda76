"""The processes of a submission's process group, read from /proc: what a test may ask of them
(their command lines, memory now and at its peak) and the one thing it may do to them (kill
those whose command line holds a word, as a crash of a worker would).

Standard library only: the in-sandbox supervisor imports it, and the exec sandboxes run it as a
script (`python3 procinfo.py list|kill PGID [WORD]`) on the sandbox's own Python.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from pathlib import Path
from typing import Any

PROC = Path("/proc")
CMDLINE_CHARS = 300


def group_members(pgid: int, proc: Path = PROC) -> list[int]:
    """The processes of process group `pgid`, zombies aside."""
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
        except OSError:
            continue
        # fields: state, ppid, pgrp, ...
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X"):
            members.append(int(entry.name))
    return sorted(members)


def _status_kib(text: str, key: str) -> int:
    for line in text.splitlines():
        if line.startswith(key + ":"):
            parts = line.split()
            return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
    return 0


def describe(pid: int, proc: Path = PROC) -> dict[str, Any] | None:
    """A process's pid, command line, resident memory now and at its peak (KiB); None once it
    has gone."""
    try:
        raw = (proc / str(pid) / "cmdline").read_bytes()
        status = (proc / str(pid) / "status").read_text()
    except OSError:
        return None
    cmdline = raw.replace(b"\0", b" ").decode(errors="replace").strip()[:CMDLINE_CHARS]
    return {
        "pid": pid, "cmdline": cmdline,
        "rss_kib": _status_kib(status, "VmRSS"), "peak_kib": _status_kib(status, "VmHWM"),
    }  # fmt: skip


def processes(pgid: int, proc: Path = PROC) -> list[dict[str, Any]]:
    """Every live process of the group, described."""
    return [d for pid in group_members(pgid, proc) if (d := describe(pid, proc)) is not None]


def kill_matching(pgid: int, word: str, proc: Path = PROC) -> list[int]:
    """SIGKILL the group's processes whose command line holds `word`; their pids."""
    if not word:
        raise ValueError("name a word of the command line to kill")
    killed = []
    for found in processes(pgid, proc):
        if word in found["cmdline"]:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(found["pid"], signal.SIGKILL)
                killed.append(found["pid"])
    return killed


def main(argv: list[str]) -> int:
    """`list PGID` or `kill PGID WORD`: the answer as JSON on stdout."""
    if len(argv) < 2 or argv[0] not in ("list", "kill") or not argv[1].isdigit():
        print("usage: procinfo.py list PGID | kill PGID WORD", file=sys.stderr)
        return 2
    pgid = int(argv[1])
    if argv[0] == "list":
        print(json.dumps(processes(pgid)))
    else:
        print(json.dumps(kill_matching(pgid, argv[2] if len(argv) > 2 else "")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
