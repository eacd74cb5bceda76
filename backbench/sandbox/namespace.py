"""The `backbench-namespace` sandbox: one set of Linux namespaces per sample, built with bubblewrap.

A long-lived holder process (`bwrap ... sleep infinity`) owns the sample's namespaces:
- network: only a loopback, so every sample may use the same ports and none can reach another
  or leave the machine;
- mount: the system read-only, the Python the contract promises read-only, the workspace,
  HOME and /tmp the only writable places; the repository, hidden tests, reference solutions and
  other samples are not in the view at all;
- PID: ending the holder ends every process the sample started;
- IPC and UTS.
Every `exec` (the agent's tools and the submission alike) enters those namespaces with nsenter
as an unprivileged uid of the sample's own, with the sample's cgroup (memory, pids) and rlimits
(file size, processes). PostgreSQL and Redis run in the sample's network namespace but on the
harness's filesystem; harness tools (pytest, locust, probes) enter the network namespace only,
so they reach the server at 127.0.0.1 while reading hidden tests the agent never sees.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import resource
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from inspect_ai.util import sandboxenv

from backbench.sandbox.local import BackbenchSandbox
from backbench.sandbox.ports import free_port
from backbench.sandbox.processes import kill_group
from backbench.sandbox.services import services_root, start_services

WORKSPACE = "/workspace"
HOME = "/home/agent"
PORTS = {"dev": 8000, "submission": 8000, "postgres": 5432, "redis": 6379}
# Limits per sample (a fork storm, a memory hog or a disk filler stays inside its sample).
MEMORY_LIMIT = 4 * 1024**3
PIDS_LIMIT = 512
FILE_SIZE_LIMIT = 1024**3
CGROUP_DRAIN_SECONDS = 10.0
DISK_LIMIT = "2g"
UID_BASE = 100_000_000
UID_RANGE = 1_000_000_000
_uids_in_use: set[int] = set()


class NamespaceUnavailable(RuntimeError):
    """bubblewrap or namespaces are not usable here."""


def namespace_support() -> str | None:
    """Why the namespace sandbox cannot run on this machine, or None when it can."""
    if os.geteuid() != 0:
        return "the namespace sandbox needs root (it creates namespaces and per-sample uids)"
    for tool in ("bwrap", "nsenter"):
        if shutil.which(tool) is None:
            return f"{tool} not found: install it with `apt-get install bubblewrap util-linux`"
    return None


def _tool(name: str) -> str:
    path = shutil.which(name, path="/usr/bin:/bin:/usr/sbin:/sbin")
    if path is None:
        raise NamespaceUnavailable(f"{name} not found: apt-get install bubblewrap util-linux")
    return path


def _allocate_uid() -> int:
    # Drawn at random from a wide range: concurrent eval processes then never share a uid
    # (a uid shares its process limit), without any coordination between them.
    rng = random.SystemRandom()
    while True:
        uid = rng.randrange(UID_BASE, UID_BASE + UID_RANGE)
        if uid not in _uids_in_use:
            _uids_in_use.add(uid)
            return uid


def _system_binds() -> list[str]:
    """Read-only system folders for the mount view."""
    args: list[str] = []
    for name in ("usr", "etc", "opt"):
        if Path("/" + name).is_dir():
            args += ["--ro-bind", "/" + name, "/" + name]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/" + name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), "/" + name]
        elif path.is_dir():
            args += ["--ro-bind", "/" + name, "/" + name]
    return args


def _python_binds() -> list[str]:
    """The agent's Python, read-only: its virtualenv (maybe inside the repository, maybe under
    /tmp) and the Python it was made from. Only these folders of the repository become visible;
    they are bound last so that no other mount (such as the sample's /tmp) hides them."""
    args: list[str] = []
    interpreter = str(Path(sys.executable).resolve().parents[1])
    made: set[str] = set()
    for prefix in sorted({sys.prefix, sys.base_prefix, interpreter}):
        if prefix.startswith("/usr"):
            continue
        # bwrap makes missing parent folders private to root: make them traversable first
        for parent in reversed(Path(prefix).parents[:-1]):
            if str(parent) not in made:
                made.add(str(parent))
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", prefix, prefix]
    return args


class _Cgroups:
    """Per-sample cgroup v1/v2 limits where this machine lets us create them (best effort)."""

    def __init__(self, name: str) -> None:
        self.dirs: list[Path] = []
        for controller, files in (
            ("memory", {"memory.limit_in_bytes": str(MEMORY_LIMIT)}),
            ("pids", {"pids.max": str(PIDS_LIMIT)}),
        ):
            base = _cgroup_base(controller)
            if base is None:
                continue
            path = base / name
            try:
                path.mkdir(exist_ok=True)
                for file, value in files.items():
                    (path / file).write_text(value)
                self.dirs.append(path)
            except OSError:
                continue

    def join(self) -> None:
        """Move the calling process into every cgroup (runs in the child before exec)."""
        for path in self.dirs:
            with contextlib.suppress(OSError):
                (path / "cgroup.procs").write_text(str(os.getpid()))

    def kill_all(self) -> None:
        """SIGKILL every member until the cgroups are empty (dying processes take a while to
        free their memory, a full tmpfs especially)."""
        deadline = time.monotonic() + CGROUP_DRAIN_SECONDS
        while time.monotonic() < deadline:
            members = [pid for path in self.dirs for pid in _cgroup_members(path)]
            if not members:
                return
            for pid in members:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, 9)
            time.sleep(0.05)

    def remove(self) -> None:
        deadline = time.monotonic() + CGROUP_DRAIN_SECONDS
        for path in self.dirs:
            while path.exists():
                try:
                    path.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


