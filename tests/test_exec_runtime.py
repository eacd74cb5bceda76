"""The scoring runtime for docker/k8s sandboxes, driven here over inspect's `local` sandbox.

No Docker engine runs on this machine; the same code path (tools run through `exec`, files
mirrored through `write_file`/`read_file`, the submission watched through `exec`) is exercised
against the local sandbox with real services, in both directions.
"""

from __future__ import annotations

import asyncio
import io
import os
import tarfile
from pathlib import Path

import pytest

from backbench.catalogue import Scenario
from backbench.runtime.exec import _untar_into
from backbench.sandbox.services import (
    SampleServices,
)
from backbench.scoring.scorer import score_submission
from tests.conftest import lean_scenario, mutant_copy, runtime_for, values

pytestmark = pytest.mark.anyio


async def test_reference_passes_through_exec(
    exec_services: SampleServices, inventory: Scenario, tmp_path: Path
) -> None:
    runtime = await runtime_for(exec_services, inventory.reference_dir, tmp_path)
    try:
        score = await score_submission(runtime, inventory, 2.0)
    finally:
        runtime.close()
    assert values(score)["correct"] == 1, (score.explanation, score.metadata)
    assert values(score)["uptime"] == 1
    assert values(score)["correct_secure"] == 1


async def test_mutant_fails_through_exec(
    exec_services: SampleServices, inventory: Scenario, tmp_path: Path
) -> None:
    # the reference above faces the whole hidden suite and the schemathesis stage through exec;
    # here the mutant faces the hidden test file that catches it, without the fuzzing
    lean = lean_scenario(inventory, tmp_path / "lean", ("test_items.py",))
    source = mutant_copy(lean, "no-price-validation", tmp_path)
    runtime = await runtime_for(exec_services, source, tmp_path)
    try:
        score = await score_submission(runtime, lean, 2.0, robust=False)
    finally:
        runtime.close()
    assert values(score)["correct"] == 0
    failed = [t["name"] for t in (score.metadata or {})["failed_tests"]]
    assert "test_create_rejects_negative_price" in failed


async def test_empty_workspace_is_not_served_through_exec(
    exec_services: SampleServices, inventory: Scenario, tmp_path: Path
) -> None:
    runtime = await runtime_for(exec_services, None, tmp_path)
    try:
        score = await score_submission(runtime, inventory, 2.0)
    finally:
        runtime.close()
    assert values(score)["correct"] == 0 and "no start.sh" in (score.explanation or "")


def _archive(entries: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for info, data in entries:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def _entry(
    name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, link: str = ""
) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.linkname, info.uid = kind, mode, link, 4242
    return info


def test_untar_keeps_only_files_and_folders_inside_the_folder(tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    dest.mkdir()
    data = _archive([
        (_entry("./app", tarfile.DIRTYPE, 0o755), None),
        (_entry("./app/main.py", mode=0o6777), b"print('hi')\n"),
        (_entry("./passwd", tarfile.SYMTYPE, link="/etc/passwd"), None),
        (_entry("./hard", tarfile.LNKTYPE, link="/etc/shadow"), None),
        (_entry("./fifo", tarfile.FIFOTYPE), None),
        (_entry("../escape.txt"), b"out"),
        (_entry("/abs.txt"), b"out"),
    ])  # fmt: skip
    _untar_into(data, dest)
    main = dest / "app" / "main.py"
    assert main.read_text() == "print('hi')\n"
    assert main.stat().st_mode & 0o7777 == 0o755  # no set-id, no group/other write
    assert main.stat().st_uid == os.geteuid()  # never chowned to the archive's owner
    assert sorted(p.name for p in dest.iterdir()) == ["app"]
    assert not (tmp_path / "escape.txt").exists() and not Path("/abs.txt").exists()


async def test_a_submissions_processes_are_listed_and_killed_through_exec(
    exec_services: SampleServices, tmp_path: Path
) -> None:
    source = tmp_path / "two-processes"
    source.mkdir()
    start = source / "start.sh"
    # a worker beside the main process, named by the shell (start.sh's text does not hold it)
    start.write_text(
        "#!/usr/bin/env bash\nw=bb-exec\n(exec -a $w-worker sleep 120 >/dev/null 2>&1) &\n"
        "exec sleep 120\n"
    )
    start.chmod(0o755)
    runtime = await runtime_for(exec_services, source, tmp_path)
    try:
        proc = await runtime.spawn_submission(
            ["./start.sh"], env=await runtime.submission_env(), log=tmp_path / "server.log"
        )
        try:
            listed = await proc.processes()
            for _ in range(50):  # start.sh forks its worker as it starts: wait for it
                if len(listed) >= 2:
                    break
                await asyncio.sleep(0.1)
                listed = await proc.processes()
            workers = [p for p in listed if p["cmdline"].startswith("bb-exec-worker")]
            assert len(workers) == 1 and len(listed) == 2, listed
            assert all(p["peak_kib"] >= p["rss_kib"] > 0 for p in listed)
            assert await proc.kill_matching("bb-exec-worker") == [workers[0]["pid"]]
            assert await proc.kill_matching("bb-no-such-process") == []
            assert proc.returncode is None  # the main process runs on
        finally:
            await proc.kill()
    finally:
        runtime.close()
