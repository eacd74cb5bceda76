"""Loopback ports: never handed to two living processes of the machine (pytest-xdist workers,
evals side by side in the host sandbox), whatever the kernel's bind(0) offers."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backbench.sandbox import ports
from backbench.sandbox.ports import free_port

# a process handed a port that keeps it until told to end (a line on its standard input); it
# prints the port and its registry file
HOLDER = """from backbench.sandbox import ports
print(ports.free_port(), ports._own[1].name, flush=True)
input()
"""


@dataclass
class Holder:
    port: int
    registry_file: Path
    proc: subprocess.Popen[str]


@pytest.fixture
def held_by_another() -> Iterator[Holder]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    port, registry_file = proc.stdout.readline().split()
    yield Holder(int(port), Path(registry_file), proc)
    proc.kill()
    proc.wait()


def offering(monkeypatch: pytest.MonkeyPatch, *offers: int) -> None:
    """The kernel's bind(0) offers `offers` first, then what it would have."""
    queue = list(offers)
    kernel = ports._kernel_port
    monkeypatch.setattr(ports, "_kernel_port", lambda host: queue.pop(0) if queue else kernel(host))


def test_a_port_another_living_process_was_handed_is_not_handed_again(
    held_by_another: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert held_by_another.registry_file.parent == ports.registry()
    offering(monkeypatch, held_by_another.port, held_by_another.port)
    assert free_port() != held_by_another.port


def test_a_dead_process_ports_are_free_again(
    held_by_another: Holder, monkeypatch: pytest.MonkeyPatch
) -> None:
    held_by_another.proc.communicate("\n", timeout=30)
    offering(monkeypatch, held_by_another.port)
    assert free_port() == held_by_another.port
    assert not held_by_another.registry_file.exists()


def test_a_span_is_consecutive_free_ports_all_handed_out(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        bound = busy.getsockname()[1]
        # a span whose second port is bound by someone is passed over
        offering(monkeypatch, bound - 1)
        first = free_port(span=3)
    assert bound not in range(first, first + 3)
    assert set(range(first, first + 3)) <= ports._given
    offering(monkeypatch, first + 1, first + 2)
    assert free_port() not in range(first, first + 3)
