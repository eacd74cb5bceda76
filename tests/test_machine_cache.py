"""What backbench makes once per machine (the PostgreSQL cluster template) when several processes
need it at once: two pytest-xdist workers, evals side by side on a fresh machine."""

from __future__ import annotations

import importlib.metadata
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from backbench.sandbox.services import _pg_bin, cache_dir

RACERS = 2
# each waits for the starting gun, then asks for the template
RACER = """import asyncio, sys, time
from pathlib import Path
from backbench.sandbox.services import _pg_template
gun = Path(sys.argv[1])
print("ready", flush=True)
while not gun.exists():
    time.sleep(0.01)
print(asyncio.run(_pg_template()))
"""


@pytest.fixture
def fresh_cache() -> Iterator[Path]:
    """An empty cache, but for the PostgreSQL binaries (the real cache's, linked)."""
    # under /tmp: the service account must reach it, and pytest's folders are root's alone
    cache = Path(tempfile.mkdtemp(prefix="bbc-", dir="/tmp"))
    cache.chmod(0o755)
    binaries = Path(_pg_bin("initdb")).parents[3]  # cache/pgserver-<version>
    (cache / binaries.name).symlink_to(binaries)
    yield cache
    subprocess.run(["rm", "-rf", str(cache)], check=False)


def start_racer(gun: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    argv = [sys.executable, "-c", RACER, str(gun)]
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_processes_that_race_for_the_template_all_get_it(fresh_cache: Path) -> None:
    gun = fresh_cache / "go"
    env = {**os.environ, "BACKBENCH_CACHE": str(fresh_cache)}
    racers = [start_racer(gun, env) for _ in range(RACERS)]
    for racer in racers:
        assert racer.stdout is not None and racer.stdout.readline() == "ready\n"
    gun.touch()
    outcomes = [racer.communicate(timeout=120) for racer in racers]
    assert [r.returncode for r in racers] == [0] * RACERS, outcomes
    template = fresh_cache / f"pg-template-{importlib.metadata.version('pgserver')}"
    assert {out.strip() for out, _ in outcomes} == {str(template)}, outcomes
    assert (template / "PG_VERSION").exists()
    # the losers' staging copies are gone
    assert sorted(p.name for p in fresh_cache.iterdir()) == sorted(
        ["go", template.name, Path(_pg_bin("initdb")).parents[3].name]
    )
    assert cache_dir() != fresh_cache  # the real cache is left as it was
