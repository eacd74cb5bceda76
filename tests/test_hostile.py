"""Hostile submissions through the real path, in the namespace sandbox.

Each folder of tests/hostile is submitted with `inspect eval ... --model backbench/files`, a few at
a time, while one reference run goes on beside them. Each must score correct=0 with an
explanation that names the cause, in a complete eval log; the reference must still score; and
nothing may be left behind: no process in a sample's namespaces, no cgroup, no mount, no folder.
The runs' temporary folders go to a TMPDIR of this module's own, so what they leave is told apart
from other work on the machine, which goes on meanwhile (another pytest-xdist worker's samples).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.log import EvalLog, EvalSample, read_eval_log
from inspect_ai.scorer import Score

from backbench.catalogue import find_scenario
from backbench.sandbox.namespace import DISK_LIMIT, MEMORY_LIMIT, PIDS_LIMIT, _cgroup_base
from backbench.sandbox.services import SERVICE_USER
from tests.conftest import REPO, container_prefix, lean_tasks, requires_namespace

HOSTILE = REPO / "tests" / "hostile"
INSPECT = Path(sys.executable).parent / "inspect"
SCENARIO = find_scenario("inventory-crud")
# The longest first, and the reference in the first wave beside those that attack the machine
# or other samples.
FIRST_WAVE = ["killer", "fork-storm", "memory-hog", "disk-filler", "port-squatter"]
ORDER = [
    *FIRST_WAVE, "reference", "group-escaper", "never-ready", "daemonized-reference",
    "snooper", "flood", "tamper", "garbage", "daemonizer", "slow", "dribbler",
]  # fmt: skip
# the reference's load test, longer than the others' so that it runs beside the first wave
REFERENCE_LOAD_SECONDS = 10
CONCURRENCY = 8
EVAL_TIMEOUT = 420
LEAN_TESTS = ("test_items.py",)
MiB = 1024**2
# where tests/hostile/disk-filler writes its fill-<pid>-<n>.bin files, as this machine sees those
# places (its working folder and HOME lie in the sample's folder, which must be gone too)
FILLER_PLACES = ["/dev/shm", "/tmp", "/var/tmp", "/", "/usr", "/etc", "/opt", sys.prefix, "/work"]

# one worker: the tampering tests run while the campaign's evals go on
pytestmark = [pytest.mark.slow, requires_namespace, pytest.mark.xdist_group("hostile")]


# -- watching the machine --------------------------------------------------------------------


def _pids() -> list[int]:
    return [int(p) for p in os.listdir("/proc") if p.isdigit()]


def _cmdline(pid: int) -> str:
    try:
        return (
            Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        )
    except OSError:
        return ""


def _namespaces(pid: int) -> set[int]:
    found = set()
    for kind in ("net", "pid", "mnt"):
        try:
            found.add(os.stat(f"/proc/{pid}/ns/{kind}").st_ino)
        except OSError:
            pass
    return found


def _started(pid: int) -> float:
    """When a process started, in time.monotonic() seconds (both count from boot)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("inf")
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def _describe(pid: int) -> str:
    """A process's state and parent, so that a leftover that has no command line any more (a
    zombie, or one in the middle of exiting) still says who holds it."""
    try:
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
    except (OSError, ValueError):
        return "gone"
    parent = int(status.get("PPid", "0").strip() or 0)
    return f"state {status.get('State', '?').strip()}, parent {parent} ({_cmdline(parent)[:80]})"


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _pid_namespace(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}/ns/pid").st_ino
    except OSError:
        return None


def _nspids(pid: int) -> list[int]:
    """A process's pid in each PID namespace it is in, this machine's view first."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("NSpid:"):
                return [int(p) for p in line.split()[1:]]
    except OSError:
        pass
    return []


Holder = tuple[int | None, int]  # (PID namespace of the harness that made it, its pid there)


def _holder_key(member: int, bwrap: int) -> Holder | None:
    """How the harness that started `bwrap` names the holder's `member` (`--target=<pid>`): a
    harness in a container names it by its pid in the container's PID namespace."""
    depth, inner = len(_nspids(bwrap)), _nspids(member)
    if not depth or len(inner) < depth:
        return None
    return (_pid_namespace(bwrap), inner[depth - 1])


