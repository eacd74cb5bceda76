"""A speed-up is measured with no other sample's stage running on the machine.

A speed-up's verdict is a significance test over half-second cycles of the starting code and the
submission. With other samples' stages beside it on a 2-core machine both wait for the CPU
alike, the ratio sinks towards 1 and correct submissions fail (booking-connection-pool: 4.1x
alone, 1.6x with five other samples scored beside it). So every stage holds the machine's quiet
lock shared, and a speed-up's measurement holds it exclusive. Through a lock file, the rule holds
across processes: two `inspect eval`s, `backbench validate`'s parallel evals, pytest's workers.

A measurement waiting for the lock holds the turnstile, which stages pass on their way in: no
new stage starts meanwhile, so a measurement waits at most for the stages already running.
Locks are taken by polling with LOCK_NB, so a cancelled sample never leaves one behind.
"""

from __future__ import annotations

import asyncio
import fcntl
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import IO

POLL_SECONDS = 0.1


def quiet_folder() -> Path:
    """The machine's folder of the quiet lock (beside the services' cache, so per user)."""
    from backbench.sandbox.services import cache_dir

    folder = cache_dir() / "quiet"
    folder.mkdir(exist_ok=True)
    # flock needs only read access: a lock file another user could open, a submission could
    # hold, and every sample's stages would wait on it. The namespace sandbox hides /var from
    # the agent already; this holds wherever the cache is seen.
    folder.chmod(0o700)
    return folder


async def _flock(file: IO[str], operation: int) -> None:
    """Take `operation` (LOCK_SH or LOCK_EX) on `file`, polling, so that cancelling the waiting
    task leaves nothing held (a blocking flock in a thread would take it later, for no one)."""
    while True:
        try:
            fcntl.flock(file, operation | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            await asyncio.sleep(POLL_SECONDS)


@asynccontextmanager
async def _held(operation: int, folder: Path | None) -> AsyncIterator[float]:
    """The main lock held as `operation`, entered through the turnstile; yields the seconds
    waited."""
    base = folder or quiet_folder()
    started = time.monotonic()
    with open(base / "turnstile", "a") as turnstile, open(base / "lock", "a") as lock:
        await _flock(turnstile, fcntl.LOCK_EX)
        try:
            await _flock(lock, operation)
        finally:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        try:
            yield time.monotonic() - started
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def stage_running(folder: Path | None = None) -> AbstractAsyncContextManager[float]:
    """Held around a scoring stage: shared with other stages, never with a measurement."""
    return _held(fcntl.LOCK_SH, folder)


def measuring(folder: Path | None = None) -> AbstractAsyncContextManager[float]:
    """Held around a speed-up's measurement: alone on the machine."""
    return _held(fcntl.LOCK_EX, folder)
