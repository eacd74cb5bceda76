"""The supervisor's process control (backbench.testkit.supervisor), on real processes."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from backbench.testkit.supervisor import Supervisor, _alive, _group_alive, _task_state

# Listens, then ends its first thread alone (pthread_exit), as a killed process's first thread
# can end before the others; a second thread keeps the process, and its socket, until stdin ends.
FIRST_THREAD_ENDS = """
import ctypes, socket, sys, threading
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen()
threading.Thread(target=sys.stdin.read).start()
print(sock.getsockname()[1], flush=True)
ctypes.CDLL(None).pthread_exit(None)
"""


def eventually(check: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture
def first_thread_ended() -> Iterator[tuple[subprocess.Popen[str], int]]:
    """A process whose first thread is a zombie while another runs; and its listening port."""
    proc = subprocess.Popen(
        [sys.executable, "-c", FIRST_THREAD_ENDS],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert proc.stdout is not None
    port = int(proc.stdout.readline())
    eventually(lambda: _task_state(Path(f"/proc/{proc.pid}/task/{proc.pid}")) == "Z")
    yield proc, port
    proc.kill()
    proc.wait()


def test_a_process_runs_while_any_of_its_threads_runs(
    first_thread_ended: tuple[subprocess.Popen[str], int],
) -> None:
    proc, port = first_thread_ended
    # its socket still accepts: the process must not count as gone, or a restart would start
    # the new server while the old one holds the port
    assert accepts(port)
    assert _alive(proc.pid)
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(10)
    assert not _alive(proc.pid)
    assert not accepts(port)


def test_a_process_that_does_not_exist_is_not_alive() -> None:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert not _alive(int(proc.stdout))


@pytest.mark.anyio
async def test_stop_waits_for_the_whole_process_group(tmp_path: Path) -> None:
    # the group's first process has exited and been reaped; the one it left behind runs on, as
    # a server that start.sh runs without `exec` does
    shell = subprocess.run(
        ["sh", "-c", "sleep 60 > /dev/null 2>&1 & echo $$"],
        capture_output=True, text=True, check=True, start_new_session=True,
    )  # fmt: skip
    pgid = int(shell.stdout)
    assert not _alive(pgid) and _group_alive(pgid)
    spec = {"main": {"pid": pgid, "port": 0, "log": str(tmp_path / "main.log")}}
    supervisor = Supervisor(spec, tmp_path)
    assert await supervisor._stop(supervisor.instances["main"])
    assert not _group_alive(pgid)
