"""inspect's sandbox conformance checks (`inspect_ai.util._sandbox.self_check`), run against the
namespace sandbox: every check passes except those listed in XFAIL, each with its reason.

One sandbox serves the whole module (a sample's set-up takes about a second; the checks clean
up after themselves); `sandbox_env` is function-scoped so that it sees each check's name.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from inspect_ai.util import SandboxUserUnsupportedError
from inspect_ai.util._sandbox.self_check import *  # noqa: F403

from backbench.sandbox.local import BackbenchSandbox
from backbench.sandbox.namespace import NamespaceSandbox
from tests.conftest import requires_namespace

pytestmark = [pytest.mark.anyio, requires_namespace]

# The checks that cannot apply to this sandbox, and why. Each is a strict xfail: a check that
# starts passing fails the run, so this list cannot grow stale.
XFAIL: dict[str, tuple[str, type[Exception]]] = {
    # The sample has one user, the agent's: `user="root"` raises SandboxUserUnsupportedError
    # (as inspect's local sandbox does), because without a user namespace root inside the
    # sample's namespaces would be root on the host; and /etc is read-only, so adduser has
    # nowhere to add a user.
    "test_exec_as_user": (
        "the sample has one user, the agent's; root is refused",
        SandboxUserUnsupportedError,
    ),
}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def namespace_sandbox() -> AsyncIterator[BackbenchSandbox]:
    envs = await NamespaceSandbox.sample_init("self-check", None, {"services": ""})
    yield envs["default"].as_type(BackbenchSandbox)
    await NamespaceSandbox.sample_cleanup("self-check", None, envs, False)


@pytest.fixture
async def sandbox_env(
    namespace_sandbox: BackbenchSandbox, request: pytest.FixtureRequest
) -> AsyncIterator[BackbenchSandbox]:
    if request.node.originalname in XFAIL:
        reason, raises = XFAIL[request.node.originalname]
        request.node.add_marker(pytest.mark.xfail(reason=reason, raises=raises, strict=True))
    yield namespace_sandbox