def _entered(pid: int, cmd: str) -> tuple[Holder, int] | None:
    """The holder an nsenter command names, as its harness names it, and its --setuid."""
    found = re.search(r"--target=(\d+) .*--setuid=(\d+)", cmd)
    if found is None:
        return None
    return (_pid_namespace(pid), int(found.group(1))), int(found.group(2))


class SandboxWatcher(threading.Thread):
    """Records the folders, holders and namespaces of the sandboxes of each run.

    Run `name` keeps its temporary folders in `tmp/name`, so what is left is told by run.
    """

    def __init__(self, tmp: Path) -> None:
        super().__init__(daemon=True)
        self.tmp = str(tmp)
        self.roots: dict[str, str] = {}  # sandbox folder name -> run
        self.targets: dict[Holder, str] = {}  # holder's `sleep infinity` -> run
        self.namespaces: dict[int, str] = {}  # namespace inode -> run
        self.uids: dict[int, str] = {}  # sample uid -> run
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(0.25):
            self.scan()

    def scan(self) -> None:
        try:
            service_uid = pwd.getpwnam(SERVICE_USER).pw_uid
        except KeyError:  # made by the first sample's set-up
            service_uid = -1
        for root in Path(self.tmp).glob("*/backbench-*"):
            self.roots[root.name] = root.parent.name
        for pid in _pids():
            cmd = _cmdline(pid)
            entered = _entered(pid, cmd)
            # the services' user is every sample's (and every other run's on the machine): a
            # sample's services are told by its namespaces, not by that uid
            if entered and entered[0] in self.targets and entered[1] != service_uid:
                self.uids[entered[1]] = self.targets[entered[0]]
            owner = re.search(re.escape(self.tmp) + r"/([^/ ]+)/", cmd)
            if owner and "bwrap" in cmd.split(" ", 1)[0]:
                for inner in _children(pid):
                    for member in _children(inner):  # `sleep infinity`, in every namespace
                        key = _holder_key(member, pid)
                        if key is not None:
                            self.targets[key] = owner.group(1)
                        self.namespaces.update(dict.fromkeys(_namespaces(member), owner.group(1)))

    def leftovers(self, ended: dict[str, float]) -> list[str]:
        """Processes of a watched sample's uid, in its namespaces, or naming its folders.

        The kernel reuses namespace numbers and pids, and the sandboxes reuse sample uids: a
        process counts as a run's only if it started before that run's eval process ended
        (`ended`, in time.monotonic()), and never by a namespace or holder that is now another
        live sandbox's (other work on the machine, started after a watched sample ended).
        """
        members, spaces = self.foreign_sandboxes()
        found = []
        for pid in _pids():
            cmd = _cmdline(pid)
            owners = {self.namespaces[n] for n in _namespaces(pid) - spaces if n in self.namespaces}
            entered = _entered(pid, cmd)
            if entered and entered[0] not in members and entered[0] in self.targets:
                owners.add(self.targets[entered[0]])
            with contextlib.suppress(OSError, KeyError):
                owners.add(self.uids[os.stat(f"/proc/{pid}").st_uid])
            owners = {r for r in owners if _started(pid) < ended[r]}
            if self.tmp in cmd or owners:
                found.append(
                    f"pid {pid} of {sorted(owners) or cmd}: {cmd[:160]} [{_describe(pid)}]"
                )
        return found

    def foreign_sandboxes(self) -> tuple[set[Holder], set[int]]:
        """The holder members (`sleep infinity`) and their namespaces, of the live sandboxes that
        are not the watched runs': a live namespace's number is no other namespace's."""
        members: dict[Holder | None, int] = {}
        for pid in _pids():
            cmd = _cmdline(pid)
            if "bwrap" in cmd.split(" ", 1)[0] and self.tmp not in cmd:
                for member in (m for inner in _children(pid) for m in _children(inner)):
                    members[_holder_key(member, pid)] = member
        spaces = {n for member in members.values() for n in _namespaces(member)}
        return {k for k in members if k is not None}, spaces

    def cgroups_left(self) -> list[str]:
        bases = [b for b in (_cgroup_base("memory"), _cgroup_base("pids")) if b is not None]
        left = [(b / f"backbench-{root}", run) for b in bases for root, run in self.roots.items()]
        return [f"{path} (run {run})" for path, run in left if path.exists()]


