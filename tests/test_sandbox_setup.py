"""Sandbox set-up: a harness that cannot keep the contract fails loudly, it never scores 0."""

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from inspect_ai.util import SandboxUserUnsupportedError

import backbench.sandbox.local as sandbox_module
from backbench.sandbox.cgroups import (
    CGROUP_ROOT,
    CgroupLimitError,
    SampleCgroups,
    cgroup_plan,
    cgroup_version,
    parse_membership,
)
from backbench.sandbox.choice import resolve_sandbox
from backbench.sandbox.local import BackbenchSandbox
from backbench.sandbox.namespace import (
    MEMORY_LIMIT,
    PIDS_LIMIT,
    NamespaceSandbox,
    SandboxLimitError,
)
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


@requires_namespace
async def test_the_agent_has_a_name_and_no_other_user_is_taken() -> None:
    envs = await NamespaceSandbox.sample_init("test", None, {"services": ""})
    env = envs["default"].as_type(NamespaceSandbox)
    try:
        for user in (None, "agent", str(env.uid)):
            assert (await env.exec(["sh", "-c", "whoami; id -u"], user=user)).stdout.split() == [
                "agent",
                str(env.uid),
            ]
        for user in ("root", "0", "nobody"):
            with pytest.raises(SandboxUserUnsupportedError, match=repr(user)):
                await env.exec(["whoami"], user=user)
    finally:
        await NamespaceSandbox.sample_cleanup("test", None, envs, False)


@requires_namespace
async def test_symlinks_the_agent_makes_never_lead_the_harness_to_the_hosts_files(
    tmp_path: Path,
) -> None:
    # read_file and write_file once opened /proc/<pid>/root/<path> as root, where an absolute
    # symlink resolves on the host: the agent could have the harness read or overwrite any file
    secret, victim = tmp_path / "secret", tmp_path / "victim"
    secret.write_text("host only")
    victim.write_text("untouched")
    envs = await NamespaceSandbox.sample_init("test", None, {"services": ""})
    env = envs["default"].as_type(NamespaceSandbox)
    try:
        made = await env.exec(["ln", "-s", str(secret), str(victim), "/tmp"])
        assert made.success, made.stderr
        with pytest.raises(FileNotFoundError, match="secret"):
            await env.read_file(f"/tmp/{secret.name}")
        with pytest.raises(FileNotFoundError, match="victim"):
            await env.write_file(f"/tmp/{victim.name}", "overwritten")
        with pytest.raises(OSError, match="Read-only file system"):
            await env.write_file("/etc/backbench-was-here", "no")
    finally:
        await NamespaceSandbox.sample_cleanup("test", None, envs, False)
    assert victim.read_text() == "untouched"
    assert not Path("/etc/backbench-was-here").exists()


def test_unknown_sandbox_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown sandbox"):
        resolve_sandbox("vm")


def test_local_sandbox_warns_that_nothing_is_isolated() -> None:
    with pytest.warns(UserWarning, match="isolates nothing"):
        assert resolve_sandbox("local").type == "backbench-local"


# -- the memory and process limits, on cgroup v1 and v2 --------------------------------------


def v2_lookalike(root: Path, name: str, enabled: str = "") -> Path:
    """The files a v2 kernel shows once `name` is made below root/backbench: plain files."""
    for folder in (root, root / "backbench"):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cgroup.controllers").write_text("cpuset cpu io memory hugetlb pids\n")
        (folder / "cgroup.subtree_control").write_text(enabled)
    (root / "backbench" / name).mkdir()
    for file in ("memory.max", "pids.max", "cgroup.procs"):
        (root / "backbench" / name / file).write_text("")
    return root


V1_SELF = "9:name=systemd:/\n8:pids:/\n4:memory:/process_api/abc\n1:cpu,cpuacct:/\n0::/\n"
V2_SELF = "0::/user.slice/user-0.slice/session-3.scope\n"
# on a hybrid machine (v1 controllers, an empty v2 hierarchy beside them), a real v2 hierarchy
UNIFIED = CGROUP_ROOT / "unified"


def test_membership_is_read_from_both_layouts() -> None:
    assert parse_membership(V1_SELF) == {
        "systemd": "/", "pids": "/", "memory": "/process_api/abc", "cpu": "/", "cpuacct": "/",
        "": "/",
    }  # fmt: skip
    assert parse_membership(V2_SELF) == {"": "/user.slice/user-0.slice/session-3.scope"}


