"""Sandboxes for backbench samples: a workspace with its own PostgreSQL, Redis and ports.

`backbench-local` (host mode) runs commands on this machine like inspect's `local` sandbox, but
each sample gets a workspace, a HOME, real services and loopback ports of its own, a clean
environment (no harness variables such as API keys), and every process it starts (daemons
included, found by an environment marker) is killed when the sample ends. It isolates nothing
else: `backbench.sandbox.namespace` subclasses it with Linux namespaces.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, overload

from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironment,
    SandboxEnvironmentConfigType,
    SandboxEnvironmentLimits,
    SandboxUserUnsupportedError,
    sandboxenv,
)
from typing_extensions import override

from backbench import procinfo
from backbench._inspect import SANDBOX_CLI
from backbench.sandbox.paths import empty_folder
from backbench.sandbox.ports import free_port
from backbench.sandbox.processes import kill_group, kill_marked, run_capped
from backbench.sandbox.services import (
    NetnsPrefix,
    SampleServices,
    die_with_parent,
    services_root,
    start_services,
)

MARKER = "BACKBENCH_SAMPLE"
# The agent's Python: the interpreter environment that holds the packages the contract promises.
AGENT_BIN = Path(sys.executable).parent
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOG_LIMIT = 256 * 1024
KILL_WAIT_SECONDS = 5.0
PROMISED_MODULES = ["fastapi", "uvicorn", "flask", "django", "sqlalchemy", "psycopg", "redis"]


@sandboxenv(name="backbench-local")
class BackbenchSandbox(SandboxEnvironment):
    """A sample's workspace, services and processes, on the host (no isolation)."""

    def __init__(self, root: Path, app_secret: str) -> None:
        super().__init__()
        self.root = root
        self.workspace = root / "workspace"  # host path of the agent's workspace
        self.private = root / "private"  # harness-only: hidden tests, reports, logs
        self.app_secret = app_secret
        self.marker = uuid.uuid4().hex
        self.services = SampleServices(root=root / "services")
        # the reference's own servers in the load stage, started on first use
        self.baseline_services: SampleServices | None = None
        self._baseline_port = 0
        self.dev_database_url = ""
        self._log_tasks: list[asyncio.Task[None]] = []
        self._tools: list[LocalProcess] = []  # long-running harness tools (the peers)
        for d in (self.workspace, self.private):
            d.mkdir(parents=True, exist_ok=True)

    # -- hooks a more isolated sandbox overrides -----------------------------------------------

    @property
    def sandbox_workspace(self) -> str:
        """The workspace path as the agent sees it."""
        return str(self.workspace)

    @property
    def sandbox_home(self) -> str:
        """HOME as the agent sees it."""
        return str(self.root / "home")

    def host_path(self, path: str) -> Path:
        """Where a path of the agent's filesystem is on the host."""
        return Path(path)

    def agent_command(self, cmd: list[str], cwd: str) -> tuple[list[str], Path]:
        """The host command and host cwd that run `cmd` as the agent, in `cwd` (agent path)."""
        return cmd, self.host_path(cwd)

    def tool_command(self, argv: list[str]) -> list[str]:
        """The host command that runs a harness tool where it can reach the submission."""
        return argv

    def port_for(self, name: str) -> int:
        """A loopback port for the dev server, the scored server, or a service."""
        return free_port()

    def service_prefix(self) -> NetnsPrefix | None:
        """How the sample's servers are started where the submission reaches them."""
        return None

    async def guard_from_agent(self, ports: list[int]) -> None:
        """Keep the agent's processes from connecting to `ports` (the reference's and its
        servers'). Here nothing can: the agent shares the harness's uid (see the README)."""

    @property
    def agent_pause_target(self) -> str:
        """Every process of the agent's (backbench.sandbox.pids): here, the sample's marker,
        since the agent shares the harness's uid."""
        return f"marker:{MARKER}={self.marker}"

    async def setup(self, needs: list[str]) -> None:
        """Start what the sample needs: services and the dev database."""
        (self.root / "home").mkdir(exist_ok=True)
        self.services = await start_services(services_root(), needs)
        await self._finish_setup(needs)

    async def _finish_setup(self, needs: list[str]) -> None:
        self.dev_port = self.port_for("dev")
        if "postgres" in needs:
            self.dev_database_url = await self.services.create_database("dev")
        self.write_profile()
        await self._check_agent_python()

    async def _check_agent_python(self) -> None:
        # the contract promises these packages: a sandbox whose Python lacks them is the
        # harness's failure, and must not be scored as the agent's
        check = (
            "import importlib.util, sys; "
            f"missing = [m for m in {PROMISED_MODULES!r} if importlib.util.find_spec(m) is None]; "
            "sys.exit(f'missing: {missing}' if missing else 0)"
        )
        probe = await self.exec(["bash", "--login", "-c", f'python3 -c "{check}"'], timeout=120)
        if not probe.success:
            raise RuntimeError(f"the agent's Python lacks promised packages: {probe.stderr[-400:]}")

    def _cancel_log_tasks(self) -> None:
        for task in self._log_tasks:
            task.cancel()

    def _kill_tools(self) -> None:
        # the scorer stops them itself; this is for a scorer that never got to
        for tool in self._tools:
            kill_group(tool.proc.pid)

    async def teardown(self) -> None:
        """Stop every process of the sample and remove its files."""
        self._cancel_log_tasks()
        self._kill_tools()
        await asyncio.to_thread(kill_marked, MARKER, self.marker)
        await self.stop_services()
        shutil.rmtree(self.root, ignore_errors=True)

    async def stop_services(self) -> None:
        """Stop the sample's servers and the reference's."""
        await self.services.stop()
        if self.baseline_services is not None:
            await self.baseline_services.stop()

    async def stop_agent_processes(self) -> None:
        """Kill whatever the agent left running, before its submission is started."""
        await asyncio.to_thread(kill_marked, MARKER, self.marker)

    # -- lifecycle -----------------------------------------------------------------------------

    @override
    @classmethod
    async def sample_init(
        cls,
        task_name: str,
        config: SandboxEnvironmentConfigType | None,
        metadata: dict[str, str],
    ) -> dict[str, SandboxEnvironment]:
        started = time.monotonic()
        env = cls(Path(tempfile.mkdtemp(prefix="backbench-")), app_secret=uuid.uuid4().hex)
        try:
            await env.setup(_services_needed(metadata))
        except BaseException:
            await env.teardown()
            raise
        env.setup_seconds = round(time.monotonic() - started, 2)
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
            await environment.as_type(BackbenchSandbox).teardown()

    # -- the agent's view ----------------------------------------------------------------------

    dev_port: int = 0
    setup_seconds: float = 0.0
    own_loopback: bool = False

    def agent_env(self) -> dict[str, str]:
        """The environment every command of the agent sees: no harness variables."""
        env = {
            "HOME": self.sandbox_home,
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

    def write_profile(self) -> None:
        """Write HOME/.bash_profile with the agent's PATH and variables."""
        # inspect's bash and python tools run `bash --login`, which resets PATH from
        # /etc/profile; the login profile puts the agent's Python and variables back.
        lines = [f"export {k}={_shell_quote(v)}" for k, v in self.agent_env().items()]
        lines.append(f"cd {_shell_quote(self.sandbox_workspace)} 2>/dev/null || true")
        profile = self.host_path(self.sandbox_home) / ".bash_profile"
        profile.write_text("\n".join(lines) + "\n")
        self.own(profile)

    def own(self, path: Path) -> None:
        """Give a file the harness wrote to the agent (a no-op on the host)."""

    def agent_users(self) -> set[str]:
        """The names and uids `exec(user=...)` accepts: the agent's own, and no other."""
        return {getpass.getuser(), str(os.geteuid())}

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
        if user is not None and user not in self.agent_users():
            raise SandboxUserUnsupportedError(
                f"this sandbox runs commands only as its agent's user, not as {user!r}"
            )
        final_env = {**self.agent_env(), **(env or {})}
        if cmd and cmd[0] == SANDBOX_CLI:
            final_env["INSPECT_SANDBOX_TOOLS_DIR"] = f"{self.sandbox_home}/.sandbox-tools"
        argv, host_cwd = self.agent_command(cmd, self._resolve(cwd or "."))
        result = await run_capped(argv, env=final_env, cwd=host_cwd, input=input, timeout=timeout)
        if result.returncode < 0:
            # killed by a signal: report it as a shell would (128 + the signal's number)
            result = ExecResult(
                success=False, returncode=128 - result.returncode, stdout=result.stdout,
                stderr=result.stderr,
            )  # fmt: skip
        return self.check_exec(cmd, result)

    def check_exec(self, cmd: list[str], result: ExecResult[str]) -> ExecResult[str]:
        """`result`, or the exception it stands for (a wrapper reports what exec raised)."""
        return result

    @override
    async def write_file(self, file: str, contents: str | bytes) -> None:
        path = self.host_path(self._resolve(file))
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(contents, str):
            path.write_text(contents, encoding="utf-8")
        else:
            path.write_bytes(contents)
        self.own(path)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    @override
    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        path = self.host_path(self._resolve(file))
        if path.is_file() and path.stat().st_size > SandboxEnvironmentLimits.MAX_READ_FILE_SIZE:
            raise OutputLimitExceededError(SandboxEnvironmentLimits.MAX_READ_FILE_SIZE_STR, None)
        if text:
            with path.open(encoding="utf-8", newline="") as f:
                return f.read()
        return path.read_bytes()

    def default_polling_interval(self) -> float:
        return 0.2

    def _resolve(self, file: str) -> str:
        """An agent path, relative ones taken from the workspace."""
        path = Path(file)
        return str(path if path.is_absolute() else Path(self.sandbox_workspace) / path)

    # -- the harness's view (backbench.runtime.ScoringRuntime) -----------------------------------

    def harness_env(self) -> dict[str, str]:
        """Environment for harness tools (pytest, locust): the harness's Python, no workspace."""
        return {
            "PATH": f"{Path(sys.executable).parent}:{SYSTEM_PATH}",
            "HOME": str(self.private),
            "LANG": "C.UTF-8",
            "PYTHONDONTWRITEBYTECODE": "1",
        }

    async def run_tool(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
    ) -> ExecResult[str]:
        return await run_capped(
            self.tool_command(argv), env={**self.harness_env(), **env}, cwd=cwd, timeout=timeout
        )

    async def run_static(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
    ) -> ExecResult[str]:
        return await run_capped(argv, env={**self.harness_env(), **env}, cwd=cwd, timeout=timeout)

    async def spawn_submission(
        self, argv: list[str], *, env: dict[str, str], log: Path
    ) -> LocalProcess:
        host_argv, host_cwd = self.agent_command(argv, self.sandbox_workspace)
        proc = await asyncio.create_subprocess_exec(
            *host_argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(host_cwd),
            env={**self.agent_env(), **env},
            start_new_session=True,
        )
        # drain its output into a capped log, so a flood can neither block it nor fill the disk
        self._log_tasks.append(asyncio.create_task(_drain_to_log(proc, log)))
        return LocalProcess(proc, self.main_pid)

    def main_pid(self, pid: int) -> int:
        """The submission's main process (start.sh), given the process this sandbox started."""
        return pid

    def admin_database_url(self, database_url: str) -> str:
        return self.services.admin_url(database_url.rsplit("/", 1)[-1])

    async def control_wrapper(
        self, proc: object, env: dict[str, str], cwd: Path
    ) -> list[str] | None:
        return None  # tools run on this machine: the harness serves the control channel

    async def control_service(self, name: str, action: str) -> None:
        if action in ("stop", "restart"):
            await self.services.stop_service(name)
        if action in ("start", "restart"):
            await self.services.start_service(name)

    async def spawn_tool(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, log: Path
    ) -> LocalProcess:
        proc = await asyncio.create_subprocess_exec(
            *self.tool_command(argv),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=str(cwd),
            env={**self.harness_env(), **env},
            start_new_session=True,
            preexec_fn=die_with_parent,  # never outlives the harness, whatever happens to it
        )
        self._log_tasks.append(asyncio.create_task(_drain_to_log(proc, log)))
        self._tools.append(LocalProcess(proc))
        return self._tools[-1]

    async def submission_env(self) -> dict[str, str]:
        env = {"PORT": str(self.port_for("submission")), "APP_SECRET": self.app_secret}
        if self.dev_database_url:
            env["DATABASE_URL"] = await self.services.create_database("score")
        if self.services.redis_port or self.services.external_redis:
            await self.services.flush_redis()
            env["REDIS_URL"] = self.services.redis_url()
        return env

    async def agent_database_url(self) -> str:
        return self.dev_database_url

    async def replace_workspace(self, folder: Path) -> None:
        # rmtree unlinks the agent's symlinks without following them, and the copy recreates
        # links as links: the harness never writes through a path the agent made
        empty_folder(self.workspace)
        shutil.copytree(folder, self.workspace, symlinks=True, dirs_exist_ok=True)
        for path in [self.workspace, *self.workspace.rglob("*")]:
            if not path.is_symlink():
                self.own(path)

    async def baseline_env(self) -> dict[str, str]:
        # The reference gets servers of its own, which the agent cannot reach (guard_from_agent,
        # before any of them listens) and which run on while the submission's are paused with
        # it: a submission cannot lock its yardstick's tables, pause its Redis or load its port.
        # External servers (host mode only) are shared: a database and a Redis database there.
        own = await self._baseline_services()
        env = {"PORT": str(self._baseline_port), "APP_SECRET": self.app_secret}
        if self.dev_database_url:
            server = own if own.postgres_port else self.services
            env["DATABASE_URL"] = await server.create_database("baseline")
        if own.redis_port:
            await own.flush_redis()
            env["REDIS_URL"] = own.redis_url()
        elif self.services.external_redis:
            db = self.services.spare_redis_db()
            await self.services.flush_redis(db)
            env["REDIS_URL"] = self.services.redis_url(db)
        return env

    async def _baseline_services(self) -> SampleServices:
        if self.baseline_services is None:
            ports = {name: self.port_for(f"baseline-{name}") for name in self.services.embedded}
            self._baseline_port = self.port_for("baseline")
            await self.guard_from_agent([self._baseline_port, *ports.values()])
            self.baseline_services = await start_services(
                services_root(), self.services.embedded, netns_prefix=self.service_prefix(),
                ports=ports,
            )  # fmt: skip
        return self.baseline_services

    @property
    def pause_target(self) -> str:
        # the agent's processes and the sample's own servers: work the submission sent them
        # before a pause would otherwise go on in the reference's slice
        sessions = [f"sid:{pid}" for pid in self.services.server_sessions()]
        return ",".join([self.agent_pause_target, *sessions])


class LocalProcess:
    """A submission started by this process (backbench.runtime.SubmissionProcess)."""

    def __init__(
        self, proc: asyncio.subprocess.Process, main_pid: Callable[[int], int] = int
    ) -> None:
        self.proc = proc
        self._main_pid = main_pid

    @property
    def returncode(self) -> int | None:
        return self.proc.returncode

    async def wait(self) -> int:
        return await self.proc.wait()

    async def sync_log(self) -> None:
        """Nothing to do: the process writes its log on this machine."""

    async def send_signal(self, signum: int) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._main_pid(self.proc.pid), signum)

    async def processes(self) -> list[dict[str, Any]]:
        # the group this sandbox started it in: start.sh and whatever it forks
        return procinfo.processes(self.proc.pid)

    async def kill_matching(self, word: str) -> list[int]:
        return procinfo.kill_matching(self.proc.pid, word)

    async def kill(self) -> None:
        kill_group(self.proc.pid)
        # what left the group (RQ's work horse calls setpgrp) but not the session or the tree
        procinfo.kill_members(self.proc.pid)
        # wait() also waits for the output pipe to close, which a process that left the group
        # can hold open: bound it (the sample's teardown sweeps such processes up)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), KILL_WAIT_SECONDS)


async def _drain_to_log(proc: asyncio.subprocess.Process, log: Path) -> None:
    written = 0
    with log.open("wb") as out:
        while proc.stdout is not None and (chunk := await proc.stdout.read(65536)):
            if written < LOG_LIMIT:
                out.write(chunk[: LOG_LIMIT - written])
                out.flush()
                written += len(chunk)


def _services_needed(metadata: dict[str, str]) -> list[str]:
    services: object = metadata.get("services", [])
    if isinstance(services, str):
        return [s for s in services.split(",") if s]
    return [str(s) for s in services] if isinstance(services, list) else []


def _shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"