# -- the runs --------------------------------------------------------------------------------


@dataclass
class Run:
    """One `inspect eval` of a submission."""

    name: str
    returncode: int
    output: str
    log: EvalLog | None
    log_bytes: int
    wall: tuple[float, float]  # the eval process's start and end (time.monotonic)

    @property
    def sample(self) -> EvalSample:
        assert self.log is not None, f"{self.name}: no eval log\n{self.output[-3000:]}"
        assert self.log.samples and len(self.log.samples) == 1
        return self.log.samples[0]

    @property
    def score(self) -> Score:
        assert self.sample.scores, f"{self.name}: no score; error: {self.sample.error}"
        return self.sample.scores["backbench_scorer"]

    @property
    def value(self) -> dict[str, Any]:
        value = self.score.value
        assert isinstance(value, dict)
        return value

    @property
    def server_log(self) -> str:
        return str((self.score.metadata or {}).get("server_log", ""))

    def window(self) -> tuple[float, float]:
        sample = self.sample
        assert sample.started_at and sample.completed_at
        return (
            datetime.fromisoformat(sample.started_at).timestamp(),
            datetime.fromisoformat(sample.completed_at).timestamp(),
        )


# The strongest daemonizer serves a correct API: the reference, built here on the harness's side
# (never stored where an agent could read it), started as a daemon by a start.sh that then exits.
DAEMONIZING_START = """#!/usr/bin/env bash
cd "$(dirname "$0")"
setsid nohup python3 -m uvicorn app:app --host 127.0.0.1 --port "$PORT" >/dev/null 2>&1 </dev/null &
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
done
sleep 2
exit 0
"""


def daemonized_reference(folder: Path) -> Path:
    shutil.copy(SCENARIO.reference_dir / "app.py", folder / "app.py")
    (folder / "start.sh").write_text(DAEMONIZING_START)
    (folder / "start.sh").chmod(0o755)
    return folder


def assemble_submission(name: str, folder: Path) -> Path:
    """A hostile submission's own files plus the shared stand-in server, in `folder`."""
    target = folder / name
    shutil.copytree(HOSTILE / name, target, symlinks=True)
    for shared in (HOSTILE / "_shared").iterdir():
        shutil.copy(shared, target / shared.name)
    return target


def run_eval(name: str, base: Path, tmp: Path, tasks: Path) -> Run:
    log_dir = base / "logs" / name
    if name == "reference":
        model = ["--model", "backbench/reference"]
    else:
        if name == "daemonized-reference":
            source = daemonized_reference(Path(tempfile.mkdtemp(dir=base)))
        else:
            source = assemble_submission(name, Path(tempfile.mkdtemp(dir=base)))
        model = ["--model", "backbench/files", "-M", f"path={source}"]
    # every run in a PID namespace of its own, as in a container, where the machine allows it
    argv = [
        *container_prefix(), str(INSPECT), "eval", "tasks/api_development", *model,
        "-T", "scenarios=inventory-crud",
        "-T", f"load_seconds={REFERENCE_LOAD_SECONDS if name == 'reference' else 1}",
        "-T", "sandbox=namespace", "--log-dir", str(log_dir),
        "--display", "none",
        # the fuzzing stage and the reference loaded beside the submission for the reference
        # sample only: they add ~35 s and ~5 s a sample and attack nothing
        *([] if name == "reference" else ["-T", "robust=false", "-T", "load_baseline=none"]),
    ]  # fmt: skip
    (tmp / name).mkdir()
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv, cwd=REPO, capture_output=True, text=True, timeout=EVAL_TIMEOUT, check=False,
            env={**os.environ, "TMPDIR": str(tmp / name), "BACKBENCH_TASKS_DIR": str(tasks)},
        )  # fmt: skip
        returncode, output = proc.returncode, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as ex:
        returncode, output = -1, f"timed out after {EVAL_TIMEOUT} s: {ex.output!r}"
    logs = sorted(log_dir.glob("*.eval"))
    log = read_eval_log(str(logs[-1])) if logs else None
    size = logs[-1].stat().st_size if logs else 0
    return Run(name, returncode, output, log, size, (started, time.monotonic()))


