"""Which sandbox a task runs in: the `-T sandbox=` parameter."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

from inspect_ai.util import SandboxEnvironmentSpec

from backbench.sandbox.namespace import namespace_support

SANDBOXES_DIR = Path(__file__).resolve().parent.parent / "sandboxes"
CHOICES = ("auto", "docker", "namespace", "k8s", "local")


def docker_engine_answers() -> bool:
    """Whether a Docker engine answers `docker info` within a few seconds."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def resolve_sandbox(choice: str) -> SandboxEnvironmentSpec:
    """The sandbox spec for a `-T sandbox=` value; a clear error for an unusable choice."""
    if choice not in CHOICES:
        raise ValueError(f"unknown sandbox {choice!r}: use one of {', '.join(CHOICES)}")
    if choice == "auto":
        choice = "docker" if docker_engine_answers() else "namespace"
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
