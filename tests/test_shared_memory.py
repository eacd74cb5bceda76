"""A sample's PostgreSQL, killed at the end of its sample, leaves no System V segment behind."""

from __future__ import annotations

import asyncio
import ctypes
from pathlib import Path

from backbench.sandbox.services import (
    IPC_RMID,
    remove_shared_memory,
    services_root,
    shared_memory_segments,
    start_services,
)

IPC_PRIVATE, IPC_CREAT = 0, 0o1000
Segments = dict[int, tuple[int, int]]


def segment_of(pgdata: Path) -> tuple[int, int]:
    key, shmid = (int(n) for n in (pgdata / "postmaster.pid").read_text().splitlines()[6].split())
    return key, shmid


def test_a_killed_cluster_leaves_no_shared_memory_segment() -> None:
    async def run() -> tuple[tuple[int, int], Segments, Segments]:
        services = await start_services(services_root(), ["postgres"])
        segment = segment_of(services.pgdata)
        during = shared_memory_segments()
        await services.stop()  # SIGKILLs the postmaster's session
        return segment, during, shared_memory_segments()

    (key, shmid), during, after = asyncio.run(run())
    assert during.get(shmid, (None, 0))[0] == key, "the running cluster's segment was not listed"
    assert shmid not in after, f"segment {shmid} (key {key}) left behind: {after.get(shmid)}"


def test_a_segment_whose_key_no_longer_matches_is_left_alone(tmp_path: Path) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    shmid = libc.shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0o600)
    assert shmid >= 0, ctypes.get_errno()
    try:
        key = shared_memory_segments()[shmid][0]
        pid_file = ["1", str(tmp_path), "0", "5432", "/tmp", "127.0.0.1", f"{key + 1} {shmid}"]
        (tmp_path / "postmaster.pid").write_text("\n".join(pid_file) + "\n")
        assert not remove_shared_memory(tmp_path)
        assert shmid in shared_memory_segments()
    finally:
        libc.shmctl(shmid, IPC_RMID, None)
    assert shmid not in shared_memory_segments()


def test_a_cluster_without_a_pid_file_removes_nothing(tmp_path: Path) -> None:
    assert not remove_shared_memory(tmp_path)
