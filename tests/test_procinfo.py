"""backbench.procinfo on a real process group: its members, their memory, killing the
ones a word names, and its command line as the exec sandboxes run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backbench import procinfo

SCRIPT = Path(procinfo.__file__)


@pytest.fixture
def group() -> Iterator[subprocess.Popen[bytes]]:
    """A shell leading its own group, with one child renamed bb-proc-worker."""
    leader = subprocess.Popen(
        # the name is put together by the shell: the leader's own command line does not hold it
        ["bash", "-c", "w=bb-proc; (exec -a $w-worker sleep 60) & sleep 60"],
        start_new_session=True,
    )
    deadline = time.monotonic() + 10
    while len(procinfo.group_members(leader.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield leader
    procinfo.kill_matching(leader.pid, "sleep")
    procinfo.kill_matching(leader.pid, "bb-proc-worker")
    leader.kill()
    leader.wait()


def test_the_group_is_listed_with_its_memory(group: subprocess.Popen[bytes]) -> None:
    found = procinfo.processes(group.pid)
    assert group.pid in [p["pid"] for p in found]
    assert sum(p["cmdline"].startswith("bb-proc-worker") for p in found) == 1
    assert all(p["peak_kib"] >= p["rss_kib"] > 0 for p in found)
    # another group's processes are not its
    assert not procinfo.processes(group.pid + 10_000_000)


def test_only_the_named_processes_are_killed(group: subprocess.Popen[bytes]) -> None:
    [worker] = [p for p in procinfo.processes(group.pid) if "bb-proc-worker" in p["cmdline"]]
    assert procinfo.kill_matching(group.pid, "bb-proc-worker") == [worker["pid"]]
    deadline = time.monotonic() + 10
    while procinfo.describe(worker["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert procinfo.describe(worker["pid"]) is None or "bb-proc-worker" not in str(
        procinfo.describe(worker["pid"])
    )
    assert group.poll() is None  # the leader runs on
    with pytest.raises(ValueError):
        procinfo.kill_matching(group.pid, "")


def test_the_script_answers_json_and_refuses_bad_arguments(
    group: subprocess.Popen[bytes],
) -> None:
    listed = subprocess.run(
        [sys.executable, "-I", str(SCRIPT), "list", str(group.pid)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert group.pid in [p["pid"] for p in json.loads(listed.stdout)]
    bad = subprocess.run([sys.executable, "-I", str(SCRIPT), "list", "x"], capture_output=True)
    assert bad.returncode == 2


@pytest.fixture
def escaped() -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """A leader whose child moves to a process group of its own, as RQ's work horse does."""
    code = "import os, sys, time; os.setpgrp(); print(os.getpid(), flush=True); time.sleep(60)"
    leader = subprocess.Popen(
        # the child's name is put together by the shell, as in `group`
        ["bash", "-c", f"w=bb-esc; {sys.executable} -c '{code}' $w-worker & sleep 60"],
        start_new_session=True, stdout=subprocess.PIPE,
    )  # fmt: skip
    assert leader.stdout is not None
    child = int(leader.stdout.readline())
    yield leader, child
    procinfo.kill_members(leader.pid)
    leader.kill()
    leader.wait()


def test_a_child_that_left_the_group_is_still_listed_and_killed(
    escaped: tuple[subprocess.Popen[bytes], int],
) -> None:
    leader, child = escaped
    assert os.getpgid(child) != leader.pid  # it did leave the group
    assert child in procinfo.group_members(leader.pid)
    assert procinfo.kill_matching(leader.pid, "bb-esc-worker") == [child]
    deadline = time.monotonic() + 10
    while procinfo.describe(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert procinfo.describe(child) is None
    assert leader.poll() is None


def test_killing_the_members_takes_the_escaped_child_too(
    escaped: tuple[subprocess.Popen[bytes], int],
) -> None:
    leader, child = escaped
    killed = procinfo.kill_members(leader.pid)
    assert {leader.pid, child} <= set(killed)
    leader.wait(timeout=10)
    deadline = time.monotonic() + 10
    while procinfo.describe(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert procinfo.describe(child) is None


def test_a_worker_forking_children_is_gone_with_them_when_the_kill_returns() -> None:
    # a worker that forks a child every few milliseconds (an RQ worker taking jobs): what the
    # kill names must all be gone when it returns, children forked during the kill included
    code = (
        "import os, sys, time\n"
        "while True:\n"
        "    if os.fork() == 0:\n"
        "        time.sleep(60); os._exit(0)\n"
        "    time.sleep(0.005)\n"
    )
    leader = subprocess.Popen(
        ["bash", "-c", f"w=bb-fork; {sys.executable} -c '{code}' $w-worker & sleep 60"],
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while len(procinfo.group_members(leader.pid)) < 6 and time.monotonic() < deadline:
            time.sleep(0.05)
        killed = procinfo.kill_matching(leader.pid, "bb-fork-worker")
        left = [p for p in procinfo.processes(leader.pid) if "bb-fork-worker" in p["cmdline"]]
        assert len(killed) >= 5 and left == [], left
    finally:
        procinfo.kill_members(leader.pid)
        leader.kill()
        leader.wait()
