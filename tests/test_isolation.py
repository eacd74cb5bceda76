"""The agent phase in the namespace sandbox: what a command of the agent can see and reach.

Driven through the sandbox's own `exec`, as inspect's bash tool calls it (`bash --login -c`):
the repository's tasks/ (hidden tests, reference solutions), another running sample's files and
processes, and another sample's ports must all be out of reach, and the sample's limits must
hold for every command.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable

import pytest
from inspect_ai.util import ExecResult

from backbench.catalogue import Scenario
from backbench.sandbox.choice import docker_problem, resolve_sandbox
from backbench.sandbox.local import BackbenchSandbox
from backbench.sandbox.namespace import DISK_LIMIT, FILE_SIZE_LIMIT, PIDS_LIMIT, NamespaceSandbox
from tests.conftest import REPO, requires_namespace

pytestmark = [pytest.mark.anyio, requires_namespace]
OpenSandbox = Callable[[Scenario], Awaitable[BackbenchSandbox]]
SEARCH_TIMEOUT = 120
# A server that answers its own token on $1, in the background, ready when this returns.
SERVE_TOKEN = """
nohup python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen()
while True:
    c, _ = s.accept(); c.sendall(sys.argv[2].encode()); c.close()
' "$1" "$2" >/dev/null 2>&1 &
for _ in $(seq 50); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1)' \
        "$1" 2>/dev/null && exit 0
    sleep 0.1
done
exit 1
"""
READ_PORT = """python3 -c '
import socket, sys
try:
    print(socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2).recv(100).decode())
except OSError as ex:
    print("refused:", ex)
