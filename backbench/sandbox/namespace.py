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
import errno
import os
import random
import resource
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Literal, overload

from inspect_ai.util import (
    ExecResult,
    OutputLimitExceededError,
    SandboxEnvironmentLimits,
    sandboxenv,
)
from typing_extensions import override

from backbench._inspect import PrerequisiteError
from backbench.sandbox.cgroups import (
    CGROUP_ROOT,
    CgroupLimitError,
    SampleCgroups,
    cgroup_plan,
    cgroup_version,
    limit_files,
    parse_membership,
)
from backbench.sandbox.local import BackbenchSandbox
from backbench.sandbox.ports import free_port
from backbench.sandbox.processes import kill_group
from backbench.sandbox.services import NetnsPrefix, services_root, start_services

WORKSPACE = "/workspace"
HOME = "/home/agent"
AGENT_USER = "agent"
PORTS = {"dev": 8000, "submission": 8000, "postgres": 5432, "redis": 6379}
# Limits per sample (a fork storm, a memory hog or a disk filler stays inside its sample).
MEMORY_LIMIT = 4 * 1024**3
PIDS_LIMIT = 512
FILE_SIZE_LIMIT = 1024**3
DISK_LIMIT = "2g"
FILE_TIMEOUT = 120
UID_BASE = 100_000_000
UID_RANGE = 1_000_000_000
_uids_in_use: set[int] = set()


class NamespaceUnavailable(RuntimeError):
    """bubblewrap or namespaces are not usable here."""


class SandboxLimitError(PrerequisiteError):
    """A limit the sandbox promises cannot be set here: inspect prints the one-line message."""

    def __init__(self, message: str) -> None:
        super().__init__(f"backbench: {message}")

    def __str__(self) -> str:
        return str(self.message)


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


def _cgroup_base(controller: str, root: Path = CGROUP_ROOT) -> Path | None:
    """The folder that holds samples' cgroups of `controller` on this machine, if any."""
    try:
        membership = parse_membership(Path("/proc/self/cgroup").read_text())
        plan = cgroup_plan(cgroup_version(root), membership, root, "x", MEMORY_LIMIT, PIDS_LIMIT)
    except (OSError, CgroupLimitError):
        return None
    files = set(limit_files(plan.version, MEMORY_LIMIT, PIDS_LIMIT)[controller])
    return next((path.parent for path, v in plan.limits.items() if files <= set(v)), None)