def test_cgroup_v1_limits_go_below_the_harness_in_each_controllers_hierarchy() -> None:
    root = Path("/sys/fs/cgroup")
    plan = cgroup_plan(1, parse_membership(V1_SELF), root, "s1", MEMORY_LIMIT, PIDS_LIMIT)
    assert plan.limits == {
        root / "memory/process_api/abc/s1": {"memory.limit_in_bytes": str(4 * 1024**3)},
        root / "pids/s1": {"pids.max": "512"},
    }
    assert plan.delegate == ()


def test_cgroup_v2_limits_go_in_one_folder_whose_parents_delegate_the_controllers() -> None:
    root = Path("/sys/fs/cgroup")
    plan = cgroup_plan(2, parse_membership(V2_SELF), root, "s1", MEMORY_LIMIT, PIDS_LIMIT)
    assert plan.limits == {
        root / "backbench/s1": {"memory.max": str(4 * 1024**3), "pids.max": "512"}
    }
    assert plan.delegate == (root, root / "backbench")
    assert plan.controllers == ("memory", "pids")


def test_a_v1_machine_without_a_promised_controller_is_refused() -> None:
    membership = parse_membership("4:memory:/\n0::/\n")
    with pytest.raises(CgroupLimitError, match="no pids hierarchy"):
        cgroup_plan(1, membership, CGROUP_ROOT, "s1", MEMORY_LIMIT, PIDS_LIMIT)


def test_the_cgroup_version_is_told_by_the_hierarchy_root(tmp_path: Path) -> None:
    assert cgroup_version(tmp_path) == 1
    (tmp_path / "cgroup.controllers").write_text("cpu memory pids\n")
    assert cgroup_version(tmp_path) == 2


def test_cgroup_v2_delegates_the_controllers_then_sets_both_limits(tmp_path: Path) -> None:
    root = v2_lookalike(tmp_path, "s1")
    cgroups = SampleCgroups("s1", root)
    cgroups.create(MEMORY_LIMIT, PIDS_LIMIT)
    assert cgroups.dirs == [root / "backbench" / "s1"]
    for parent in (root, root / "backbench"):
        assert (parent / "cgroup.subtree_control").read_text() == "+memory +pids"
    assert (root / "backbench/s1/memory.max").read_text() == str(MEMORY_LIMIT)
    assert (root / "backbench/s1/pids.max").read_text() == str(PIDS_LIMIT)


def test_cgroup_v2_leaves_controllers_already_delegated_alone(tmp_path: Path) -> None:
    root = v2_lookalike(tmp_path, "s1", enabled="cpu memory pids\n")
    SampleCgroups("s1", root).create(MEMORY_LIMIT, PIDS_LIMIT)
    assert (root / "cgroup.subtree_control").read_text() == "cpu memory pids\n"


def test_cgroup_v2_without_control_files_is_refused(tmp_path: Path) -> None:
    # plain folders where the kernel would have made memory.max: no cgroup fs there
    root = v2_lookalike(tmp_path, "s1")
    (root / "backbench/s1/memory.max").unlink()
    with pytest.raises(CgroupLimitError, match="cannot set .*memory.max to 4294967296 .No such"):
        SampleCgroups("s1", root).create(MEMORY_LIMIT, PIDS_LIMIT)


@pytest.fixture
def real_v2_without_memory() -> Path:
    """This machine's v2 hierarchy, when it has neither controller (a hybrid layout)."""
    try:
        controllers = (UNIFIED / "cgroup.controllers").read_text().split()
    except OSError:
        pytest.skip(f"no cgroup v2 hierarchy at {UNIFIED}")
    if {"memory", "pids"} & set(controllers):
        pytest.skip(f"{UNIFIED} has memory or pids: creating there would succeed")
    return UNIFIED


def test_a_real_v2_hierarchy_without_the_controllers_is_refused_before_any_folder(
    real_v2_without_memory: Path,
) -> None:
    cgroups = SampleCgroups("backbench-v2-test", real_v2_without_memory)
    with pytest.raises(CgroupLimitError, match=r"cgroup v2: no memory, pids controller in "):
        cgroups.create(MEMORY_LIMIT, PIDS_LIMIT)
    assert cgroups.dirs == []
    assert not (real_v2_without_memory / "backbench" / "backbench-v2-test").exists()


