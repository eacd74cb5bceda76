"""Layer 2: the scorer against real submissions running in real sandboxes, both directions."""

from __future__ import annotations

import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from inspect_ai.scorer import Score

from backbench.catalogue import Scenario
from backbench.sandbox.local import BackbenchSandbox
from backbench.sandbox.pids import continue_all, stop_all, target_pids
from backbench.scoring.load_test import LoadEvidence
from backbench.scoring.scorer import load_stage, score_submission
from backbench.scoring.submission import RunningSubmission, start_submission, stop_submission
from backbench.scoring.verdict import SCORE_KEYS
from tests.conftest import (
    lean_scenario,
    mutant_copy,
    requires_namespace,
    values,
    write_submission,
)

pytestmark = [pytest.mark.anyio, requires_namespace]
LOAD_SECONDS = 2.0

MakeSandbox = Callable[..., Awaitable[BackbenchSandbox]]
# one hidden test file (21 tests, the named ones among them): the whole suite is run against the
# references and every mutant by test_e2e, test_validate_e2e and `backbench validate`
LEAN_TESTS = ("test_items.py",)


@pytest.fixture
def lean(inventory: Scenario, tmp_path: Path) -> Scenario:
    return lean_scenario(inventory, tmp_path, LEAN_TESTS)


def reference_copy(scenario: Scenario, dest: Path) -> Path:
    """A scratch copy of the scenario's reference solution."""
    return Path(
        shutil.copytree(scenario.reference_dir, dest, ignore=shutil.ignore_patterns("__pycache__"))
    )


async def score_dir(
    make: MakeSandbox, scenario: Scenario, source: Path | None, isolated: bool = True,
    robust: bool = False, baseline: bool = False,
) -> Score:  # fmt: skip
    env = await make(scenario, isolated)
    if source is not None:
        await write_submission(env, source)
    # the schemathesis stage (~35 s) and the reference's load beside the submission only where
    # their verdicts are the point
    return await score_submission(env, scenario, LOAD_SECONDS, robust, baseline)


async def load_with_start(
    make: MakeSandbox, scenario: Scenario, tmp_path: Path, start_sh: str, beside: bool = True
) -> tuple[BackbenchSandbox, RunningSubmission, LoadEvidence]:
    """The reference with `start_sh` as its start script, through the load stage alone."""
    source = reference_copy(scenario, tmp_path / "started")
    (source / "start.sh").write_text(start_sh)
    env = await make(scenario)
    await write_submission(env, source)
    running = await start_submission(env, {})
    try:
        evidence, _ = await load_stage(env, scenario, running, LOAD_SECONDS, {}, beside)
    finally:
        await stop_submission(env, running)
    return env, running, evidence


async def test_reference_passes_every_stage(sandbox_for: MakeSandbox, lean: Scenario) -> None:
    score = await score_dir(sandbox_for, lean, lean.reference_dir, robust=True, baseline=True)
    value = score.value
    assert isinstance(value, dict) and set(SCORE_KEYS) <= set(value)
    # the reference against itself, measured in the same slices of time
    assert 0.33 < value["p95_ratio"] < 3 and 0.33 < value["rps_ratio"] < 3
    assert value["correct"] == 1 and value["functional"] == 1.0
    assert value["correct_secure"] == 1 and value["exploits"] == 0
    assert value["uptime"] == 1.0 and value["slo_met"] == 1 and value["rps"] > 0
    assert value["quality"] > 0.5
    # the robust stage restarted the server: what it printed while the tests ran is kept apart
    assert isinstance((score.metadata or {}).get("server_log_during_tests"), str)


async def test_empty_workspace_is_not_served(sandbox_for: MakeSandbox, lean: Scenario) -> None:
    score = await score_dir(sandbox_for, lean, None)
    assert values(score)["correct"] == 0 and values(score)["functional"] == 0
    assert values(score)["uptime"] == 0 and values(score)["correct_secure"] == 0
    assert "no start.sh" in (score.explanation or "")


async def test_each_flaw_is_caught_by_its_own_check(
    sandbox_for: MakeSandbox, lean: Scenario, tmp_path: Path
) -> None:
    """Three mutants in one submission, each caught by the check it declares: a hidden test,
    the SQL injection probe and the authentication probe (one scoring instead of three; each
    check fires only on its own flaw, and each probe family is tested on its flaw alone and on
    its fixed twin in test_probes_families)."""
    source = mutant_copy(
        lean, "no-price-validation", tmp_path, "string-built-sql", "no-create-auth"
    )
    score = await score_dir(sandbox_for, lean, source)
    failed = [t["name"] for t in (score.metadata or {})["failed_tests"]]
    assert values(score)["correct"] == 0 and 0 < values(score)["functional"] < 1
    assert "test_create_rejects_negative_price" in failed
    exploited = (score.metadata or {})["exploited_probes"]
    assert "cwe-89" in exploited and "cwe-306" in exploited
    assert values(score)["exploits"] >= 2 and values(score)["secure"] == 0
    assert values(score)["correct_secure"] == 0


