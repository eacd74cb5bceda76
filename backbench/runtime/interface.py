"""The one interface the scoring stages use to reach a sample: harness tools and the submission."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from inspect_ai.util import ExecResult

# Where the test kit's supervisor (exec path) leaves its account of the run, in the tool's folder.
CONTROL_STATE = "control-state.json"


class HarnessError(RuntimeError):
    """The harness itself failed (not the submission): the sample must error, not score 0."""


class SubmissionProcess(Protocol):
    """The running start.sh (or a long-running harness tool), wherever it runs."""

    @property
    def returncode(self) -> int | None:
        """Its exit code, or None while it runs."""
        ...

    async def wait(self) -> int:
        """Wait for it to exit; return its exit code."""
        ...

    async def kill(self) -> None:
        """Kill it and every process of its group."""
        ...

    async def send_signal(self, signum: int) -> None:
        """Send `signum` to its main process (start.sh), as `docker stop` would."""
        ...

    async def sync_log(self) -> None:
        """Bring its log file on this machine up to date while it runs."""
        ...

    async def processes(self) -> list[dict[str, Any]]:
        """The live processes of its group, session and their descendants: pid, command line,
        resident memory now and at its peak in KiB (backbench.procinfo)."""
        ...

    async def kill_matching(self, word: str) -> list[int]:
        """SIGKILL those of its processes whose command line holds `word`; their pids."""
        ...


class ScoringRuntime(Protocol):
    """The scoring side of a sample's sandbox.

    Implemented by backbench.sandbox.local (host and namespace sandboxes) and by
    backbench.runtime.exec (any inspect sandbox with exec, such as docker and k8s).
    """

    setup_seconds: float  # time the sandbox took to set up the sample, for the timings

    workspace: Path  # a host folder holding the agent's files, for static analysis
    private: Path  # harness-only folder: hidden tests, reports, logs
    app_secret: str
    # the sample has a loopback of its own, so peers take their kinds' fixed ports; False: it
    # shares this machine's, and they take free ones
    own_loopback: bool

    async def run_tool(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
    ) -> ExecResult[str]:
        """Run a network tool (pytest, locust, probes) where it can reach the submission.

        `argv[0]` may be this process's Python; files it uses must lie under `cwd`, which is a
        folder under `private`, or in the harness's installed packages.
        """
        ...

    async def run_static(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
    ) -> ExecResult[str]:
        """Run a static analyser (ruff, radon, bandit) on this machine, over `workspace`."""
        ...

    async def spawn_submission(
        self, argv: list[str], *, env: dict[str, str], log: Path
    ) -> SubmissionProcess:
        """Start the submission in its own process group, its output to `log` (capped)."""
        ...

    async def spawn_tool(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, log: Path
    ) -> SubmissionProcess:
        """Start a long-running harness tool (the peers) in the background, where `run_tool`
        runs tools and on the same terms for `argv` and `cwd`; its output to `log` (capped,
        complete once it is killed). Out of the agent's reach; killed with the sample at the
        latest."""
        ...

    async def stop_agent_processes(self) -> None:
        """Kill every process the agent left running."""
        ...

    async def submission_env(self) -> dict[str, str]:
        """Fresh database and Redis for scoring, plus the port: the submission's environment."""
        ...

    async def agent_database_url(self) -> str:
        """The agent's development database ('' when the sample has none), where seed data goes
        before the agent starts."""
        ...

    async def replace_workspace(self, folder: Path) -> None:
        """Make the sandbox's workspace hold exactly `folder`'s files, owned by the agent (a
        kind that runs the agent's code over several versions of the code under test)."""
        ...

    async def baseline_env(self) -> dict[str, str]:
        """Another fresh database, Redis and port, for the scenario's reference while the load
        stage measures it beside the submission: where the sandbox can, on servers of its own
        that the agent cannot connect to."""
        ...

    @property
    def pause_target(self) -> str:
        """The submission's processes for backbench.sandbox.pids (`uid:<n>` or
        `marker:<NAME>=<value>`, with `sid:<n>` for each server only the submission uses), where
        harness tools run; empty when they cannot be told apart from the harness's own."""
        ...

    def admin_database_url(self, database_url: str) -> str:
        """A superuser URL of the submission's database, reachable by harness tools only."""
        ...

    def port_for(self, name: str) -> int:
        """A loopback port for another instance of the submission ("extra")."""
        ...

    async def control_wrapper(
        self, proc: SubmissionProcess, env: dict[str, str], cwd: Path
    ) -> list[str] | None:
        """How hidden tests reach the control channel (backbench.testkit.control).

        None: tools run on this machine's filesystem, so the harness serves the channel itself
        (and calls `control_service`). Otherwise an argv prefix that runs the tool under
        backbench.testkit.supervisor inside the sandbox, which serves it there; it writes its
        launch spec under `cwd` and the supervisor leaves `cwd/control-state.json`.
        """
        ...

    async def control_service(self, name: str, action: str) -> None:
        """Stop or start one of the sample's services ("postgres", "redis") for a hidden test."""
        ...