' "$1"
"""


async def sh(env: BackbenchSandbox, script: str, *args: str) -> ExecResult[str]:
    """Run a script in the agent's shell, as inspect's bash tool does."""
    return await env.exec(["bash", "--login", "-c", script, "sh", *args], timeout=SEARCH_TIMEOUT)


def test_auto_picks_the_namespace_sandbox_here() -> None:
    if docker_problem() is None:
        pytest.skip("inspect can use the Docker engine here: auto picks docker")
    assert resolve_sandbox("auto").type == "backbench-namespace"


async def test_the_repository_and_hidden_tests_are_out_of_view(
    sandbox_for: OpenSandbox, inventory: Scenario
) -> None:
    env = await sandbox_for(inventory)
    hidden = inventory.tests_dir / "test_items.py"
    read = await sh(env, 'cat "$1"; ls -A "$2"', str(hidden), str(REPO))
    assert "No such file or directory" in read.stderr and "def test_" not in read.stdout
    assert read.stdout.split() == [".venv"], "only the agent's Python may show of the repository"
    found = await sh(
        env,
        "find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o \\( -name test_items.py"
        " -o -name scenario.yaml -o -name 'inventory-crud' -o -name mutants \\) -print 2>/dev/null",
    )
    assert found.stdout.strip() == "", f"hidden files in view:\n{found.stdout}"


async def test_another_samples_files_and_processes_are_out_of_reach(
    sandbox_for: OpenSandbox, inventory: Scenario
) -> None:
    mine, other = await sandbox_for(inventory), await sandbox_for(inventory)
    assert isinstance(other, NamespaceSandbox)
    secret = uuid.uuid4().hex
    await other.write_file("canary.txt", secret)
    started = await sh(other, 'nohup sleep "$1" >/dev/null 2>&1 & echo started', "4321.5")
    assert started.stdout.strip() == "started"
    places = [
        str(other.sandbox_root / "workspace" / "canary.txt"),
        f"/proc/{other.target}/root/workspace/canary.txt",
        str(other.root),
    ]
    # the secret comes on stdin, so no command line of this sample carries it
    look = await mine.exec(
        ["bash", "--login", "-c",
         'for p in "$@"; do cat "$p"; ls "$p"; done; pgrep -af "sleep 4321[.]5"; kill -9 -1; '
         "grep -rsF -f - --exclude-dir=proc --exclude-dir=sys --exclude-dir=dev "
         "--exclude-dir=usr --exclude-dir=opt --exclude-dir=site-packages /; true", "sh", *places],
        input=secret, timeout=SEARCH_TIMEOUT,
    )  # fmt: skip
    assert secret not in look.stdout + look.stderr
    assert "4321.5" not in look.stdout, "the other sample's process is visible"
    still = await sh(other, 'cat canary.txt; echo; pgrep -f "sleep 4321[.]5" >/dev/null && echo up')
    assert still.stdout.split() == [secret, "up"], "the other sample was harmed"


async def test_a_port_bound_in_one_sample_is_free_in_another(
    sandbox_for: OpenSandbox, inventory: Scenario
) -> None:
    mine, other = await sandbox_for(inventory), await sandbox_for(inventory)
    token = uuid.uuid4().hex
    served = await sh(mine, SERVE_TOKEN, "8000", token)
    assert served.returncode == 0, served.stderr
    assert (await sh(mine, READ_PORT, "8000")).stdout.strip() == token
    from_other = await sh(other, READ_PORT, "8000")
    assert from_other.stdout.startswith("refused"), from_other.stdout
    bound = await sh(other, SERVE_TOKEN, "8000", "other")
    assert bound.returncode == 0, f"port 8000 is taken in the other sample: {bound.stderr}"
    assert (await sh(other, READ_PORT, "8000")).stdout.strip() == "other"
    assert (await sh(mine, READ_PORT, "8000")).stdout.strip() == token


async def test_every_agent_command_runs_under_the_sample_limits(
    sandbox_for: OpenSandbox, inventory: Scenario
) -> None:
    env = await sandbox_for(inventory)
    assert isinstance(env, NamespaceSandbox)
    result = await sh(
        env,
        "cat /proc/self/cgroup; python3 -c 'import resource as r; "
        "print(r.getrlimit(r.RLIMIT_NPROC)[0], r.getrlimit(r.RLIMIT_FSIZE)[0])'",
    )
    cgroup_name = f"backbench-{env.root.name}"
    for path in env.cgroups.dirs:
        controller = path.relative_to("/sys/fs/cgroup").parts[0]
        line = next(x for x in result.stdout.splitlines() if f":{controller}:" in x)
        assert line.endswith(cgroup_name), f"an agent command is outside its {controller} cgroup"
    nproc, fsize = result.stdout.splitlines()[-1].split()
    assert (int(nproc), int(fsize)) == (PIDS_LIMIT, FILE_SIZE_LIMIT), "rlimits not applied"


async def test_every_writable_place_is_inside_the_disk_limit(
    sandbox_for: OpenSandbox, inventory: Scenario
) -> None:
    env = await sandbox_for(inventory)
    places = ["/workspace", "$HOME", "/tmp", "/var/tmp", "/dev/shm"]
    result = await sh(
        env, f"for p in {' '.join(places)}; do df -B1 --output=size $p | tail -1; done"
    )
    sizes = dict(zip(places, map(int, result.stdout.split()), strict=True))
    limit = int(DISK_LIMIT.removesuffix("g")) * 1024**3
    assert all(size <= limit for size in sizes.values()), f"larger than {DISK_LIMIT}: {sizes}"


async def test_samples_in_two_harness_processes_get_different_uids(
    sandbox_for: OpenSandbox, inventory: Scenario
) -> None:
    env = await sandbox_for(inventory)
    assert isinstance(env, NamespaceSandbox)
    # a second inspect process allocating a sample uid while this one holds env.uid
    code = (
        "import sys, tempfile; from pathlib import Path; "
        "from backbench.sandbox.namespace import NamespaceSandbox; "
        "s = NamespaceSandbox(Path(tempfile.mkdtemp(prefix='backbench-uid-')), 'x'); "
        "print(s.uid); s.cgroups.remove(); import shutil; shutil.rmtree(s.root)"
    )
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert int(other.stdout) != env.uid, f"two live samples share uid {env.uid}"