@dataclass
class Campaign:
    """Every run, started at once in the background; `run(name)` waits for one."""

    tmp: Path
    watcher: SandboxWatcher
    futures: dict[str, Future[Run]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    seconds: float = 0.0

    def run(self, name: str) -> Run:
        return self.futures[name].result()

    def finish(self) -> None:
        for future in self.futures.values():
            future.result()
        self.seconds = time.monotonic() - self.started
        self.watcher.halt.set()
        self.watcher.join()


@pytest.fixture(scope="module")
def campaign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Campaign]:
    base = tmp_path_factory.mktemp("hostile")
    # short: PostgreSQL's socket path inside it must stay under 108 bytes
    tmp = Path(tempfile.mkdtemp(prefix="bbh-", dir="/tmp"))
    watcher = SandboxWatcher(tmp)
    watcher.start()
    # one hidden test file: what is under test is the harness's defence, not the suite
    tasks = lean_tasks(base / "tasks", SCENARIO.id, LEAN_TESTS)
    pool = ThreadPoolExecutor(CONCURRENCY)
    result = Campaign(tmp, watcher)
    for name in ORDER:
        result.futures[name] = pool.submit(run_eval, name, base, tmp, tasks)
    yield result
    pool.shutdown(wait=True)
    watcher.halt.set()
    # a failed check above has reported them: do not leave them on the machine
    for left in watcher.cgroups_left():
        with contextlib.suppress(OSError):
            Path(left.split(" (run ")[0]).rmdir()
    shutil.rmtree(tmp, ignore_errors=True)


def assert_scored_zero(run: Run, *causes: str) -> None:
    """A complete log, no sample error, correct=0, and an explanation naming every cause."""
    assert run.log is not None and run.log.status == "success", run.output[-3000:]
    assert run.sample.error is None, run.sample.error
    explanation = run.score.explanation or ""
    assert run.value["correct"] == 0, explanation
    for cause in causes:
        assert re.search(cause, explanation), f"{cause!r} not in: {explanation}"


FAILED_TESTS = r"functional: \d+/\d+ hidden tests passed\n  FAILED test_"
NOT_READY = r"not served: the server did not accept connections on \$PORT within 30 s"


def exited(code: str = r"-?\d+") -> str:
    return rf"not served: start.sh exited with code {code} before its port accepted"


def numbers(pattern: str, text: str) -> list[int]:
    return [int(n) for n in re.findall(pattern, text)]


# -- the reference beside them ---------------------------------------------------------------


def test_the_concurrent_reference_sample_still_scores(campaign: Campaign) -> None:
    reference = campaign.run("reference")
    assert reference.log is not None and reference.log.status == "success", reference.output
    assert reference.sample.error is None
    assert reference.value["correct"] == 1, reference.score.explanation
    assert reference.value["uptime"] == 1, reference.score.explanation
    start, end = reference.window()
    for name in FIRST_WAVE:
        other_start, other_end = campaign.run(name).window()
        overlap = min(end, other_end) - max(start, other_start)
        # beside it for 5 s, or for half of an attack that ends sooner (a start.sh that fails)
        wanted = min(5.0, (other_end - other_start) / 2)
        assert overlap >= wanted, (
            f"the reference did not run beside {name}: overlap {overlap:.1f} s"
        )


