"""Finding and pausing a sample's processes through /proc, with nothing but the standard library:
the load generator imports this under gevent, and the harness runs it as a tool.

A target names whose processes these are:
- `uid:<n>`: every process of that uid (the namespace sandbox and the exec path give the agent a
  uid of its own, which no process of it can leave);
- `marker:<NAME>=<value>`: every process whose environment holds it (the host sandbox, where the
  agent shares the harness's uid);
- `sid:<n>`: every process of that session (a server the harness started in a session of its
  own, with whatever it forked: the sample's PostgreSQL and Redis);
- several of these joined by commas: the processes of any of them;
- empty: none can be told apart, so nothing is paused.

    python -m backbench.sandbox.pids {stop,cont} TARGET
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from pathlib import Path

PROC = Path("/proc")
# forks race a sweep: sweep again until one finds nothing left to stop
SWEEPS = 20


def _other_processes(name: str) -> list[tuple[int, bytes]]:
    """Every process but this one, with the bytes of its /proc/<pid>/`name` (unreadable: gone
    or not ours to read, left out)."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            found.append((int(entry.name), (entry / name).read_bytes()))
        except OSError:
            continue
    return found


def pids_with_marker(name: str, value: str) -> list[int]:
    """Processes whose environment holds `name=value`: what a sample started, even daemons."""
    needle = f"{name}={value}".encode()
    return [pid for pid, environ in _other_processes("environ") if needle in environ.split(b"\0")]


def pids_of_uid(uid: int) -> list[int]:
    """Processes whose real or effective uid is `uid`."""
    return [pid for pid, status in _other_processes("status") if uid in _uids(status)]


def pids_of_session(sid: int) -> list[int]:
    """Processes of session `sid`."""
    if sid <= 0:
        # /proc shows 0 for a session led from outside this PID namespace: inside a container
        # that is the harness's own session, never a sample's
        raise ValueError(f"no session has id {sid}")
    return [pid for pid, stat in _other_processes("stat") if _fields(stat)[3:4] == [b"%d" % sid]]


def pids_with_arguments(program: str, *args: str) -> list[int]:
    """Processes running a program named `program` whose arguments hold `args` in a row.

    A server's pid file holds its pid in its own PID namespace, which may be another process's
    pid here: a server is found by how it was started instead, in this namespace's /proc.
    """
    wanted = [a.encode() for a in args]
    found = []
    for pid, cmdline in _other_processes("cmdline"):
        argv = cmdline.split(b"\0")
        if not argv or os.path.basename(argv[0]) != program.encode():
            continue
        if any(argv[i : i + len(wanted)] == wanted for i in range(1, len(argv))):
            found.append(pid)
    return found


def _fields(stat: bytes) -> list[bytes]:
    """The fields of a /proc/<pid>/stat after the command (state, ppid, pgrp, session, ...):
    a command may hold parentheses and spaces, so they follow its last closing parenthesis."""
    return stat.rsplit(b")", 1)[-1].split()


def _uids(status: bytes) -> tuple[int, ...]:
    """The real and effective uid of a /proc/<pid>/status."""
    for line in status.splitlines():
        if line.startswith(b"Uid:"):
            return tuple(int(v) for v in line.split()[1:3])
    return ()


def target_pids(target: str) -> list[int]:
    """The processes `target` names (see the module's docstring)."""
    found: set[int] = set()
    for part in filter(None, target.split(",")):
        found.update(_one_target(part))
    return sorted(found)


def _one_target(target: str) -> list[int]:
    kind, _, rest = target.partition(":")
    if kind == "uid":
        return pids_of_uid(int(rest))
    if kind == "marker":
        name, _, value = rest.partition("=")
        return pids_with_marker(name, value)
    if kind == "sid":
        return pids_of_session(int(rest))
    raise ValueError(
        f"unknown process target {target!r}: expected uid:<n>, marker:<NAME>=<v> or sid:<n>"
    )


def _stopped(pid: int) -> bool:
    """Whether `pid` is stopped (or gone: nothing of it can run)."""
    try:
        stat = (PROC / str(pid) / "stat").read_bytes()
    except OSError:
        return True
    return _fields(stat)[0] in (b"T", b"t", b"Z", b"X")


def stop_all(target: str) -> int:
    """SIGSTOP every process of `target` until none of it runs; returns how many were stopped."""
    stopped: set[int] = set()
    for _ in range(SWEEPS):
        running = [p for p in target_pids(target) if not _stopped(p)]
        if not running:
            break
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
            stopped.add(pid)
    return len(stopped)


def continue_all(target: str) -> int:
    """SIGCONT every process of `target`; returns how many were signalled."""
    pids = target_pids(target)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)
    return len(pids)


def main(argv: list[str]) -> int:
    """Stop or continue every process of a target; 2 on bad usage."""
    if len(argv) != 2 or argv[0] not in ("stop", "cont"):
        print("usage: python -m backbench.sandbox.pids {stop,cont} TARGET", file=sys.stderr)
        return 2
    action, target = argv
    (stop_all if action == "stop" else continue_all)(target)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
