"""Sandbox set-up: a harness that cannot keep the contract fails loudly, it never scores 0."""

import pytest

import backbench.sandbox.local as sandbox_module
from backbench.sandbox.choice import resolve_sandbox
from backbench.sandbox.local import BackbenchSandbox
from backbench.sandbox.namespace import NamespaceSandbox
from tests.conftest import requires_namespace

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize(
    "cls", [BackbenchSandbox, pytest.param(NamespaceSandbox, marks=requires_namespace)]
)
async def test_missing_promised_package_is_a_harness_error(
    cls: type[BackbenchSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_module, "PROMISED_MODULES", ["fastapi", "no_such_package_xyz"])
    with pytest.raises(RuntimeError, match="no_such_package_xyz"):
        await cls.sample_init("test", None, {"services": ""})


@pytest.mark.parametrize(
    "cls", [BackbenchSandbox, pytest.param(NamespaceSandbox, marks=requires_namespace)]
)
async def test_agent_environment_carries_the_contract_and_no_harness_secrets(
    cls: type[BackbenchSandbox], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-must-not-leak")
    envs = await cls.sample_init("test", None, {"services": "postgres,redis"})
    env = envs["default"]
    try:
        result = await env.exec(["bash", "--login", "-c", "env; python3 -c 'import fastapi'"])
        assert result.success, result.stderr
        assert "sk-must-not-leak" not in result.stdout
        for name in ("DATABASE_URL=postgresql://", "REDIS_URL=redis://", "APP_SECRET=", "PORT="):
            assert name in result.stdout
    finally:
        await cls.sample_cleanup("test", None, envs, False)


def test_unknown_sandbox_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sandbox"):
        resolve_sandbox("vm")


def test_local_sandbox_warns_that_nothing_is_isolated() -> None:
    with pytest.warns(UserWarning, match="isolates nothing"):
        assert resolve_sandbox("local").type == "backbench-local"