# -- the tampering files would work if they took part (these run while the evals go on) ----

TAMPER = HOSTILE / "tamper"
FAILING_TEST = "def test_fails():\n    assert False\n"


def pytest_all_passed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> bool:
    """Run a pytest command on a failing test; whether it exits 0 with every case passed."""
    report = cwd / "junit.xml"
    report.unlink(missing_ok=True)
    proc = subprocess.run(
        [*argv, "--junitxml", str(report), "-p", "no:cacheprovider"], cwd=cwd,
        env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    xml = report.read_text() if report.exists() else ""
    return proc.returncode == 0 and "<testcase" in xml and "<failure" not in xml


@pytest.mark.parametrize(
    "files",
    [["conftest.py"], ["pytest.ini", "tamper_plugin.py"], ["tox.ini", "tamper_plugin.py"],
     ["setup.cfg", "tamper_plugin.py"], ["pyproject.toml", "tamper_plugin.py"]],
)  # fmt: skip
def test_each_tampering_config_file_would_pass_every_test(files: list[str], tmp_path: Path) -> None:
    for name in files:
        shutil.copy(TAMPER / name, tmp_path / name)
    (tmp_path / "test_fails.py").write_text(FAILING_TEST)
    assert pytest_all_passed([sys.executable, "-m", "pytest", "test_fails.py"], tmp_path)


@pytest.mark.parametrize(
    "load",
    ["import sitecustomize", "import usercustomize", "import site; site.addsitedir(TAMPER)"],
)
def test_each_tampering_startup_file_would_pass_every_test(load: str, tmp_path: Path) -> None:
    (tmp_path / "test_fails.py").write_text(FAILING_TEST)
    # Debian's Python imports its own /usr/lib/python3.11/sitecustomize.py at start-up: forget
    # it, so that the import below finds the tampering one, as it would in a fresh interpreter
    code = f"TAMPER = {str(TAMPER)!r}; import sys; sys.path.insert(0, TAMPER); "
    code += "sys.modules.pop('sitecustomize', None); sys.modules.pop('usercustomize', None); "
    code += f"{load}; "
    code += "import pytest; sys.exit(pytest.main(sys.argv[1:]))"
    assert pytest_all_passed([sys.executable, "-c", code, "test_fails.py"], tmp_path)


def test_tampering_environment_and_fake_tools_would_pass_every_test(tmp_path: Path) -> None:
    (tmp_path / "test_fails.py").write_text(FAILING_TEST)
    env = {"PYTHONPATH": str(TAMPER), "PYTEST_PLUGINS": "tamper_plugin"}
    assert pytest_all_passed([sys.executable, "-m", "pytest", "test_fails.py"], tmp_path, env)
    path = {"PATH": f"{TAMPER / 'bin'}:{os.environ['PATH']}"}
    assert pytest_all_passed(["python", "-m", "pytest", "test_fails.py"], tmp_path, path)
    assert pytest_all_passed(["pytest", "test_fails.py"], tmp_path, path)
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    shutil.copy(TAMPER / "test_items.py", shadow / "test_items.py")
    assert pytest_all_passed([sys.executable, "-m", "pytest", "test_items.py"], shadow)


def test_pytest_never_collects_the_hostile_folders() -> None:
    proc = subprocess.run(
        # -n 0: collected here, with no pytest-xdist workers to start (pyproject's addopts)
        [sys.executable, "-m", "pytest", "-n", "0", "--collect-only", "-q", str(HOSTILE)],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert "no tests collected" in proc.stdout, proc.stdout + proc.stderr


# -- each hostile submission -----------------------------------------------------------------


def test_fork_storm_is_stopped_at_the_process_limit(campaign: Campaign) -> None:
    run = campaign.run("fork-storm")
    assert_scored_zero(run, exited("1"))
    [started] = numbers(r"fork storm: started (\d+) processes", run.server_log)
    assert started < PIDS_LIMIT, f"the storm forked {started} processes: {run.server_log}"


def test_memory_hog_is_stopped_at_the_memory_limit(campaign: Campaign) -> None:
    run = campaign.run("memory-hog")
    reached = max(numbers(r"allocated (\d+) MiB", run.server_log))
    assert reached * MiB <= MEMORY_LIMIT, f"the hog held {reached} MiB: {run.server_log[-300:]}"
    assert_scored_zero(run, exited())


def test_a_server_that_never_listens_is_not_served(campaign: Campaign) -> None:
    run = campaign.run("never-ready")
    assert_scored_zero(run, NOT_READY)
    assert "never ready: sleeping" in run.server_log


def test_an_output_flood_is_drained_and_capped(campaign: Campaign) -> None:
    run = campaign.run("flood")
    assert_scored_zero(run, FAILED_TESTS)
    assert run.value["functional"] < 1
    assert 0 < len(run.server_log) <= 3000
    assert run.log_bytes < 5 * MiB, f"the eval log holds {run.log_bytes} bytes"


def test_squatted_ports_stay_inside_the_sample(campaign: Campaign) -> None:
    run = campaign.run("port-squatter")
    assert_scored_zero(run, FAILED_TESTS)
    # its own sample's PostgreSQL holds 5432 in its network namespace; the rest were free
    [bound] = re.findall(r"squatter: bound (.*)", run.server_log)
    assert {"5431", "5433", "6379", "8080"} <= set(bound.split()), run.server_log
    assert "5432 (Address already in use)" in run.server_log, run.server_log


def test_a_killer_sees_and_kills_only_its_own_sample(campaign: Campaign) -> None:
    run = campaign.run("killer")
    assert_scored_zero(run, NOT_READY)
    # one holder (bwrap and its `sleep`): its own sample's; its PostgreSQL is another uid's
    seen = re.search(r"killer: I see: (.*)", run.server_log)
    assert seen and re.search(r"\b1 root bwrap 1 root sleep\b", seen.group(1)), run.server_log
    assert "postgres on 5432 still accepts: yes" in run.server_log, run.server_log
    assert "still accepts: no" not in run.server_log, run.server_log


def test_a_disk_filler_is_stopped_at_the_disk_limit(campaign: Campaign) -> None:
    run = campaign.run("disk-filler")
    assert_scored_zero(run, exited("1"))
    written = {
        place: int(mib)
        for place, mib in re.findall(r"disk filler: (\S+) wrote (\d+) MiB", run.server_log)
    }
    assert len(written) == 11, run.server_log
    writable = {"/dev/shm", "/workspace", "/home/agent", "/tmp", "/var/tmp"}
    for place in set(written) - writable:
        assert written[place] == 0, f"wrote into {place}: {run.server_log}"
    limit = int(DISK_LIMIT.removesuffix("g")) * 1024
    assert sum(written.values()) <= limit + 64, f"wrote past the {DISK_LIMIT} limit: {written}"


def test_a_snooper_finds_nothing_hidden(campaign: Campaign) -> None:
    run = campaign.run("snooper")
    assert_scored_zero(run, FAILED_TESTS)
    assert "snooper: done, 0 hits" in run.server_log, run.server_log
    hidden = {"test_items.py", "conftest.py", "inventory-crud/tests", "reference/app.py"}
    for path in SCENARIO.tests_dir.glob("test_*.py"):
        hidden |= set(re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE))
    leaked = sorted(name for name in hidden if name in run.server_log)
    assert not leaked, f"the snooper's output names hidden tests: {leaked}"


def test_tampering_with_the_test_run_takes_no_part(campaign: Campaign) -> None:
    run = campaign.run("tamper")
    assert_scored_zero(run, FAILED_TESTS)
    assert run.value["functional"] < 0.5, run.score.explanation
    assert "tamper: python is now" in run.server_log and "/bin/python" in run.server_log


def test_a_server_outside_the_start_scripts_process_group_does_not_hold_up_scoring(
    campaign: Campaign,
) -> None:
    run = campaign.run("group-escaper")
    assert_scored_zero(run, FAILED_TESTS)
    [since] = re.findall(r"escaper: serving in a session of its own since ([\d.]+)", run.server_log)
    [scored] = [e.timestamp.timestamp() for e in run.sample.events if e.event == "score"]
    # the escaped server lives 120 s: a score later than that waited for it to end
    waited = scored - float(since)
    assert waited < 100, f"the score came {waited:.0f} s after the escaped server started"


STOPPED = r"functional: stopped early, the server let requests run out of their deadline"
# issue 10: a server that stalls or dribbles costs at most 2 minutes of scoring time. The budget
# covers the stages the server's answers drive (start and functional): the static checks read
# files only, and their time is set by how many samples share the 2 cores, not by the stall.
STALLED_SCORING_BUDGET = 120.0
SERVER_DRIVEN_STAGES = ("start", "functional")


@pytest.mark.parametrize("name", ["slow", "dribbler"])
def test_a_stalling_server_is_scored_in_bounded_time(campaign: Campaign, name: str) -> None:
    run = campaign.run(name)
    assert_scored_zero(run, STOPPED, "robust, security, load and uptime: not run")
    timings = (run.score.metadata or {})["timings"]
    assert set(timings) == {"static", "start", "functional", "sandbox_setup"}, timings
    spent = sum(timings[stage] for stage in SERVER_DRIVEN_STAGES)
    assert spent <= STALLED_SCORING_BUDGET, f"scoring took {spent:.0f} s: {timings}"


def test_a_garbage_answering_server_fails_its_tests(campaign: Campaign) -> None:
    run = campaign.run("garbage")
    assert_scored_zero(run, FAILED_TESTS)
    assert run.value["functional"] == 0 and run.value["uptime"] == 0


def test_a_start_script_that_daemonizes_and_exits_scores_zero(campaign: Campaign) -> None:
    run = campaign.run("daemonizer")
    assert_scored_zero(run, "exited")


def test_a_daemonized_correct_server_scores_zero(campaign: Campaign) -> None:
    run = campaign.run("daemonized-reference")
    assert_scored_zero(run, "exited")


# -- what they leave behind ------------------------------------------------------------------


def test_the_machine_is_left_as_it_was(campaign: Campaign) -> None:
    campaign.finish()
    print(f"hostile campaign: {campaign.seconds:.0f} s for {len(ORDER)} runs")
    for name in ORDER:
        start, end = (t - campaign.started for t in campaign.run(name).wall)
        print(f"  {name:22} {start:6.1f} s -> {end:6.1f} s")
    # a run whose sample uid went unseen would have its leftovers unseen too (in a container
    # its nsenter commands name the holder by the container's pid)
    unseen = set(ORDER) - set(campaign.watcher.uids.values())
    assert campaign.watcher.roots and not unseen, f"the watcher saw no sample of {sorted(unseen)}"
    problems: list[str] = []
    # the kernel reaps a killed namespace's processes in a moment, but on a loaded machine (the
    # whole suite beside this campaign) a process once stayed past 10 s with its command line
    # already gone: 30 s, and a leftover now says its state and parent
    for _ in range(60):
        ended = {name: campaign.run(name).wall[1] for name in ORDER}
        problems = [f"process left: {p}" for p in campaign.watcher.leftovers(ended)]
        if not problems:
            break
        time.sleep(0.5)
    problems += [f"cgroup left: {c}" for c in campaign.watcher.cgroups_left()]
    mounts = Path("/proc/mounts").read_text()
    problems += [f"mount left: {m}" for m in mounts.splitlines() if str(campaign.tmp) in m]
    problems += [f"folder left: {f}" for f in campaign.tmp.glob("*/backbench-*")]
    # what the disk filler wrote, found by name: the disk's free space also moves with the
    # other work on the machine
    problems += [f"file left: {f}" for p in FILLER_PLACES for f in Path(p).glob("fill-*-*.bin")]
    assert not problems, "\n".join(problems)
