"""Shared fixtures: real sandboxes with real services, and scratch submissions."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from inspect_ai.scorer import Score
from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

from backbench.catalogue import Scenario, find_scenario, load_scenario, tasks_dir
from backbench.catalogue_check import hidden_test_names, rule_matrix
from backbench.model import submission_files
from backbench.runtime.exec import ExecRuntimeConfig, ExecScoringRuntime
from backbench.sandbox.local import BackbenchSandbox
from backbench.sandbox.namespace import NamespaceSandbox, namespace_support
from backbench.sandbox.ports import free_port
from backbench.sandbox.services import (
    SampleServices,
    _pg_bin,
    _redis_server_bin,
    services_root,
    start_services,
)

# which tests share a pytest-xdist worker, and which are handed out first
pytest_plugins = ["tests.xdist_groups"]

REPO = Path(__file__).resolve().parent.parent
# the exec runtime on this machine's loopback takes its port and the next ones: the extra
# instances a hidden test starts (port + 1, + 2, ...) and the reference beside it (port + 2)
EXEC_PORT_SPAN = 4

requires_namespace = pytest.mark.skipif(
    namespace_support() is not None, reason=f"namespace sandbox: {namespace_support()}"
)


# `inspect eval` as users run it in a container (docker run --privileged, a Kubernetes job, a CI
# job's `container:`): in a PID namespace of its own, with its own /proc. --kill-child: the
# namespace ends with the command, even when a test's timeout kills it.
CONTAINER = ["unshare", "--fork", "--pid", "--mount-proc", "--kill-child", "--"]


@functools.cache
def container_prefix() -> tuple[str, ...]:
    """CONTAINER where this machine can make a PID namespace (root with unshare), else ()."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return ()
    probe = subprocess.run([*CONTAINER, "true"], capture_output=True, timeout=30, check=False)
    return tuple(CONTAINER) if probe.returncode == 0 else ()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def open_sandbox(scenario: Scenario, isolated: bool = True) -> BackbenchSandbox:
    """A sample's sandbox for `scenario`, set up as inspect would."""
    cls = NamespaceSandbox if isolated else BackbenchSandbox
    envs = await cls.sample_init("test", None, {"services": ",".join(scenario.services)})
    return envs["default"].as_type(BackbenchSandbox)


async def close_sandbox(env: BackbenchSandbox) -> None:
    await type(env).sample_cleanup("test", None, {"default": env}, False)


async def write_submission(env: BackbenchSandbox, source: Path) -> None:
    """Copy a submission's files into the sandbox workspace, keeping exec bits."""
    for rel in submission_files(source):
        await env.write_file(str(rel), (source / rel).read_bytes())
        if (source / rel).stat().st_mode & 0o111:
            env.host_path(env._resolve(str(rel))).chmod(0o755)


def mutant_copy(scenario: Scenario, mutant_name: str, dest: Path, *more: str) -> Path:
    """The reference with one mutant's patch applied (and those of the mutants `more`), in
    `dest`."""
    target = dest / "-".join([scenario.id, mutant_name, *more])
    shutil.copytree(scenario.reference_dir, target, ignore=shutil.ignore_patterns("__pycache__"))
    for name in (mutant_name, *more):
        patch = scenario.folder / "mutants" / f"{name}.patch"
        subprocess.run(
            ["patch", "-s", "-p1", "-d", str(target), "-i", str(patch)], check=True, timeout=30
        )
    return target


def lean_folder(folder: Path, keep: tuple[str, ...]) -> None:
    """Cut a scenario folder's hidden tests down to the files `keep` (helper modules stay), its
    rules to those the kept tests name and its mutants to those caught by a probe or a kept
    test, so the copy still passes `catalogue --check`.

    For tests whose point is not the hidden suite itself: the whole suite would add a minute
    of tests to each scoring and check nothing more. The references and every mutant face
    the whole suite in test_e2e and `backbench validate`.
    """
    for test_file in (folder / "tests").glob("test_*.py"):
        if test_file.name not in keep:
            test_file.unlink()
    assert {p.name for p in (folder / "tests").glob("test_*.py")} == set(keep), keep
    named = {rule for rules in rule_matrix(folder / "tests").values() for rule in rules}
    meta_file = folder / "scenario.yaml"
    meta = yaml.safe_load(meta_file.read_text())
    meta["rules"] = [rule for rule in meta.get("rules", []) if rule["id"] in named]
    tests = hidden_test_names(folder / "tests")
    meta["mutants"] = [
        m for m in meta.get("mutants", []) if m["catches"].get("test", next(iter(tests))) in tests
    ]
    meta_file.write_text(yaml.safe_dump(meta, sort_keys=False, allow_unicode=True))


def lean_tasks(dest: Path, scenario_id: str, keep: tuple[str, ...]) -> Path:
    """A scratch copy of the catalogue's tasks/ folder in `dest`, with one scenario cut down to
    the hidden test files `keep` (`lean_folder`); point BACKBENCH_TASKS_DIR at it."""
    shutil.copytree(tasks_dir(), dest, ignore=shutil.ignore_patterns("__pycache__"))
    [folder] = dest.glob(f"*/{scenario_id}")
    lean_folder(folder, keep)
    return dest


def lean_scenario(scenario: Scenario, dest: Path, keep: tuple[str, ...]) -> Scenario:
    """A copy of the scenario in `dest` with only the hidden test files `keep` (`lean_folder`)."""
    folder = dest / scenario.section / scenario.id
    shutil.copytree(scenario.folder, folder, ignore=shutil.ignore_patterns("__pycache__"))
    lean_folder(folder, keep)
    return load_scenario(folder)


def values(score: Score) -> dict[str, Any]:
    """A backbench Score's value dict."""
    assert isinstance(score.value, dict), score.value
    return score.value


@pytest.fixture
def inventory() -> Scenario:
    return find_scenario("inventory-crud")


@pytest.fixture
async def sandbox_for(request: pytest.FixtureRequest) -> AsyncIterator[object]:
    opened: list[BackbenchSandbox] = []

    async def make(scenario: Scenario, isolated: bool = True) -> BackbenchSandbox:
        env = await open_sandbox(scenario, isolated)
        opened.append(env)
        return env

    yield make
    for env in opened:
        await close_sandbox(env)


@pytest.fixture
async def exec_services(
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
    # agent_uid=None: on the host, sweeping uid 1000 would kill other users' processes (a
    # Docker container's, whose init runs as its image's uid 1000)
    config = ExecRuntimeConfig(
        workspace=str(workspace), harness_python=sys.executable, scoring_root=str(tmp / "score"),
        port=free_port(span=EXEC_PORT_SPAN), agent_user=None, agent_uid=None, tool_user=None,
        database_url=admin, redis_url=services.redis_url(),
    )  # fmt: skip
    runtime = ExecScoringRuntime(local, config)
    await runtime.prepare()
    return runtime
