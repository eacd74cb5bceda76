"""Running untrusted commands: own process groups, capped output, and sweeping up leftovers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping
from pathlib import Path

from inspect_ai.util import ExecResult

from backbench.sandbox.pids import pids_with_marker

# Output kept per stream: a command that floods its output cannot exhaust the harness's memory.
OUTPUT_LIMIT = 10 * 1024 * 1024


async def _read_capped(stream: asyncio.StreamReader | None, limit: int) -> bytes:
    """Read a stream to its end, keeping only the last `limit` bytes."""
    if stream is None:
        return b""
    kept = bytearray()
    while chunk := await stream.read(65536):
        kept += chunk
        if len(kept) > limit:
            del kept[: len(kept) - limit]
    return bytes(kept)


def kill_group(pid: int) -> None:
    """SIGKILL the process group led by `pid`, and `pid` itself, if they still exist.

    Signals go through os.kill, never asyncio's Process.kill(): that polls the process first,
    and polling a child that has just died reaps it under asyncio's own watcher, which then logs
    "Unknown child process pid ..., will report returncode 255".
    """
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGKILL)


async def run_capped(
    argv: list[str],
    *,
    env: Mapping[str, str],
    cwd: str | Path,
    input: str | bytes | None = None,
    timeout: float | None = None,
    limit: int = OUTPUT_LIMIT,
) -> ExecResult[str]:
    """Run `argv` in a new session with exactly `env`; kill its whole group on timeout.

    Raises TimeoutError when `timeout` expires and PermissionError when `argv[0]` may not be
    run, as inspect's sandbox contract asks; a missing program is a failed result (exit 127).
    """
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(cwd),
            env=dict(env),
            start_new_session=True,
        )
    except (FileNotFoundError, NotADirectoryError) as ex:
        return ExecResult(success=False, returncode=127, stdout="", stderr=str(ex))

    async def feed() -> None:
        if proc.stdin is None or input is None:
            return
        data = input.encode() if isinstance(input, str) else input
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(data)
            await proc.stdin.drain()
            proc.stdin.close()

    async def collect() -> tuple[bytes, bytes]:
        _, out, err = await asyncio.gather(
            feed(), _read_capped(proc.stdout, limit), _read_capped(proc.stderr, limit)
        )
        await proc.wait()
        return out, err

    try:
        out, err = await asyncio.wait_for(collect(), timeout)
    except (TimeoutError, asyncio.CancelledError):
        kill_group(proc.pid)
        await proc.wait()
        raise
    return ExecResult(
        success=proc.returncode == 0,
        returncode=proc.returncode if proc.returncode is not None else -1,
        stdout=out.decode("utf-8", errors="replace"),
        stderr=err.decode("utf-8", errors="replace"),
    )


def kill_marked(name: str, value: str) -> int:
    """SIGKILL every process carrying the marker; repeat until none is left (forks race us)."""
    killed = 0
    for _ in range(20):
        pids = pids_with_marker(name, value)
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
    return killed
