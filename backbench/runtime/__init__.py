"""The scoring runtime: one interface over every sandbox, chosen once per sample.

Dependencies point one way: tasks -> scoring -> runtime -> sandbox. The stages see only
`ScoringRuntime`; `scoring_runtime()` picks the implementation from the sample's sandbox.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from inspect_ai.util import SandboxEnvironment

from backbench.runtime.exec import ExecScoringRuntime, config_for
from backbench.runtime.interface import HarnessError, ScoringRuntime, SubmissionProcess
from backbench.sandbox.local import BackbenchSandbox

__all__ = ["HarnessError", "ScoringRuntime", "SubmissionProcess", "scoring_runtime"]


def own_sandbox(environment: SandboxEnvironment) -> BackbenchSandbox | None:
    """The backbench sandbox behind `environment` (inspect hands out a logging proxy), or None."""
    try:
        return environment.as_type(BackbenchSandbox)
    except TypeError:
        return None


@asynccontextmanager
async def scoring_runtime(environment: SandboxEnvironment) -> AsyncIterator[ScoringRuntime]:
    """The runtime for a sample's sandbox: the backbench sandbox itself, or exec for any other."""
    own = own_sandbox(environment)
    if own is not None:
        yield own
        return
    # docker, k8s or any other sandbox: the harness's tools run inside it through exec
    runtime = ExecScoringRuntime(environment, config_for(environment))
    try:
        await runtime.prepare()
        yield runtime
    finally:
        runtime.close()
