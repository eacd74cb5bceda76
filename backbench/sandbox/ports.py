"""Loopback ports handed to samples: never one that a living process of this machine was handed.

The kernel's bind(0) finds a port that is free now, but it stays free only until the server it is
meant for binds it, and a sample's server stopped and started again (a hidden test's restart)
binds the same port later. So a port handed out is kept for the rest of the process's life: in
this process's memory, and for the other processes of the machine (two pytest-xdist workers, two
evals in the host sandbox, a user's run beside CI) in a registry folder that holds one file a
process, listing its ports, flock-ed by that process while it lives. A file that no process holds
is a dead process's: its ports are free again and the file is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

ATTEMPTS = 100

_given: set[int] = set()
_lock = threading.Lock()
# this process's registry file and the pid that opened it (a forked child opens its own)
_own: tuple[int, TextIO] | None = None


def free_port(host: str = "127.0.0.1", span: int = 1) -> int:
    """A port on `host` that is free now and that no living process of this machine was handed
    before; with `span`, the first of that many consecutive such ports, all handed out."""
    with _lock, _registry_locked() as folder:
        taken = _given | _ports_of_others(folder)
        for _ in range(ATTEMPTS):
            first = _kernel_port(host)
            ports = range(first, first + span)
            if taken.isdisjoint(ports) and all(_bindable(host, p) for p in ports[1:]):
                _record(folder, ports)
                return first
    raise RuntimeError(f"no {span} free loopback port(s) found in {ATTEMPTS} attempts")


def _kernel_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def registry() -> Path:
    """The machine's folder of handed-out ports (beside the services' cache, so per user)."""
    from backbench.sandbox.services import cache_dir  # services imports this module

    folder = cache_dir() / "ports"
    folder.mkdir(exist_ok=True)
    return folder


@contextlib.contextmanager
def _registry_locked() -> Iterator[Path]:
    """The registry folder, with every other process's look-up and record waiting meanwhile."""
    folder = registry()
    with open(folder / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield folder
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _ports_of_others(folder: Path) -> set[int]:
    """The ports recorded by the other living processes; dead processes' files are removed."""
    own = _own[1].name if _own is not None and _own[0] == os.getpid() else None
    ports: set[int] = set()
    for path in folder.glob("*.ports"):
        if str(path) == own:
            continue
        with contextlib.suppress(FileNotFoundError), open(path) as file:
            try:
                fcntl.flock(file, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:  # its process lives and holds it
                ports.update(int(line) for line in file.read().split())
                continue
            path.unlink()
    return ports


def _record(folder: Path, ports: range) -> None:
    """Keep `ports` in this process's memory and in its registry file."""
    global _own
    if _own is None or _own[0] != os.getpid():
        file = open(folder / f"{os.getpid()}.{uuid.uuid4().hex[:8]}.ports", "a")
        fcntl.flock(file, fcntl.LOCK_EX)  # held until this process ends
        _own = (os.getpid(), file)
    _given.update(ports)
    _own[1].write("".join(f"{port}\n" for port in ports))
    _own[1].flush()