async def test_server_that_dies_under_load_loses_uptime(
    sandbox_for: MakeSandbox, lean: Scenario, tmp_path: Path
) -> None:
    source = reference_copy(lean, tmp_path / "dies")
    # the reference, exiting once it has served more requests than the functional tests send
    (source / "dying.py").write_text(
        "import os\n\nfrom app import app\n\nserved = 0\n\n\n"
        "@app.middleware('http')\nasync def die_after(request, call_next):\n"
        "    global served\n    served += 1\n    if served > 150:\n        os._exit(1)\n"
        "    return await call_next(request)\n"
    )
    (source / "start.sh").write_text(
        '#!/usr/bin/env bash\ncd "$(dirname "$0")"\n'
        'exec python3 -m uvicorn dying:app --host 127.0.0.1 --port "$PORT" --log-level warning\n'
    )
    (source / "start.sh").chmod(0o755)
    score = await score_dir(sandbox_for, lean, source)
    assert values(score)["uptime"] < 1 and "exited" in (score.explanation or "")


async def test_host_mode_scores_a_correct_submission_and_bandit_makes_it_insecure(
    sandbox_for: MakeSandbox, lean: Scenario, tmp_path: Path
) -> None:
    """The reference with a shell=True helper added, in the host-mode sandbox: correct and up,
    and insecure for bandit's high finding alone (one scoring for both points)."""
    source = reference_copy(lean, tmp_path / "with-shell")
    (source / "admin.py").write_text(
        "import subprocess\n\n\ndef run(cmd):\n    return subprocess.call(cmd, shell=True)\n"
    )
    score = await score_dir(sandbox_for, lean, source, isolated=False, baseline=True)
    assert values(score)["correct"] == 1 and values(score)["uptime"] == 1.0
    # the reference beside it, paused by the sample's marker here, not by a uid
    assert values(score)["slo_met"] == 1 and values(score)["p95_ratio"] > 0
    assert values(score)["bandit_high"] >= 1 and values(score)["exploits"] == 0
    assert values(score)["secure"] == 0 and values(score)["correct_secure"] == 0


# the reference plus a process of the submission's that notes the time every 20 ms
HEARTBEAT_START = """#!/usr/bin/env bash
cd "$(dirname "$0")"
python3 -c 'import time
while True:
    open("heartbeat.log", "a").write(f"{time.time()}\\n")
    time.sleep(0.02)' &
exec python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" --log-level warning
"""


def pauses(heartbeats: Path) -> int:
    """How many times the heartbeat stopped for 0.4 s or more."""
    beats = [float(line) for line in heartbeats.read_text().split()]
    return sum(1 for a, b in zip(beats, beats[1:], strict=False) if b - a >= 0.4)


@pytest.mark.parametrize("beside", [True, False], ids=["reference-beside", "no-baseline"])
async def test_the_submission_is_paused_while_the_reference_is_measured(
    sandbox_for: MakeSandbox, lean: Scenario, tmp_path: Path, beside: bool
) -> None:
    env, _, evidence = await load_with_start(sandbox_for, lean, tmp_path, HEARTBEAT_START, beside)
    stopped = pauses(env.workspace / "heartbeat.log")
    if beside:
        # slices of 0.5 s: in each of the reference's four, no process of the submission ran
        assert evidence.baseline and int(evidence.baseline["Request Count"]) > 0
        assert evidence.slices == 8 and stopped >= 3
    else:
        assert evidence.baseline is None and stopped == 0


# the reference plus a process of the submission's that looks for every port listening in its
# network namespace and connects to each, noting which it reached: the reference's port and
# servers among them, once the load stage starts them
REACHER_START = """#!/usr/bin/env bash
cd "$(dirname "$0")"
python3 -c 'import socket, time
def listening():
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in open(table).read().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A":
                yield int(local.rsplit(":", 1)[1], 16)
while True:
    for port in set(listening()):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            seen = "reached"
        except OSError:
            seen = "refused"
        open("reach.log", "a").write(f"{seen} {port}\\n")
    time.sleep(0.1)' &
exec python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" --log-level warning
"""


async def test_the_submission_cannot_reach_the_reference_beside_it(
    sandbox_for: MakeSandbox, lean: Scenario, tmp_path: Path
) -> None:
    env, running, evidence = await load_with_start(sandbox_for, lean, tmp_path, REACHER_START)
    assert evidence.baseline and int(evidence.baseline["Request Count"]) > 0
    seen = [line.split() for line in (env.workspace / "reach.log").read_text().splitlines()]
    reached = {int(port) for how, port in seen if how == "reached"}
    refused = {int(port) for how, port in seen if how == "refused"}
    # its own server and servers it reaches (the look works); the reference's port, its
    # PostgreSQL and its Redis it does not
    servers = [p for p in (env.services.postgres_port, env.services.redis_port) if p]
    assert servers and {int(running.env["PORT"]), *servers} <= reached
    assert len(refused) == 1 + len(servers) and not refused & reached


async def test_the_pause_takes_the_submissions_own_servers_with_it(
    sandbox_for: MakeSandbox, lean: Scenario
) -> None:
    """What the submission sent its PostgreSQL before a pause must not run on in the reference's
    slice: the pause target names the servers' processes too."""
    import psycopg

    env = await sandbox_for(lean)
    admin = env.services.admin_url("postgres")
    with psycopg.connect(admin, connect_timeout=2) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
    names = {Path(f"/proc/{pid}/comm").read_text().strip() for pid in target_pids(env.pause_target)}
    assert "postgres" in names
    stop_all(env.pause_target)
    try:
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(admin, connect_timeout=2)
    finally:
        continue_all(env.pause_target)
    with psycopg.connect(admin, connect_timeout=2) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)