def cgroup_lookalike(root: Path) -> Path:
    """Plain folders where this process's cgroup hierarchies would be: no cgroup fs."""
    for controller, path in parse_membership(Path("/proc/self/cgroup").read_text()).items():
        (root / controller / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def read_only_lookalike(tmp_path: Path) -> Iterator[Path]:
    """A cgroup lookalike on a read-only tmpfs of its own (the machine's cgroups untouched)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], check=True)
    try:
        cgroup_lookalike(folder)
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


async def setup_error(monkeypatch: pytest.MonkeyPatch, **attributes: object) -> str:
    """The one-line error a namespace sample's set-up raises with `attributes` changed."""
    for name, value in attributes.items():
        monkeypatch.setattr(NamespaceSandbox, name, value)
    with pytest.raises(SandboxLimitError) as caught:
        await NamespaceSandbox.sample_init("test", None, {"services": ""})
    message = str(caught.value)
    assert message.startswith("backbench: the namespace sandbox cannot ") and "\n" not in message
    return message


@requires_namespace
@pytest.mark.parametrize(
    "where, reason",
    [
        ("missing", "cannot create .* \\(No such file or directory\\)"),
        ("plain", "cannot set .*memory.limit_in_bytes to 4294967296 \\(No such file or"),
        ("read-only", "cannot create .* \\(Read-only file system\\)"),
    ],
)
async def test_memory_and_process_limits_that_cannot_be_set_fail_the_set_up(
    where: str, reason: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    roots = {
        "missing": lambda: tmp_path / "missing",
        "plain": lambda: cgroup_lookalike(tmp_path / "plain"),
        "read-only": lambda: request.getfixturevalue("read_only_lookalike"),
    }
    root = roots[where]()
    message = await setup_error(monkeypatch, cgroup_root=root)
    assert "memory (4 GiB) and process (512) limits here: cgroup v1: " in message
    assert re.search(reason, message), message


@requires_namespace
async def test_a_v2_hierarchy_without_the_controllers_fails_the_set_up(
    real_v2_without_memory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    message = await setup_error(monkeypatch, cgroup_root=real_v2_without_memory)
    assert f"cgroup v2: no memory, pids controller in {real_v2_without_memory}" in message


@requires_namespace
async def test_a_disk_limit_that_cannot_be_mounted_fails_the_set_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = await setup_error(monkeypatch, disk_limit="2x")
    assert "cannot mount its 2x tmpfs at " in message


@requires_namespace
def test_rlimits_that_cannot_be_raised_fail_the_set_up() -> None:
    # a harness whose hard file-size limit is 1 MiB, without CAP_SYS_RESOURCE to raise it
    code = (
        "import asyncio; from backbench.sandbox.namespace import NamespaceSandbox as S; "
        "asyncio.run(S.sample_init('test', None, {'services': ''}))"
    )
    harness = [
        "prlimit", f"--fsize={1024**2}", "--", "setpriv", "--inh-caps=-sys_resource",
        "--bounding-set=-sys_resource", "--", sys.executable, "-c", code,
    ]  # fmt: skip
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run(harness, capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.endswith(
        "backbench: the namespace sandbox cannot set its file-size (1 GiB) and process (512)"
        " rlimits here: prlimit: failed to set the FSIZE resource limit: Operation not permitted"
    ), run.stderr[-600:]


@requires_namespace
async def test_the_promised_limits_are_set_here() -> None:
    envs = await NamespaceSandbox.sample_init("test", None, {"services": ""})
    env = envs["default"].as_type(NamespaceSandbox)
    try:
        values = {
            file.name: file.read_text().strip()
            for path in env.cgroups.dirs
            for file in path.iterdir()
            if file.name in ("memory.limit_in_bytes", "memory.max", "pids.max")
        }
        assert set(values.values()) == {str(MEMORY_LIMIT), str(PIDS_LIMIT)}, values
        vfs = os.statvfs(env.sandbox_root)
        assert vfs.f_blocks * vfs.f_frsize == 2 * 1024**3
    finally:
        await NamespaceSandbox.sample_cleanup("test", None, envs, False)