def _cgroup_members(path: Path) -> list[int]:
    try:
        return [int(p) for p in (path / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def _cgroup_base(controller: str) -> Path | None:
    """The writable cgroup v1 folder of `controller` this process sits in, if any."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controller in controllers.split(","):
            base = Path("/sys/fs/cgroup") / controller / path.lstrip("/")
            return base if os.access(base, os.W_OK) else None
    return None


@sandboxenv(name="backbench-namespace")
class NamespaceSandbox(BackbenchSandbox):
    """A sample in namespaces of its own: see the module docstring."""

    own_loopback = True

    def __init__(self, root: Path, app_secret: str) -> None:
        super().__init__(root, app_secret)
        self.uid = _allocate_uid()
        self.target = 0  # a process inside all of the sample's namespaces
        self.holder: asyncio.subprocess.Process | None = None
        self.cgroups = _Cgroups(f"backbench-{root.name}")
        self.sandbox_root = root / "sandbox"  # size-limited: workspace, home, tmp

    @property
    def sandbox_workspace(self) -> str:
        return WORKSPACE

    @property
    def sandbox_home(self) -> str:
        return HOME

    def host_path(self, path: str) -> Path:
        # the holder's root is the sample's mount view, reachable from the host as root
        return Path(f"/proc/{self.target}/root") / path.lstrip("/")

    def own(self, path: Path) -> None:
        with contextlib.suppress(OSError):
            os.chown(path, self.uid, self.uid)

    def port_for(self, name: str) -> int:
        # any other port is free in the sample's own network namespace
        return PORTS.get(name) or free_port()

    def main_pid(self, pid: int) -> int:
        # `pid` is nsenter, which forks start.sh into the PID namespace and passes on its exit
        children = _children(pid)
        return children[0] if children else pid

    def _preexec(self) -> Callable[[], None]:
        cgroups = self.cgroups

        def limit() -> None:
            cgroups.join()
            resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
            # counted per uid, and every sample has its own uid
            resource.setrlimit(resource.RLIMIT_NPROC, (PIDS_LIMIT, PIDS_LIMIT))

        return limit

    def agent_command(self, cmd: list[str], cwd: str) -> tuple[list[str], Path]:
        # Every command joins the sample's cgroups and takes its rlimits before it enters the
        # namespaces: processes inherit both, whatever they fork.
        join = "".join(
            f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))} && " for d in self.cgroups.dirs
        )
        limits = [_tool("prlimit"), f"--nproc={PIDS_LIMIT}", f"--fsize={FILE_SIZE_LIMIT}", "--"]
        enter = [
            _tool("nsenter"), f"--target={self.target}", "--mount", "--net", "--pid", "--ipc",
            "--uts", "--root", f"--wdns={cwd}", f"--setuid={self.uid}", f"--setgid={self.uid}",
            "--",
        ]  # fmt: skip
        return ["/bin/sh", "-c", join + 'exec "$@"', "sh", *limits, *enter, *cmd], self.private

    def tool_command(self, argv: list[str]) -> list[str]:
        return [_tool("nsenter"), f"--target={self.target}", "--net", "--", *argv]

    def _netns_prefix(self, uid: int | None) -> list[str]:
        # services join the sample's PID namespace too, so they end with it even if the
        # harness is killed; their uid is not the agent's, so the agent cannot signal them
        ids = [] if uid is None else [f"--setuid={uid}", f"--setgid={uid}"]
        return [_tool("nsenter"), f"--target={self.target}", "--net", "--pid", *ids, "--"]

    async def setup(self, needs: list[str]) -> None:
        problem = namespace_support()
        if problem:
            raise NamespaceUnavailable(problem)
        for var in ("BACKBENCH_POSTGRES_URL", "BACKBENCH_REDIS_URL"):
            if os.environ.get(var):
                # a sample's network namespace has no route to the host's servers
                raise NamespaceUnavailable(f"{var} needs -T sandbox=local")
        self._mount_sandbox_tmpfs()
        for name in ("workspace", "home", "tmp", "shm"):
            (self.sandbox_root / name).mkdir(parents=True, exist_ok=True)
            os.chown(self.sandbox_root / name, self.uid, self.uid)
        # the harness's copy of the workspace path for static analysis
        self.workspace = self.sandbox_root / "workspace"
        await self._start_holder()
        self.services = await start_services(
            services_root(), needs, netns_prefix=self._netns_prefix, ports=PORTS
        )
        await self._finish_setup(needs)

    def _mount_sandbox_tmpfs(self) -> None:
        # a tmpfs of fixed size: a submission that fills its disk fills only this
        self.sandbox_root.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={DISK_LIMIT},mode=0755", "tmpfs",
             str(self.sandbox_root)],
            check=False, capture_output=True,
        )  # fmt: skip

    async def _start_holder(self) -> None:
        ws, home, tmp, shm = (
            str(self.sandbox_root / n) for n in ("workspace", "home", "tmp", "shm")
        )
        argv = [
            _tool("bwrap"), *_system_binds(),
            "--dev", "/dev", "--proc", "/proc",
            "--bind", shm, "/dev/shm",
            "--bind", tmp, "/tmp", "--perms", "0755", "--dir", "/var", "--bind", tmp, "/var/tmp",
            "--perms", "0755", "--dir", "/home", "--bind", home, HOME,
            "--bind", ws, WORKSPACE,
            *_python_binds(),
            "--remount-ro", "/",
            "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
            "--hostname", "sandbox", "--die-with-parent", "--new-session",
            "--chdir", WORKSPACE, "--", "sleep", "infinity",
        ]  # fmt: skip
        self.holder = await asyncio.create_subprocess_exec(
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(self.private / "holder.log", "wb"),
            start_new_session=True,
            preexec_fn=self._preexec(),
        )
        self.target = await _namespace_member(self.holder, self.private / "holder.log")

    async def teardown(self) -> None:
        self._cancel_log_tasks()
        self._kill_tools()
        if self.holder is not None and self.holder.returncode is None:
            kill_group(self.holder.pid)
            await self.holder.wait()
        await asyncio.to_thread(self.cgroups.kill_all)
        await self.services.stop()
        await asyncio.to_thread(self.cgroups.remove)
        subprocess.run(["umount", "-l", str(self.sandbox_root)], check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        _uids_in_use.discard(self.uid)

    async def stop_agent_processes(self) -> None:
        # every process of the sample's uid inside its PID namespace; the holder is root's
        await self.exec(["/bin/sh", "-c", "kill -9 -1 2>/dev/null; true"], timeout=30)


async def _namespace_member(holder: asyncio.subprocess.Process, log: Path) -> int:
    """The pid of `sleep infinity` inside the holder: a process in all of its namespaces."""
    for _ in range(200):
        if holder.returncode is not None:
            break
        inner = _children(holder.pid)
        for pid in inner:
            grandchildren = _children(pid)
            if grandchildren:
                return grandchildren[0]
        await asyncio.sleep(0.01)
    raise NamespaceUnavailable(
        f"bubblewrap did not start: {log.read_text(errors='replace')[-500:]}"
    )


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]
