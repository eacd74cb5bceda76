"""Scoring inside any inspect sandbox that offers exec, read_file and write_file (docker, k8s).

The harness's tools run inside the sandbox with a Python of their own (`harness_python`, which
the agent's PATH does not reach); the files a tool needs are mirrored from a host folder into a
root-only folder of the sandbox before it runs, and its outputs are copied back after. The
workspace is copied out once, for the static analysers, which run on this machine.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import shlex
import shutil
import sys
import tarfile
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from inspect_ai.util import ExecResult, SandboxEnvironment

from backbench import procinfo
from backbench.runtime.interface import CONTROL_STATE, HarnessError, SubmissionProcess
from backbench.sandbox.processes import run_capped

# run in the sandbox as a script by the harness's Python (an image may not install the package)
PROCINFO_SOURCE = Path(procinfo.__file__).read_text()

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
LOG_LIMIT = 256 * 1024
POLL_SECONDS = 0.2


@dataclass(frozen=True)
class ExecRuntimeConfig:
    """Where things are inside the sandbox image (defaults: sandboxes/docker/Dockerfile)."""

    workspace: str = "/workspace"
    harness_python: str = "/opt/harness-venv/bin/python"
    scoring_root: str = "/var/lib/backbench"
    port: int = 8000
    agent_user: str | None = "agent"  # runs start.sh; None: the sandbox's default user
    agent_uid: int | None = 1000  # whose leftover processes are killed before scoring
    tool_user: str | None = "root"  # runs the harness's tools; None: the default user
    database_url: str | None = None  # admin URL; None: the sandbox's $DATABASE_URL
    redis_url: str | None = None  # None: the sandbox's $REDIS_URL
    own_loopback: bool = True  # False: the sandbox shares this machine's loopback (tests)
    # argv run as the tool user inside the sandbox to stop / start a service for a hidden test,
    # e.g. {"postgres": {"stop": [...], "start": [...]}}; none: the tests cannot (docker: the
    # services are containers of their own, see sandboxes/README.md)
    service_commands: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def config_for(sandbox: SandboxEnvironment) -> ExecRuntimeConfig:
    """The configuration for a sandbox provider (sandboxes/docker and sandboxes/k8s)."""
    inner = getattr(sandbox, "_sandbox", sandbox)  # inspect's event-logging proxy
    if "k8s" in type(inner).__name__.lower():
        # inspect-k8s-sandbox switches users only in root containers; ours runs as the agent
        return ExecRuntimeConfig(agent_user=None, tool_user=None)
    return ExecRuntimeConfig()


def _tar_folder(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        tar.add(folder, arcname=".")
    return buffer.getvalue()


def _safe_target(folder: Path, name: str) -> Path | None:
    """Where a member named `name` lands in `folder`, or None if that is outside it."""
    relative = PurePosixPath(name)
    if relative.is_absolute() or ".." in relative.parts:
        return None
    target = folder.joinpath(*relative.parts)
    return target if target.resolve().is_relative_to(folder.resolve()) else None


def _untar_into(data: bytes, folder: Path) -> None:
    """Extract the regular files and folders of a gzipped tar that the sandbox made.

    Written out member by member rather than with extractall(filter="data"), which Python 3.11
    has only from 3.11.4 (Debian 12 ships 3.11.2). The archive comes from a sandbox the agent
    controlled, so links, devices, absolute paths and `..` are skipped (a link could point the
    static analysers or a later write outside the folder), set-id and group/other write bits
    are dropped, and nothing is chowned to the archive's owners.
    """
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar:
            target = _safe_target(folder, member.name)
            if target is None or not (member.isdir() or member.isfile()):
                continue
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            source = tar.extractfile(member)
            if source is None:
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)  # never write through a file already there
            with source, target.open("wb") as out:
                shutil.copyfileobj(source, out)
            target.chmod(member.mode & 0o755)


class ExecScoringRuntime:
    """backbench.runtime.ScoringRuntime over a generic inspect sandbox."""

    def __init__(self, sandbox: SandboxEnvironment, config: ExecRuntimeConfig) -> None:
        self.sandbox = sandbox
        self.config = config
        self.app_secret = uuid.uuid4().hex
        self._tmp = tempfile.TemporaryDirectory(prefix="backbench-score-")
        self.private = Path(self._tmp.name) / "private"
        self.workspace = Path(self._tmp.name) / "workspace"
        self.private.mkdir()
        self.workspace.mkdir()
        self.remote_private = f"{config.scoring_root}/{uuid.uuid4().hex[:12]}"
        self._admin_database_url = ""
        self.setup_seconds = 0.0  # inspect set the sandbox up; its time is not ours to know
        self.own_loopback = config.own_loopback

    async def prepare(self) -> None:
        """Copy the workspace out of the sandbox (for static analysis)."""
        archive = f"/tmp/backbench-ws-{uuid.uuid4().hex[:8]}.tgz"
        await self._root(f"tar czf {archive} -C {shlex.quote(self.config.workspace)} .")
        data = await self.sandbox.read_file(archive, text=False)
        await self._root(f"rm -f {archive}")
        _untar_into(data, self.workspace)

    def close(self) -> None:
        """Remove the host copies."""
        self._tmp.cleanup()

    async def _root(self, script: str, timeout: int = 120) -> ExecResult[str]:
        result = await self.sandbox.exec(
            ["sh", "-c", script], user=self.config.tool_user, timeout=timeout
        )
        if not result.success:
            raise HarnessError(f"sandbox command failed: {script[:80]}: {result.stderr[-400:]}")
        return result

    def _remote(self, host: Path) -> str:
        return f"{self.remote_private}/{host.relative_to(self.private)}"

    def _map(self, arg: str) -> str:
        if arg == sys.executable:
            return self.config.harness_python
        return arg.replace(str(self.private), self.remote_private)

    async def _push(self, host_dir: Path, remote_dir: str) -> None:
        archive = f"{self.config.scoring_root}/push-{uuid.uuid4().hex[:8]}.tgz"
        await self._root(f"mkdir -p {shlex.quote(self.config.scoring_root)} && "
                         f"chmod 700 {shlex.quote(self.config.scoring_root)}")  # fmt: skip
        await self.sandbox.write_file(archive, _tar_folder(host_dir))
        remote = shlex.quote(remote_dir)
        await self._root(f"mkdir -p {remote} && tar xzf {archive} -C {remote} && rm -f {archive}")

    async def _pull(self, remote_dir: str, host_dir: Path) -> None:
        archive = f"{self.config.scoring_root}/pull-{uuid.uuid4().hex[:8]}.tgz"
        await self._root(f"tar czf {archive} -C {shlex.quote(remote_dir)} .")
        data = await self.sandbox.read_file(archive, text=False)
        await self._root(f"rm -f {archive}")
        _untar_into(data, host_dir)

    async def run_tool(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
    ) -> ExecResult[str]:
        remote_cwd = self._remote(cwd)
        await self._push(cwd, remote_cwd)
        result = await self.sandbox.exec(
            [self._map(a) for a in argv], cwd=remote_cwd, env=self._tool_env(env),
            user=self.config.tool_user, timeout=int(timeout), timeout_retry=False,
        )  # fmt: skip
        await self._pull(remote_cwd, cwd)
        return result

    def _tool_env(self, env: dict[str, str]) -> dict[str, str]:
        return {
            "PATH": f"{Path(self.config.harness_python).parent}:{SYSTEM_PATH}",
            "HOME": self.remote_private,
            "PYTHONDONTWRITEBYTECODE": "1",
            **{k: self._map(v) for k, v in env.items()},
        }

    async def spawn_tool(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, log: Path
    ) -> SandboxProcess:
        remote_cwd = self._remote(cwd)
        await self._push(cwd, remote_cwd)
        remote_log = f"{self.remote_private}/tool-{uuid.uuid4().hex[:8]}.log"
        command = " ".join(shlex.quote(self._map(a)) for a in argv)
        # as the tool user (root in docker) in a session of its own: the agent cannot signal it
        script = (
            f"cd {shlex.quote(remote_cwd)} && "
            f"setsid {command} > {remote_log} 2>&1 < /dev/null & echo $!"
        )
        result = await self.sandbox.exec(
            ["sh", "-c", script], env=self._tool_env(env), user=self.config.tool_user, timeout=30
        )
        if not result.success or not result.stdout.strip().isdigit():
            raise HarnessError(f"could not start a harness tool: {result.stderr[-400:]}")
        return SandboxProcess(self, int(result.stdout.strip()), remote_log, log, argv)

    async def run_static(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
    ) -> ExecResult[str]:
        base = {"PATH": f"{Path(sys.executable).parent}:{SYSTEM_PATH}", "HOME": str(self.private)}
        return await run_capped(argv, env={**base, **env}, cwd=cwd, timeout=timeout)

    async def stop_agent_processes(self) -> None:
        uid = self.config.agent_uid
        if uid is None or uid == 0:
            return  # never sweep root's processes: the harness's own exec machinery runs as root
        # every process of the agent's uid but this shell and the container's own: PID 1 and,
        # when PID 1 is an init (compose's init: true, tini in k8s), its first child, the
        # container's command (tail, as the agent), whose end would stop the container
        script = (
            "me=$$; main=; case $(cat /proc/1/comm) in docker-init|tini|dumb-init) "
            "main=$(for d in /proc/[0-9]*; do s=$(sed 's/^.*) //' $d/stat 2>/dev/null) || "
            'continue; set -- $s; [ "$2" = 1 ] && echo "${20} ${d#/proc/}"; done '
            "| sort -n | head -n 1 | cut -d' ' -f2);; esac; "
            "for d in /proc/[0-9]*; do p=${d#/proc/}; "
            '[ "$p" = 1 ] || [ "$p" = "$me" ] || [ "$p" = "$main" ] && continue; '
            "u=$(sed -n 's/^Uid:[[:space:]]*\\([0-9]*\\).*/\\1/p' $d/status 2>/dev/null); "
            f'[ "$u" = "{uid}" ] && kill -9 "$p" 2>/dev/null; done; true'
        )
        await self.sandbox.exec(["sh", "-c", script], user=self.config.tool_user, timeout=60)

    async def _sandbox_env(self, name: str) -> str:
        result = await self.sandbox.exec(["sh", "-c", f'printf %s "${name}"'], timeout=30)
        return result.stdout.strip()

    async def submission_env(self) -> dict[str, str]:
        env = await self._fresh_env(self.config.port, "backbench_score", spare_redis=False)
        # the admin URL's role (the image's POSTGRES_USER, a superuser) on the same database
        self._admin_database_url = env.get("DATABASE_URL", "")
        return env

    async def agent_database_url(self) -> str:
        return await self._sandbox_env("DATABASE_URL")

    async def replace_workspace(self, folder: Path) -> None:
        remote = shlex.quote(self.config.workspace)
        staging = f"{self.config.scoring_root}/workspace-{uuid.uuid4().hex[:8]}"
        await self._push(folder, staging)
        user = shlex.quote(self.config.agent_user or "root")
        await self._root(
            f"find {remote} -mindepth 1 -delete && cp -a {shlex.quote(staging)}/. {remote}/ && "
            f"chown -R {user} {remote} && rm -rf {shlex.quote(staging)}"
        )
        shutil.rmtree(self.workspace, ignore_errors=True)
        shutil.copytree(folder, self.workspace, symlinks=True)

    async def baseline_env(self) -> dict[str, str]:
        env = await self._fresh_env(self.config.port + 2, "backbench_baseline", spare_redis=True)
        # the reference runs as a harness tool but on the agent's Python, which has the
        # frameworks (the harness's own environment need not)
        return {**env, "PATH": await self._sandbox_env("PATH") or SYSTEM_PATH}

    async def _fresh_env(self, port: int, database_name: str, spare_redis: bool) -> dict[str, str]:
        """PORT, APP_SECRET, an empty database `database_name` and a flushed Redis database
        (the sandbox's own, or with `spare_redis` the one after it)."""
        env = {"PORT": str(port), "APP_SECRET": self.app_secret}
        database = self.config.database_url or await self._sandbox_env("DATABASE_URL")
        if database:
            await self._root(
                f"psql {shlex.quote(database)} -v ON_ERROR_STOP=1 -q "
                f"-c 'DROP DATABASE IF EXISTS {database_name} WITH (FORCE)' "
                f"-c 'CREATE DATABASE {database_name}'"
            )
            env["DATABASE_URL"] = urlsplit(database)._replace(path=f"/{database_name}").geturl()
        redis_url = self.config.redis_url or await self._sandbox_env("REDIS_URL")
        if redis_url:
            if spare_redis:
                parts = urlsplit(redis_url)
                own = int(parts.path.strip("/") or 0)
                redis_url = parts._replace(path=f"/{(own + 1) % 16}").geturl()
            await self._root(f"redis-cli -u {shlex.quote(redis_url)} FLUSHDB >/dev/null")
            env["REDIS_URL"] = redis_url
        return env

    @property
    def pause_target(self) -> str:
        uid = self.config.agent_uid
        # an agent running as root cannot be told apart from the harness's exec machinery
        return f"uid:{uid}" if uid else ""

    def admin_database_url(self, database_url: str) -> str:
        return self._admin_database_url or database_url

    def port_for(self, name: str) -> int:
        return self.config.port + 1

    async def control_wrapper(
        self, proc: SubmissionProcess, env: dict[str, str], cwd: Path
    ) -> list[str] | None:
        if not isinstance(proc, SandboxProcess):
            raise HarnessError("the submission was not started by this runtime")
        spec = {
            "main": {"pid": proc.pid, "port": int(env["PORT"]), "log": proc.remote_log},
            "launch": {
                "argv": proc.argv, "env": await self._launch_env(env),
                "user": self.config.agent_user, "cwd": self.config.workspace,
            },
            "extra_port": self.config.port + 1,
            "services": self.config.service_commands,
        }  # fmt: skip
        (cwd / "launch.json").write_text(json.dumps(spec))
        return [
            sys.executable, "-I", "-m", "backbench.testkit.supervisor",
            "--spec", str(cwd / "launch.json"), "--state", str(cwd / CONTROL_STATE), "--",
        ]  # fmt: skip

    async def _launch_env(self, env: dict[str, str]) -> dict[str, str]:
        """The environment the submission gets from `exec` (the image's, plus `env`)."""
        result = await self.sandbox.exec(
            ["env", "-0"], env=env, user=self.config.agent_user, timeout=30
        )
        pairs = (item.split("=", 1) for item in result.stdout.split("\0") if "=" in item)
        return {**dict(pairs), **env}

    async def control_service(self, name: str, action: str) -> None:
        raise HarnessError("in exec sandboxes the supervisor controls the services")

    async def spawn_submission(
        self, argv: list[str], *, env: dict[str, str], log: Path
    ) -> SandboxProcess:
        remote_log = f"/tmp/backbench-server-{uuid.uuid4().hex[:8]}.log"
        command = " ".join(shlex.quote(a) for a in argv)
        # setsid: the server leads a process group of its own, killed whole at the end
        script = (
            f"cd {shlex.quote(self.config.workspace)} && "
            f"setsid {command} > {remote_log} 2>&1 < /dev/null & echo $!"
        )
        result = await self.sandbox.exec(
            ["sh", "-c", script], env=env, user=self.config.agent_user, timeout=30
        )
        if not result.success or not result.stdout.strip().isdigit():
            raise HarnessError(f"could not start the submission: {result.stderr[-400:]}")
        return SandboxProcess(self, int(result.stdout.strip()), remote_log, log, argv)


class SandboxProcess:
    """A submission running inside the sandbox, watched through exec."""

    def __init__(
        self, runtime: ExecScoringRuntime, pid: int, remote_log: str, log: Path, argv: list[str]
    ) -> None:
        self.runtime = runtime
        self.pid = pid
        self.argv = argv
        self.remote_log = remote_log
        self.log = log
        self._returncode: int | None = None

    @property
    def returncode(self) -> int | None:
        return self._returncode

    async def _alive(self) -> bool:
        result = await self.runtime.sandbox.exec(
            ["sh", "-c", f"kill -0 {self.pid} 2>/dev/null"], user=self.runtime.config.tool_user,
            timeout=30,
        )  # fmt: skip
        if not result.success:
            # the exit code of a process that is not our child is unknowable: -1
            self._returncode = -1
        return result.success

    async def wait(self) -> int:
        while await self._alive():
            await asyncio.sleep(POLL_SECONDS)
        return self._returncode if self._returncode is not None else -1

    async def _procinfo(self, *args: str) -> Any:
        """backbench.procinfo run in the sandbox on the harness's own Python, isolated (-I):
        the agent's python3 and its site-packages could report whatever memory it liked."""
        result = await self.runtime.sandbox.exec(
            [self.runtime.config.harness_python, "-I", "-c", PROCINFO_SOURCE, args[0],
             str(self.pid), *args[1:]],
            user=self.runtime.config.tool_user, timeout=30,
        )  # fmt: skip
        if not result.success:
            raise HarnessError(f"procinfo {args[0]} failed: {result.stderr[-300:]}")
        return json.loads(result.stdout)

    async def processes(self) -> list[dict[str, Any]]:
        return list(await self._procinfo("list"))

    async def kill_matching(self, word: str) -> list[int]:
        return [int(pid) for pid in await self._procinfo("kill", word)]

    async def send_signal(self, signum: int) -> None:
        await self.runtime.sandbox.exec(
            ["sh", "-c", f"kill -{signum} {self.pid} 2>/dev/null; true"],
            user=self.runtime.config.tool_user, timeout=30,
        )  # fmt: skip

    async def sync_log(self) -> None:
        """Copy the log out of the sandbox as it stands."""
        try:
            data = await self.runtime.sandbox.read_file(self.remote_log, text=False)
        except (FileNotFoundError, PermissionError):
            return
        self.log.write_bytes(data[:LOG_LIMIT])

    async def kill(self) -> None:
        # no `--`: dash's kill (Debian's sh) refuses it and then kills nothing
        await self.runtime.sandbox.exec(
            ["sh", "-c", f"kill -9 -{self.pid} {self.pid} 2>/dev/null; true"],
            user=self.runtime.config.tool_user, timeout=30,
        )  # fmt: skip
        # and what left the group but not the session or the tree (RQ's work horse)
        with contextlib.suppress(HarnessError, json.JSONDecodeError):
            await self._procinfo("killall")
        self._returncode = self._returncode if self._returncode is not None else -9
        try:
            data = await self.runtime.sandbox.read_file(self.remote_log, text=False)
        except (FileNotFoundError, PermissionError):
            data = b""
        self.log.write_bytes(data[:LOG_LIMIT])
