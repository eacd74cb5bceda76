"""The scoring runtime for docker/k8s sandboxes, driven here over inspect's `local` sandbox.

No Docker engine runs on this machine; the same code path (tools run through `exec`, files
mirrored through `write_file`/`read_file`, the submission watched through `exec`) is exercised
against the local sandbox with real services, in both directions.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

from backbench.catalogue import Scenario
from backbench.runtime.exec import ExecRuntimeConfig, ExecScoringRuntime
from backbench.sandbox.ports import free_port
from backbench.sandbox.services import (
    SampleServices,
    _pg_bin,
    _redis_server_bin,
    services_root,
    start_services,
)
from backbench.scoring.scorer import score_submission
from tests.conftest import mutant_copy, values

pytestmark = pytest.mark.anyio


@pytest.fixture
async def services(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SampleServices]:
    # the local sandbox's commands see this process's PATH: the venv, psql and redis-cli
    tools = [str(Path(sys.executable).parent), str(Path(_pg_bin("psql")).parent),
             str(Path(_redis_server_bin()).parent)]  # fmt: skip
    monkeypatch.setenv("PATH", ":".join([*tools, os.environ["PATH"]]))
    started = await start_services(services_root(), ["postgres", "redis"])
    # as in the docker sandbox, the submission's role may create the scoring database
    await started.create_database("granted")
    import psycopg

    with psycopg.connect(started._admin_conninfo(), autocommit=True) as conn:
        conn.execute("ALTER ROLE app CREATEDB")
    yield started
    await started.stop()


async def runtime_for(
    services: SampleServices, source: Path | None, tmp: Path
) -> ExecScoringRuntime:
    local = LocalSandboxEnvironment()
    workspace = Path(local.directory.name)
    if source is not None:
        shutil.copytree(source, workspace, dirs_exist_ok=True)
    admin = services.database_url("granted")
    config = ExecRuntimeConfig(
        workspace=str(workspace), harness_python=sys.executable, scoring_root=str(tmp / "score"),
        port=free_port(), agent_user=None, tool_user=None, database_url=admin,
        redis_url=services.redis_url(),
    )  # fmt: skip
    runtime = ExecScoringRuntime(local, config)
    await runtime.prepare()
    return runtime


async def test_reference_passes_through_exec(
    services: SampleServices, inventory: Scenario, tmp_path: Path
) -> None:
    runtime = await runtime_for(services, inventory.reference_dir, tmp_path)
    try:
        score = await score_submission(runtime, inventory, 2.0)
    finally:
        runtime.close()
    assert values(score)["correct"] == 1, (score.explanation, score.metadata)
    assert values(score)["uptime"] == 1
    assert values(score)["correct_secure"] == 1


async def test_mutant_fails_through_exec(
    services: SampleServices, inventory: Scenario, tmp_path: Path
) -> None:
    source = mutant_copy(inventory, "no-price-validation", tmp_path)
    runtime = await runtime_for(services, source, tmp_path)
    try:
        score = await score_submission(runtime, inventory, 2.0)
    finally:
        runtime.close()
    assert values(score)["correct"] == 0
    failed = [t["name"] for t in (score.metadata or {})["failed_tests"]]
    assert "test_create_rejects_negative_price" in failed


async def test_empty_workspace_is_not_served_through_exec(
    services: SampleServices, inventory: Scenario, tmp_path: Path
) -> None:
    runtime = await runtime_for(services, None, tmp_path)
    try:
        score = await score_submission(runtime, inventory, 2.0)
    finally:
        runtime.close()
    assert values(score)["correct"] == 0 and "no start.sh" in (score.explanation or "")
