"""A sample's memory and process limits as a cgroup, on cgroup v1 or v2.

cgroup v1 has one hierarchy per controller (`/sys/fs/cgroup/memory/...`, `/sys/fs/cgroup/pids/...`)
and the sample gets a folder in each; cgroup v2 has one unified hierarchy (`cgroup.controllers`
at its root) and the sample gets one folder, below the harness's own cgroup, whose controllers
the harness must first enable in `cgroup.subtree_control`. Where to put what is decided by pure
functions (`cgroup_plan`); `SampleCgroups` does the writing and refuses, with one line, to go on
without a limit it could not set.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
DRAIN_SECONDS = 10.0


class CgroupLimitError(RuntimeError):
    """A limit the sandbox promises could not be set on this machine."""


@dataclass(frozen=True)
class CgroupPlan:
    """The folders of a sample's cgroup and what to write in each; on cgroup v2 also the
    folders above it, in order, whose children must be given the controllers first."""

    version: int
    limits: dict[Path, dict[str, str]]
    delegate: tuple[Path, ...] = ()
    controllers: tuple[str, ...] = ()


def parse_membership(proc_cgroup: str) -> dict[str, str]:
    """/proc/<pid>/cgroup as {controller: path}; the v2 hierarchy's line is under ""."""
    found: dict[str, str] = {}
    for line in proc_cgroup.splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            found[controller.removeprefix("name=")] = path
    return found


def limit_files(version: int, memory: int, pids: int) -> dict[str, dict[str, str]]:
    """The control files, per controller, that hold the memory and process limits."""
    if version == 1:
        return {"memory": {"memory.limit_in_bytes": str(memory)}, "pids": {"pids.max": str(pids)}}
    return {"memory": {"memory.max": str(memory)}, "pids": {"pids.max": str(pids)}}


def cgroup_plan(
    version: int, membership: dict[str, str], root: Path, name: str, memory: int, pids: int
) -> CgroupPlan:
    """Where the sample's cgroup `name` goes, below the harness's own cgroup(s)."""
    files = limit_files(version, memory, pids)
    if version == 1:
        limits = {}
        for controller, values in files.items():
            if controller not in membership:
                raise CgroupLimitError(f"cgroup v1: no {controller} hierarchy in /proc/self/cgroup")
            base = root / controller / membership[controller].lstrip("/")
            limits[base / name] = values
        return CgroupPlan(1, limits)
    # v2: below a folder of backbench's own at the top, as Docker's cgroupfs driver does
    # (/sys/fs/cgroup/docker): the harness's own cgroup usually holds processes, and v2 lets
    # only a cgroup without processes give controllers to its children
    parent = root / "backbench"
    merged = {file: value for values in files.values() for file, value in values.items()}
    return CgroupPlan(2, {parent / name: merged}, (root, parent), tuple(files))


def cgroup_version(root: Path) -> int:
    """2 where `root` is a unified hierarchy, else 1 (v1, or the hybrid layout's v1 part)."""
    return 2 if (root / "cgroup.controllers").is_file() else 1


def _write(path: Path, value: str) -> None:
    # never create a control file: a missing one means the controller is not there
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)


def _reason(ex: OSError) -> str:
    return ex.strerror or errno.errorcode.get(ex.errno or 0, str(ex))


@dataclass
class SampleCgroups:
    """A sample's cgroup(s): nothing exists until `create()`."""

    name: str
    root: Path = CGROUP_ROOT
    dirs: list[Path] = field(default_factory=list)

    def create(self, memory: int, pids: int) -> None:
        """Make the cgroup(s) and set both limits, or raise CgroupLimitError saying why not."""
        version = cgroup_version(self.root)
        try:
            membership = parse_membership(Path("/proc/self/cgroup").read_text())
        except OSError as ex:
            raise CgroupLimitError(f"cannot read /proc/self/cgroup ({_reason(ex)})") from ex
        plan = cgroup_plan(version, membership, self.root, self.name, memory, pids)
        for parent in plan.delegate:
            _delegate(parent, plan.controllers)
        for path, values in plan.limits.items():
            try:
                path.mkdir()
            except FileExistsError:
                pass
            except OSError as ex:
                raise CgroupLimitError(
                    f"cgroup v{version}: cannot create {path} ({_reason(ex)})"
                ) from ex
            self.dirs.append(path)
            for file, value in values.items():
                try:
                    _write(path / file, value)
                except OSError as ex:
                    raise CgroupLimitError(
                        f"cgroup v{version}: cannot set {path / file} to {value} ({_reason(ex)})"
                    ) from ex

    def join(self) -> None:
        """Move the calling process into the cgroup(s) (runs in a child before it execs)."""
        for path in self.dirs:
            _write(path / "cgroup.procs", str(os.getpid()))

    def members(self) -> list[int]:
        found: list[int] = []
        for path in self.dirs:
            with contextlib.suppress(OSError):
                # cgroup v2 lists a member outside this PID namespace as 0, and os.kill(0)
                # would signal the harness's own process group
                found += [p for p in map(int, (path / "cgroup.procs").read_text().split()) if p > 0]
        return found

    def kill_all(self) -> None:
        """SIGKILL every member until the cgroups are empty (dying processes take a while to
        free their memory, a full tmpfs especially)."""
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            members = self.members()
            if not members:
                return
            for pid in members:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, 9)
            time.sleep(0.05)

    def remove(self) -> None:
        deadline = time.monotonic() + DRAIN_SECONDS
        for path in self.dirs:
            while path.exists():
                try:
                    path.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


def _delegate(parent: Path, controllers: tuple[str, ...]) -> None:
    """cgroup v2: make `parent` if need be, and give its children `controllers`."""
    try:
        parent.mkdir(exist_ok=True)
        available = (parent / "cgroup.controllers").read_text().split()
        enabled = (parent / "cgroup.subtree_control").read_text().split()
    except OSError as ex:
        raise CgroupLimitError(f"cgroup v2: cannot use {parent} ({_reason(ex)})") from ex
    missing = [c for c in controllers if c not in available]
    if missing:
        raise CgroupLimitError(
            f"cgroup v2: no {', '.join(missing)} controller in {parent} (its cgroup.controllers"
            f" lists {' '.join(available) or 'nothing'})"
        )
    wanted = " ".join(f"+{c}" for c in controllers if c not in enabled)
    if not wanted:
        return
    try:
        _write(parent / "cgroup.subtree_control", wanted)
    except OSError as ex:
        # EBUSY: `parent` holds processes itself (in a container, its own cgroup often does)
        raise CgroupLimitError(
            f"cgroup v2: cannot enable {wanted} in {parent}/cgroup.subtree_control"
            f" ({_reason(ex)}); it must hold no processes itself"
        ) from ex