@sandboxenv(name="backbench-namespace")
class NamespaceSandbox(BackbenchSandbox):
    """A sample in namespaces of its own: see the module docstring."""

    own_loopback = True
    # where the sample's cgroups and disk limit go (a test points them where they cannot)
    cgroup_root: Path = CGROUP_ROOT
    disk_limit: str = DISK_LIMIT

    def __init__(self, root: Path, app_secret: str) -> None:
        super().__init__(root, app_secret)
        self.uid = _allocate_uid()
        self.target = 0  # a process inside all of the sample's namespaces
        self.holder: asyncio.subprocess.Process | None = None
        self.cgroups = SampleCgroups(f"backbench-{root.name}", self.cgroup_root)
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

    def agent_users(self) -> set[str]:
        return {AGENT_USER, str(self.uid)}

    # Files are read and written by a command of the agent's inside the sample's namespaces,
    # never by the harness through /proc/<pid>/root: there an absolute symlink the agent made
    # would lead to the host's files, and root's permissions would be used, not the agent's.

    @override
    async def write_file(self, file: str, contents: str | bytes) -> None:
        data = contents.encode("utf-8") if isinstance(contents, str) else contents
        # the path is absolute: its folder is everything before the last slash
        script = 'd="${1%/*}"; { [ -d "$d/" ] || mkdir -p -- "$d/"; } && exec cat > "$1"'
        await self._file_command(["/bin/sh", "-c", script, "sh", self._resolve(file)], file, data)

    @overload
    async def read_file(self, file: str, text: Literal[True] = True) -> str: ...

    @overload
    async def read_file(self, file: str, text: Literal[False]) -> bytes: ...

    @override
    async def read_file(self, file: str, text: bool = True) -> str | bytes:
        limit = SandboxEnvironmentLimits.MAX_READ_FILE_SIZE
        cmd = ["/usr/bin/head", "-c", str(limit + 1), "--", self._resolve(file)]
        data = await self._file_command(cmd, file)
        if len(data) > limit:
            raise OutputLimitExceededError(SandboxEnvironmentLimits.MAX_READ_FILE_SIZE_STR, None)
        return data.decode("utf-8") if text else data

    async def _file_command(self, cmd: list[str], file: str, data: bytes | None = None) -> bytes:
        """Run `cmd` as the agent; its stdout, or the OSError its failure stands for."""
        argv, cwd = self.agent_command(cmd, WORKSPACE)
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=subprocess.DEVNULL if data is None else subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=self.agent_env(),
            start_new_session=True,
        )  # fmt: skip
        try:
            out, err = await asyncio.wait_for(proc.communicate(data), FILE_TIMEOUT)
        except TimeoutError:
            kill_group(proc.pid)
            await proc.wait()
            raise
        if proc.returncode != 0:
            raise _file_error(err.decode(errors="replace"), file)
        return out

    def check_exec(self, cmd: list[str], result: ExecResult[str]) -> ExecResult[str]:
        # nsenter runs the command: its exec failing is an exit of 126 with this one line
        if cmd and result.returncode == 126:
            if result.stderr == f"nsenter: failed to execute {cmd[0]}: Permission denied\n":
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), cmd[0])
        return result

    def port_for(self, name: str) -> int:
        # any other port is free in the sample's own network namespace
        return PORTS.get(name) or free_port()

    @property
    def agent_pause_target(self) -> str:
        # the sample's uid is its own: no process of the agent can leave it
        return f"uid:{self.uid}"

    def service_prefix(self) -> NetnsPrefix | None:
        return self._netns_prefix

    async def guard_from_agent(self, ports: list[int]) -> None:
        # A rule of the sample's own network namespace: a connection from a socket of the
        # agent's uid to one of these ports is reset, whatever loopback address it names.
        for tool, family in (("iptables", "IPv4"), ("ip6tables", "IPv6")):
            found = shutil.which(tool, path="/usr/sbin:/sbin:/usr/bin:/bin")
            if found is None:
                raise SandboxLimitError(
                    f"{tool} not found: the namespace sandbox needs it to keep the agent from the"
                    " reference's ports; apt-get install iptables, or run with"
                    " -T load_baseline=none"
                )
            argv = [
                _tool("nsenter"), f"--target={self.target}", "--net", "--", found, "-w",
                "-A", "OUTPUT", "-o", "lo", "-p", "tcp", "-m", "owner", "--uid-owner",
                str(self.uid), "-m", "multiport", "--dports", ",".join(map(str, ports)),
                "-j", "REJECT", "--reject-with", "tcp-reset",
            ]  # fmt: skip
            done = await asyncio.to_thread(
                subprocess.run, argv, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise SandboxLimitError(
                    f"the namespace sandbox cannot keep the agent from the reference's ports"
                    f" ({family}, {tool}): {' '.join(done.stderr.split())[:300]}; install"
                    " iptables, or run with -T load_baseline=none"
                )

    def main_pid(self, pid: int) -> int:
        # `pid` is nsenter, which forks start.sh into the PID namespace and passes on its exit
        children = _children(pid)
        return children[0] if children else pid

    def _preexec(self) -> Callable[[], None]:
        cgroups = self.cgroups

        def limit() -> None:
            cgroups.join()  # raises where it cannot: the holder then does not start
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
        self._set_memory_and_process_limits()
        self._check_rlimits()
        self._mount_sandbox_tmpfs()
        self._write_user_database()
        for name in ("workspace", "home", "tmp", "shm"):
            (self.sandbox_root / name).mkdir(parents=True, exist_ok=True)
            os.chown(self.sandbox_root / name, self.uid, self.uid)
        # the harness's copy of the workspace path for static analysis
        self.workspace = self.sandbox_root / "workspace"
        await self._start_holder()
        self.services = await start_services(
            services_root(), needs, netns_prefix=self.service_prefix(), ports=PORTS
        )
        await self._finish_setup(needs)

    def _set_memory_and_process_limits(self) -> None:
        try:
            self.cgroups.create(MEMORY_LIMIT, PIDS_LIMIT)
        except CgroupLimitError as ex:
            raise SandboxLimitError(
                f"the namespace sandbox cannot set its memory ({MEMORY_LIMIT // 1024**3} GiB) and"
                f" process ({PIDS_LIMIT}) limits here: {ex}"
            ) from ex

    def _check_rlimits(self) -> None:
        # every command takes these through prlimit: a harness whose own hard limits are lower,
        # without the privilege to raise them, would have every command fail
        probe = subprocess.run(
            [_tool("prlimit"), f"--nproc={PIDS_LIMIT}", f"--fsize={FILE_SIZE_LIMIT}", "--", "true"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if probe.returncode != 0:
            raise SandboxLimitError(
                f"the namespace sandbox cannot set its file-size ({FILE_SIZE_LIMIT // 1024**3}"
                f" GiB) and process ({PIDS_LIMIT}) rlimits here: {' '.join(probe.stderr.split())}"
            )

    def _mount_sandbox_tmpfs(self) -> None:
        # a tmpfs of fixed size: a submission that fills its disk fills only this
        self.sandbox_root.mkdir(parents=True, exist_ok=True)
        mount = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={self.disk_limit},mode=0755", "tmpfs",
             str(self.sandbox_root)],
            check=False, capture_output=True, text=True,
        )  # fmt: skip
        problem = " ".join(mount.stderr.split()) or f"mount exited {mount.returncode}"
        if mount.returncode == 0:
            problem = _tmpfs_problem(self.sandbox_root, self.disk_limit)
        if problem:
            raise SandboxLimitError(
                f"the namespace sandbox cannot mount its {self.disk_limit} tmpfs at"
                f" {self.sandbox_root}: {problem}"
            )

    def _write_user_database(self) -> None:
        # the system's users and groups, and the agent's, for `whoami`, `id` and `~agent`
        for name, line in (
            ("passwd", f"{AGENT_USER}:x:{self.uid}:{self.uid}:backbench agent:{HOME}:/bin/bash"),
            ("group", f"{AGENT_USER}:x:{self.uid}:"),
        ):
            system = Path("/etc", name).read_text() if Path("/etc", name).is_file() else ""
            (self.private / name).write_text(system.rstrip("\n") + "\n" + line + "\n")

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
            "--ro-bind", str(self.private / "passwd"), "/etc/passwd",
            "--ro-bind", str(self.private / "group"), "/etc/group",
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
        await self.stop_services()
        await asyncio.to_thread(self.cgroups.remove)
        subprocess.run(["umount", "-l", str(self.sandbox_root)], check=False, capture_output=True)
        shutil.rmtree(self.root, ignore_errors=True)
        _uids_in_use.discard(self.uid)

    async def stop_agent_processes(self) -> None:
        # every process of the sample's uid inside its PID namespace; the holder is root's
        await self.exec(["/bin/sh", "-c", "kill -9 -1 2>/dev/null; true"], timeout=30)


def _tmpfs_problem(path: Path, size: str) -> str:
    """What is wrong with the tmpfs at `path` given `size` ("2g"), or "" if nothing."""
    units = {"k": 1024, "m": 1024**2, "g": 1024**3}
    wanted = int(size[:-1]) * units[size[-1]] if size[-1] in units else int(size)
    if not os.path.ismount(path):
        return "nothing is mounted there"
    vfs = os.statvfs(path)
    found = vfs.f_blocks * vfs.f_frsize
    return "" if found == wanted else f"it holds {found} bytes, not {wanted}"


def _file_error(stderr: str, file: str) -> OSError:
    """The exception a failed read or write by `head`, `sh` or `mkdir` stands for."""
    stderr = stderr.replace("Directory nonexistent", os.strerror(errno.ENOENT))  # dash's words
    for code in (errno.ENOENT, errno.EACCES, errno.EISDIR, errno.ENOTDIR, errno.EROFS,
                 errno.ENOSPC, errno.EFBIG):  # fmt: skip
        if os.strerror(code) in stderr:
            return OSError(code, os.strerror(code), file)  # OSError picks the subclass
    return OSError(errno.EIO, f"{os.strerror(errno.EIO)} ({' '.join(stderr.split())[:200]})", file)


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
