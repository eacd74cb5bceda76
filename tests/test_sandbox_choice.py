"""`-T sandbox=auto`: docker only when inspect can use the engine, else namespace, saying why.

Each case puts a fake `docker` program first on PATH that answers `docker version` and
`docker compose version` as a real client would for that machine; the check runs it for real.
The real `inspect eval` on an old engine is test_e2e's null run (one run fewer to start).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from backbench.sandbox.choice import docker_problem, resolve_sandbox
from tests.conftest import requires_namespace

NO_ENGINE = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock."
NO_COMPOSE = "docker: unknown command: docker compose"


def fake_docker(folder: Path, engine: str | None, compose: str | None) -> Path:
    """A `docker` program in folder/bin reporting that engine and Compose (None: absent)."""
    server = {"Version": engine} if engine else None
    version = json.dumps({"Client": {"Version": "28.2.2"}, "Server": server})
    lines = ["#!/bin/sh", 'if [ "$1" = version ]; then', f"  echo '{version}'"]
    lines += ["  exit 0"] if engine else [f"  echo '{NO_ENGINE}' >&2", "  exit 1"]
    lines += ["fi", 'if [ "$1" = compose ] && [ "$2" = version ]; then']
    if compose:
        lines += [f"""  echo '{{"version": "v{compose}"}}'""", "  exit 0"]
    else:
        lines += [f"  echo '{NO_COMPOSE}' >&2", "  exit 1"]
    lines += ["fi", "exit 1"]
    program = folder / "bin" / "docker"
    program.parent.mkdir(parents=True, exist_ok=True)
    program.write_text("\n".join(lines) + "\n")
    program.chmod(0o755)
    return program.parent


PutDocker = Callable[[str | None, str | None], None]


@pytest.fixture
def on_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> PutDocker:
    """Put a fake docker reporting (engine, compose) first on PATH."""

    def put(engine: str | None, compose: str | None) -> None:
        bin_dir = fake_docker(tmp_path, engine, compose)
        monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")

    return put


@pytest.mark.parametrize(
    ("engine", "compose", "problem"),
    [
        ("20.10.24+dfsg1", "2.29.1", "Docker Engine 20.10.24 is older than 24.0.6"),
        ("24.0.5", "2.29.1", "Docker Engine 24.0.5 is older than 24.0.6"),
        ("27.3.1", None, f"no Docker Compose v2 (docker compose version: exit 1: {NO_COMPOSE})"),
        ("27.3.1", "2.20.3", "Docker Compose 2.20.3 is older than 2.21.0"),
        (None, "2.29.1", f"no Docker engine answers (docker version: exit 1: {NO_ENGINE})"),
    ],
)
def test_an_engine_inspect_cannot_use_is_a_problem(
    on_path: PutDocker, engine: str | None, compose: str | None, problem: str
) -> None:
    on_path(engine, compose)
    assert problem in (docker_problem() or "")


def test_no_docker_command_is_a_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert docker_problem() == "no docker command on PATH"


@pytest.mark.parametrize(("engine", "compose"), [("24.0.6", "2.21.0"), ("28.2.2", "2.36.2")])
def test_auto_picks_docker_when_inspect_can_use_it(
    on_path: PutDocker, engine: str, compose: str, capsys: pytest.CaptureFixture[str]
) -> None:
    on_path(engine, compose)
    assert docker_problem() is None
    assert resolve_sandbox("auto").type == "docker"
    assert capsys.readouterr().err == ""


@requires_namespace
def test_auto_falls_back_to_namespace_in_one_line(
    on_path: PutDocker, capsys: pytest.CaptureFixture[str]
) -> None:
    on_path("20.10.24+dfsg1", None)
    assert resolve_sandbox("auto").type == "backbench-namespace"
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "namespace sandbox, not docker: Docker Engine 20.10.24 is older than 24.0.6" in err
