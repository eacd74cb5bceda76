"""Killing a sample's processes never races asyncio's own child watcher."""

import asyncio
import logging
import subprocess

import pytest

from backbench.sandbox.processes import kill_group

pytestmark = pytest.mark.anyio


async def test_killed_child_reports_sigkill_and_no_unknown_pid_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="asyncio")
    for _ in range(5):
        proc = await asyncio.create_subprocess_exec(
            "sleep", "30", stdout=subprocess.DEVNULL, start_new_session=True
        )
        kill_group(proc.pid)
        await asyncio.sleep(0.05)  # dead and unreaped: where a poll would have stolen it
        kill_group(proc.pid)  # a second kill of a dead group must not reap it either
        assert await asyncio.wait_for(proc.wait(), 10) == -9
    assert not [r for r in caplog.records if "Unknown child process" in r.getMessage()]
