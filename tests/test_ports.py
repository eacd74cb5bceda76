"""Loopback ports: never handed to two living processes of the machine (pytest-xdist workers,
evals side by side in the host sandbox), whatever the kernel's bind(0) offers."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from backbench.sandbox import ports
from backbench.sandbox.ports import free_port

# a process handed a port that keeps it until told to end (a line on its standard input)
HOLDER = "from backbench.sandbox.ports import free_port\nprint(free_port(), flush=True)\ninput()\n"


@pytest.fixture
def held_by_another() -> Iterator[tuple[int, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    yield port, proc
    proc.kill()
    proc.wait()


def offering(monkeypatch: pytest.MonkeyPatch, *offers: int) -> None:
    """The kernel's bind(0) offers `offers` first, then what it would have."""
    queue = list(offers)
    kernel = ports._kernel_port
    monkeypatch.setattr(ports, "_kernel_port", lambda host: queue.pop(0) if queue else kernel(host))


def test_a_port_another_living_process_was_handed_is_not_handed_again(
    held_by_another: tuple[int, subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, _ = held_by_another
    offering(monkeypatch, port, port)
    assert free_port() != port


def test_a_dead_process_ports_are_free_again(
    held_by_another: tuple[int, subprocess.Popen[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    port, proc = held_by_another
    proc.communicate("\n", timeout=30)
    offering(monkeypatch, port)
    assert free_port() == port
    assert not [p for p in ports.registry().glob(f"{proc.pid}.*.ports")]


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
