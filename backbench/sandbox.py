"""The `backbench` sandbox: a per-sample workspace with its own PostgreSQL, Redis and port.

This is the host-mode sandbox: commands run on this machine as in inspect's `local` sandbox, but
each sample gets a workspace, a HOME, real services and loopback ports of its own, a clean
environment (no harness variables such as API keys), and every process it starts (daemons
included, found by an environment marker) is killed when the sample ends.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any, Literal, overload

from inspect_ai.util import ExecResult, SandboxEnvironment, SandboxEnvironmentConfigType, sandboxenv
from inspect_ai.util._sandbox._cli import SANDBOX_CLI  # the injected text_editor tools
from typing_extensions import override

from backbench.ports import free_port
from backbench.processes import kill_marked, run_capped
from backbench.services import SampleServices, start_services

MARKER = "BACKBENCH_SAMPLE"
# The agent's Python: the interpreter environment that holds the packages the contract promises.
AGENT_BIN = Path(sys.executable).parent
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@sandboxenv(name="backbench")
class BackbenchSandbox(SandboxEnvironment):
    """A sample's workspace, services and processes."""

    def __init__(self, root: Path, services: SampleServices, app_secret: str) -> None:
        super().__init__()
        self.root = root
        self.workspace = root / "workspace"
        self.home = root / "home"
        self.private = root / "private"  # harness-only: scoring files, logs
        self.services = services
        self.app_secret = app_secret
        self.marker = uuid.uuid4().hex
        self.dev_port = free_port()
        self._log_tasks: list[asyncio.Task[None]] = []
        for d in (self.workspace, self.home, self.private):
            d.mkdir(parents=True, exist_ok=True)
        self._write_profile()

    # -- lifecycle ---------------------------------------------------------------------------

    @override
    @classmethod
    async def sample_init(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        metadata: dict[str, str],
    ) -> dict[str, SandboxEnvironment]:
        root = Path(tempfile.mkdtemp(prefix="backbench-"))
        needs = _services_needed(metadata)
        services = await start_services(root / "services", needs)
        try:
            dev_db = await services.create_database("dev") if "postgres" in needs else ""
            env = cls(root, services, app_secret=uuid.uuid4().hex)
            env.dev_database_url = dev_db
            env._write_profile()
        except BaseException:
            await services.stop()
            shutil.rmtree(root, ignore_errors=True)
            raise
        return {"default": env}

    @override
    @classmethod
    async def sample_cleanup(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        environments: dict[str, SandboxEnvironment],
        interrupted: bool,
    ) -> None:
        for environment in environments.values():
            env = environment.as_type(BackbenchSandbox)
            await asyncio.to_thread(kill_marked, MARKER, env.marker)
            await env.services.stop()
            shutil.rmtree(env.root, ignore_errors=True)

    # -- the agent's view --------------------------------------------------------------------

    dev_database_url: str = ""

    def agent_env(self) -> dict[str, str]:
        """The environment every command of the agent sees: no harness variables."""
        env = {
            "HOME": str(self.home),
            "PATH": f"{AGENT_BIN}:{SYSTEM_PATH}",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            MARKER: self.marker,
            "PORT": str(self.dev_port),
            "APP_SECRET": self.app_secret,
        }
        if self.dev_database_url:
            env["DATABASE_URL"] = self.dev_database_url
        if self.services.redis_port or self.services.external_redis:
            env["REDIS_URL"] = self.services.redis_url()
        return env

    def _write_profile(self) -> None:
        # inspect's bash and python tools run `bash --login`, which resets PATH from
        # /etc/profile; the login profile puts the agent's Python and variables back.
        lines = [f"export {k}={_shell_quote(v)}" for k, v in self.agent_env().items()]
        lines.append(f"cd {_shell_quote(str(self.workspace))} 2>/dev/null || true")
        (self.home / ".bash_profile").write_text("\n".join(lines) + "\n")

    @override
    async def exec(
        self,
        cmd: list[str],
        input: str | bytes | None = None,
        cwd: str | None = None,
        env: dict[str, str] | None = None,
        user: str | None = None,
        timeout: int | None = None,
        timeout_retry: bool = True,
        concurrency: bool = True,
    ) -> ExecResult[str]:
        final_env = {**self.agent_env(), **(env or {})}
        if cmd and cmd[0] == SANDBOX_CLI:
            final_env["INSPECT_SANDBOX_TOOLS_DIR"] = str(self.private / "sandbox-tools")
        return await run_capped(
            cmd, env=final_env, cwd=self._resolve(cwd or "."), input=input, timeout=timeout
        )

    @override
    async def write_file(self, file: str, contents: str | bytes) -> None:
        path = Path(self._resolve(file))
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(contents, str):
            path.write_text(contents, encoding="utf-8")
        else:
            path.write_bytes(contents)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    @override
    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        path = Path(self._resolve(file))
        if text:
            return path.read_text(encoding="utf-8", newline="")
        return path.read_bytes()

    def default_polling_interval(self) -> float:
        return 0.2

    def _resolve(self, file: str) -> str:
        path = Path(file)
        return str(path if path.is_absolute() else self.workspace / path)

    # -- the harness's view (scorers.runtime.ScoringRuntime) ---------------------------------

    def harness_env(self) -> dict[str, str]:
        """Environment for harness tools (pytest, locust): the harness's Python, no workspace."""
        return {
            "PATH": f"{Path(sys.executable).parent}:{SYSTEM_PATH}",
            "HOME": str(self.private),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
            MARKER: self.marker,
        }

    async def run_tool(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
    ) -> ExecResult[str]:
        return await run_capped(argv, env={**self.harness_env(), **env}, cwd=cwd, timeout=timeout)

    async def spawn_submission(
        self, argv: list[str], *, env: dict[str, str], log: Path
    ) -> asyncio.subprocess.Process:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(self.workspace),
            env={**self.agent_env(), **env},
            start_new_session=True,
        )
        # drain its output into a capped log, so a flood can neither block it nor fill the disk
        self._log_tasks.append(asyncio.create_task(_drain_to_log(proc, log)))
        return proc

    async def submission_env(self) -> dict[str, str]:
        env = {"PORT": str(free_port()), "APP_SECRET": self.app_secret}
        if self.dev_database_url or self.services.external_postgres:
            env["DATABASE_URL"] = await self.services.create_database("score")
        if self.services.redis_port or self.services.external_redis:
            await self.services.flush_redis()
            env["REDIS_URL"] = self.services.redis_url()
        return env


LOG_LIMIT = 256 * 1024


async def _drain_to_log(proc: asyncio.subprocess.Process, log: Path) -> None:
    written = 0
    with log.open("wb") as out:
        while proc.stdout is not None and (chunk := await proc.stdout.read(65536)):
            if written < LOG_LIMIT:
                out.write(chunk[: LOG_LIMIT - written])
                written += len(chunk)


def _services_needed(metadata: dict[str, Any]) -> list[str]:
    services = metadata.get("services", [])
    if isinstance(services, str):
        services = [s for s in services.split(",") if s]
    return list(services)


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"
