"""Which sandbox a task runs in: the `-T sandbox=` parameter."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

from inspect_ai.util import SandboxEnvironmentSpec

from backbench._inspect import DOCKER_COMPOSE_REQUIRED_VERSION, DOCKER_ENGINE_REQUIRED_VERSION
from backbench.sandbox.namespace import namespace_support

SANDBOXES_DIR = Path(__file__).resolve().parent.parent / "sandboxes"
CHOICES = ("auto", "docker", "namespace", "k8s", "local")
DOCKER_TIMEOUT = 10


def _version(text: str) -> tuple[int, int, int] | None:
    """(major, minor, patch) of "20.10.24+dfsg1", "v2.29.1" or "24.0"; None if none."""
    match = re.match(r"v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if match is None:
        return None
    return int(match[1]), int(match[2]), int(match[3] or 0)


def _docker_json(args: list[str]) -> tuple[dict[str, object] | None, str]:
    """`docker ARGS --format json` parsed, or None and the first line of what went wrong."""
    try:
        result = subprocess.run(
            ["docker", *args, "--format", "json"], capture_output=True, text=True,
            timeout=DOCKER_TIMEOUT, check=False,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired) as ex:
        return None, str(ex)
    try:
        parsed = json.loads(result.stdout)
    except ValueError:
        parsed = None
    if result.returncode != 0:
        first = (result.stderr.strip() or result.stdout.strip() or "no output").splitlines()[0]
        return None, f"exit {result.returncode}: {first}"
    if not isinstance(parsed, dict):
        return None, f"no JSON in its output: {result.stdout.strip()[:80]!r}"
    return parsed, ""


def docker_problem() -> str | None:
    """Why inspect's docker sandbox cannot run here, or None when it can.

    The same commands and minimum versions inspect checks when a sample starts: an engine that
    answers but is too old, or a client without Compose v2, would fail every sample.
    """
    if shutil.which("docker") is None:
        return "no docker command on PATH"
    engine_needed = _version(DOCKER_ENGINE_REQUIRED_VERSION)
    compose_needed = _version(DOCKER_COMPOSE_REQUIRED_VERSION)
    reply, failure = _docker_json(["version"])
    server = reply.get("Server") if reply else None
    engine = _version(str(server.get("Version", ""))) if isinstance(server, dict) else None
    if engine is None:
        return f"no Docker engine answers (docker version: {failure or 'no server version'})"
    if engine_needed and engine < engine_needed:
        return (
            f"Docker Engine {'.'.join(map(str, engine))} is older than "
            f"{DOCKER_ENGINE_REQUIRED_VERSION}, which inspect's docker sandbox requires"
        )
    reply, failure = _docker_json(["compose", "version"])
    compose = _version(str(reply.get("version", ""))) if reply else None
    if compose is None:
        return f"no Docker Compose v2 (docker compose version: {failure or 'no version'})"
    if compose_needed and compose < compose_needed:
        return (
            f"Docker Compose {'.'.join(map(str, compose))} is older than "
            f"{DOCKER_COMPOSE_REQUIRED_VERSION}, which inspect's docker sandbox requires"
        )
    return None


def _auto() -> str:
    """docker when inspect can use it, else namespace, saying why in one line."""
    problem = docker_problem()
    if problem is None:
        return "docker"
    print(f"backbench: sandbox=auto: namespace sandbox, not docker: {problem}", file=sys.stderr)
    return "namespace"


def resolve_sandbox(choice: str) -> SandboxEnvironmentSpec:
    """The sandbox spec for a `-T sandbox=` value; a clear error for an unusable choice."""
    if choice not in CHOICES:
        raise ValueError(f"unknown sandbox {choice!r}: use one of {', '.join(CHOICES)}")
    if choice == "auto":
        choice = _auto()
    if choice == "docker":
        return SandboxEnvironmentSpec("docker", str(SANDBOXES_DIR / "docker" / "compose.yaml"))
    if choice == "k8s":
        return SandboxEnvironmentSpec("k8s", str(SANDBOXES_DIR / "k8s" / "values.yaml"))
    if choice == "namespace":
        problem = namespace_support()
        if problem:
            raise RuntimeError(
                f"namespace sandbox unavailable: {problem} "
                "(or pass -T sandbox=local to run without isolation)"
            )
        return SandboxEnvironmentSpec("backbench-namespace")
    warnings.warn(
        "sandbox=local isolates nothing: the agent can read the hidden tests and reference "
        "solutions and reach other samples; use it only for trusted code",
        stacklevel=2,
    )
    return SandboxEnvironmentSpec("backbench-local")
