"""Pausing a submission's processes (the load stage's reference slices) with real processes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from backbench.sandbox.pids import (
    _stopped,
    continue_all,
    main,
    pids_with_arguments,
    stop_all,
    target_pids,
)
from backbench.sandbox.services import SampleServices

# a parent that forks a child, both spinning: a pause must catch what the submission forks
FORKER = "import os, time\nos.fork()\nwhile True: time.sleep(0.01)\n"


@pytest.fixture
def marked() -> Iterator[str]:
    """A process tree whose environment carries a marker; the target that names it."""
    marker = uuid.uuid4().hex
    proc = subprocess.Popen(
        [sys.executable, "-c", FORKER], env={**os.environ, "BB_TEST_MARK": marker},
        start_new_session=True,
    )  # fmt: skip
    target = f"marker:BB_TEST_MARK={marker}"
    deadline = time.monotonic() + 10
    while len(target_pids(target)) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    yield target
    os.killpg(proc.pid, 9)
    proc.wait()


def test_stop_pauses_every_process_of_the_target_and_cont_resumes_them(marked: str) -> None:
    pids = target_pids(marked)
    assert len(pids) == 2 and not any(_stopped(p) for p in pids)
    assert stop_all(marked) == 2
    assert all(_stopped(p) for p in pids)
    assert continue_all(marked) == 2
    time.sleep(0.1)
    assert not any(_stopped(p) for p in pids)


def test_another_target_leaves_them_running(marked: str) -> None:
    stop_all(f"marker:BB_TEST_MARK={uuid.uuid4().hex}")
    stop_all(f"uid:{2**31 - 7}")  # nobody's uid
    stop_all("")  # a sandbox that cannot tell them apart pauses nothing
    assert not any(_stopped(p) for p in target_pids(marked))


def test_a_uid_target_names_that_uids_processes() -> None:
    assert os.getppid() in target_pids(f"uid:{os.getuid()}")


def test_an_unknown_target_kind_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown process target"):
        target_pids("pid:1")
    assert main(["freeze", "uid:0"]) == 2


@pytest.fixture
def other() -> Iterator[subprocess.Popen[bytes]]:
    """A process that leads a session of its own, which no sample owns."""
    proc = subprocess.Popen(["sleep", "60"], start_new_session=True)
    yield proc
    proc.kill()
    proc.wait()


def test_a_session_target_names_the_session_and_what_it_forked(
    marked: str, other: subprocess.Popen[bytes]
) -> None:
    tree = target_pids(marked)
    leader = min(tree)  # the forker leads its own session; its child was forked after it
    assert sorted(target_pids(f"sid:{leader}")) == tree
    # another session holds none of them (not this test's own: inside a container /proc shows
    # 0 for a session led from outside it, which names no process)
    assert target_pids(f"sid:{other.pid}") == [other.pid]


def test_targets_joined_by_commas_name_the_processes_of_each(
    marked: str, other: subprocess.Popen[bytes]
) -> None:
    own = f"sid:{other.pid}"
    joined = target_pids(f"{marked},{own}")
    assert set(target_pids(marked)) | set(target_pids(own)) == set(joined)
    assert len(joined) == len(set(joined))
    stop_all(f"{marked},sid:{2**31 - 9}")  # a session nobody leads adds nothing
    assert all(_stopped(p) for p in target_pids(marked))
    continue_all(f"{marked},sid:{2**31 - 9}")


def test_a_session_id_of_zero_names_no_process() -> None:
    # inside a container /proc shows 0 for sessions led from outside it, the harness's own
    with pytest.raises(ValueError, match="no session has id 0"):
        target_pids("sid:0")


def test_a_pid_file_from_the_samples_namespace_names_no_process_here(
    tmp_path: Path, other: subprocess.Popen[bytes]
) -> None:
    victim = other
    # A postmaster in the sample's PID namespace writes its pid there (2 or 3, say); in the
    # harness's namespace that pid is another process's: in a container, the harness's own.
    services = SampleServices(root=tmp_path)
    services.pgdata.mkdir()
    (services.pgdata / "postmaster.pid").write_text(f"{victim.pid}\n{services.pgdata}\n")
    asyncio.run(services.stop())
    time.sleep(0.2)
    assert victim.poll() is None, "the harness killed a process that a pid file named"


# a process that runs as /opt/pg/bin/postgres, with the arguments given after it
STAND_IN = ["bash", "-c", 'exec -a /opt/pg/bin/postgres "$0" -c "import time; time.sleep(60)" "$@"',
            sys.executable]  # fmt: skip


def test_a_leftover_postmaster_of_the_sample_is_killed(tmp_path: Path) -> None:
    pgdata = tmp_path / "pgdata"
    pgdata.mkdir()
    # named and started as the sample's postmaster is: postgres -D <pgdata> ...
    server = subprocess.Popen(
        [*STAND_IN, "-D", str(pgdata)],
        start_new_session=True,
    )  # fmt: skip
    other = subprocess.Popen(
        [*STAND_IN, "-D", f"{pgdata}2"],
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not pids_with_arguments("postgres", "-D", str(pgdata)):
            assert time.monotonic() < deadline, "the stand-in postmaster did not start"
            time.sleep(0.05)
        asyncio.run(SampleServices(root=tmp_path).stop())
        assert server.wait(timeout=10) == -signal.SIGKILL
        assert other.poll() is None, "another cluster's postmaster was killed"
    finally:
        for proc in (server, other):
            proc.kill()
            proc.wait()
