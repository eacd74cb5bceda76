"""The processes of a submission (its process group, session and their descendants), read from
/proc: what a test may ask of them (their command lines, memory now and at its peak) and the one
thing it may do to them (kill those whose command line holds a word, as a crash of a worker
would); and, for the harness, killing them all.

Standard library only: the in-sandbox supervisor imports it, and the exec sandboxes run it as a
script (`python3 procinfo.py list|kill|killall PGID [WORD]`) on the harness's own Python.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

PROC = Path("/proc")
CMDLINE_CHARS = 300
KILL_WAIT = 5.0  # seconds a kill_matching waits for what it killed to be gone


def _stat_fields(entry: Path) -> list[str] | None:
    try:
        # after the command name: state, ppid, pgrp, session, ...
        return (entry / "stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None


def group_members(pgid: int, proc: Path = PROC) -> list[int]:
    """The processes start.sh's group leader `pgid` is answerable for, zombies aside.

    Its process group, and also its session and every descendant: a worker that moves to a
    group of its own (RQ's work horse calls setpgrp) is still the submission's, and a kill or a
    restart that missed it would leave its work going on while the server is down.
    """
    parents: dict[int, int] = {}
    members: set[int] = set()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry)
        if fields is None or len(fields) < 4 or fields[0] in ("Z", "X"):
            continue
        pid = int(entry.name)
        parents[pid] = int(fields[1])
        if str(pgid) in (fields[2], fields[3]):
            members.add(pid)
    grown = True
    while grown:  # descendants of members, whatever group or session they moved to
        found = {pid for pid, parent in parents.items() if parent in members} - members
        members |= found
        grown = bool(found)
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


def kill_matching(pgid: int, word: str, proc: Path = PROC, wait: float = KILL_WAIT) -> list[int]:
    """SIGKILL the group's processes whose command line holds `word`, and return once none is
    left (or `wait` seconds pass); their pids.

    One pass is not enough: a process keeps its command line for a moment after SIGKILL, and a
    worker may fork a child (RQ's work horse) between the listing and its own kill; a test that
    looks right after the kill would see either as a worker still running.
    """
    if not word:
        raise ValueError("name a word of the command line to kill")
    killed: list[int] = []
    deadline = time.monotonic() + wait
    while True:
        found = [p["pid"] for p in processes(pgid, proc) if word in p["cmdline"]]
        if not found or time.monotonic() > deadline:
            return killed
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                if pid not in killed:
                    killed.append(pid)
        time.sleep(0.02)


def kill_members(pgid: int, proc: Path = PROC) -> list[int]:
    """SIGKILL every member (group, session, descendants); their pids."""
    killed = []
    for pid in group_members(pgid, proc):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
    return killed


def main(argv: list[str]) -> int:
    """`list PGID`, `kill PGID WORD` or `killall PGID`: the answer as JSON on stdout."""
    if len(argv) < 2 or argv[0] not in ("list", "kill", "killall") or not argv[1].isdigit():
        print("usage: procinfo.py list PGID | kill PGID WORD | killall PGID", file=sys.stderr)
        return 2
    pgid = int(argv[1])
    if argv[0] == "list":
        print(json.dumps(processes(pgid)))
    elif argv[0] == "killall":
        print(json.dumps(kill_members(pgid)))
    else:
        print(json.dumps(kill_matching(pgid, argv[2] if len(argv) > 2 else "")))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
