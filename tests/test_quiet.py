"""The quiet lock: a speed-up's measurement runs with no other stage on the machine."""

import asyncio
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backbench.scoring.quiet import measuring, quiet_folder, stage_running


async def events_of(folder: Path) -> list[str]:
    """Two stages and a measurement that arrives while they run, then a third stage that
    arrives while the measurement waits: the order in which they enter and leave."""
    events: list[str] = []

    async def stage(name: str, start_after: float, seconds: float) -> None:
        await asyncio.sleep(start_after)
        async with stage_running(folder):
            events.append(f"{name} in")
            await asyncio.sleep(seconds)
            events.append(f"{name} out")

    async def measure(start_after: float) -> None:
        await asyncio.sleep(start_after)
        async with measuring(folder):
            events.append("measure in")
            await asyncio.sleep(0.3)
            events.append("measure out")

    await asyncio.gather(
        stage("a", 0.0, 0.6), stage("b", 0.0, 0.3), measure(0.1), stage("c", 0.2, 0.1)
    )
    return events


def test_stages_share_the_machine_and_a_measurement_has_it_alone(tmp_path: Path) -> None:
    events = asyncio.run(events_of(tmp_path))
    # a and b run together; the measurement waits for both; c, arriving while the measurement
    # waits, starts only after it (or it would wait behind a stream of stages)
    assert events[:2] == ["a in", "b in"]
    assert events.index("measure in") > max(events.index("a out"), events.index("b out"))
    assert events.index("c in") > events.index("measure out")


def test_a_cancelled_waiter_leaves_nothing_held(tmp_path: Path) -> None:
    async def scenario() -> float:
        async def hold_stage() -> None:
            async with stage_running(tmp_path):
                await asyncio.sleep(0.5)

        holder = asyncio.create_task(hold_stage())
        await asyncio.sleep(0.05)
        waiter = asyncio.create_task(measuring(tmp_path).__aenter__())
        await asyncio.sleep(0.2)
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)
        await holder
        # neither the cancelled measurement nor the stage holds anything now
        async with measuring(tmp_path) as waited:
            return waited

    assert asyncio.run(asyncio.wait_for(scenario(), 5)) < 0.5


def test_a_stage_in_another_process_holds_a_measurement_back(tmp_path: Path) -> None:
    child = textwrap.dedent(f"""
        import asyncio, sys
        from pathlib import Path
        from backbench.scoring.quiet import stage_running
        async def main():
            async with stage_running(Path({str(tmp_path)!r})):
                print("in", flush=True)
                await asyncio.sleep(1.0)
        asyncio.run(main())
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "in"

        async def measure() -> float:
            async with measuring(tmp_path) as waited:
                return waited

        assert asyncio.run(asyncio.wait_for(measure(), 10)) > 0.5
    finally:
        proc.wait(10)


def test_the_lock_files_are_the_harness_users_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # another user who could open them could hold the lock and stall every sample's stages
    monkeypatch.setenv("BACKBENCH_CACHE", str(tmp_path / "cache"))
    folder = quiet_folder()
    folder.chmod(0o755)
    assert quiet_folder().stat().st_mode & 0o777 == 0o700
