"""What the `server` and `services` fixtures give: the control channel as methods.

Free of pytest, over backbench.testkit.control.ControlClient.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from backbench.testkit.control import ControlClient

MAIN = "main"
RESTART_TIMEOUT = 45.0


@dataclass(frozen=True)
class Exit:
    """What became of an instance after a signal."""

    exited: bool
    returncode: int | None  # None: still running, or unknown (an instance the kit did not start)


@dataclass(frozen=True)
class Instance:
    """An instance of the submission started by the kit, on a port of its own."""

    name: str
    port: int
    base_url: str


class ServerControl:
    """Control of the submission: restart, signals, more instances, output."""

    def __init__(self, client: ControlClient, base_url: str) -> None:
        self.client = client
        self.base_url = base_url
        self.started: list[Instance] = []
        self.touched_main = False
        self.killed_in: set[str] = set()  # instances a test killed processes of

    def restart(self, instance: str = MAIN, timeout: float = RESTART_TIMEOUT) -> None:
        """Stop the instance's whole process group, start it again, wait for its port."""
        self.touched_main = self.touched_main or instance == MAIN
        self.client.call("restart", timeout=timeout, instance=instance)

    def signal(self, signal: str = "SIGTERM", wait: float = 10.0, instance: str = MAIN) -> Exit:
        """Send `signal` to the instance's main process (start.sh); wait up to `wait` s."""
        self.touched_main = self.touched_main or instance == MAIN
        result = self.client.call(
            "signal", timeout=wait + 10, instance=instance, signal=signal, wait=wait
        )
        return Exit(bool(result["exited"]), result.get("returncode"))

    def terminate(self, wait: float = 10.0, instance: str = MAIN) -> Exit:
        """SIGTERM, as `docker stop` sends, and wait up to `wait` s for the exit."""
        return self.signal("SIGTERM", wait, instance)

    def start_instance(
        self, timeout: float = RESTART_TIMEOUT, env: dict[str, str] | None = None
    ) -> Instance:
        """Another instance on another port, against the same database and Redis; `env` adds
        variables the contract reads (a key list, a lifetime), never ones the harness sets."""
        result = self.client.call("start_instance", timeout=timeout, env=env)
        instance = Instance(str(result["instance"]), int(result["port"]), str(result["base_url"]))
        self.started.append(instance)
        return instance

    def stop_instance(self, instance: Instance) -> None:
        """Stop an instance started by `start_instance`."""
        self.client.call("stop_instance", timeout=20, instance=instance.name)
        self.started.remove(instance)

    def output(self, instance: str = MAIN, size: int = 65536) -> str:
        """The last `size` bytes the instance wrote to stdout and stderr."""
        return str(self.client.call("output", timeout=10, instance=instance, size=size)["text"])

    def processes(self, instance: str = MAIN) -> list[dict[str, Any]]:
        """The instance's live processes (start.sh and all it started): `pid`, `cmdline`,
        `rss_kib` (resident memory now) and `peak_kib` (its high-water mark)."""
        return list(self.client.call("processes", timeout=30, instance=instance)["processes"])

    def peak_memory_kib(self, instance: str = MAIN) -> int:
        """The instance's peak resident memory: the sum of its live processes' high-water marks
        (for one server process, exactly its peak)."""
        return sum(int(p["peak_kib"]) for p in self.processes(instance))

    def kill_process(self, match: str, instance: str = MAIN) -> list[int]:
        """SIGKILL the instance's processes whose command line holds `match` (a worker, say),
        as a crash would; their pids. After the test, the instance is started afresh."""
        self.touched_main = self.touched_main or instance == MAIN
        self.killed_in.add(instance)
        return [int(p) for p in self.client.call(
            "kill_process", timeout=30, instance=instance, match=match)["killed"]]  # fmt: skip

    def alive(self, instance: str = MAIN) -> bool:
        """Whether the instance's process runs."""
        status = self.client.call("status", timeout=10)["instances"]
        return bool(status.get(instance, {}).get("alive"))

    def cleanup(self) -> None:
        """After a test: stop its extra instances; bring the main one back if it left it down."""
        for instance in list(self.started):
            self.stop_instance(instance)
        if self.touched_main and (MAIN in self.killed_in or not self.alive()):
            self.restart()
        self.killed_in.clear()


class ServiceControl:
    """Stop, start or restart PostgreSQL ("postgres") or Redis ("redis")."""

    def __init__(self, client: ControlClient) -> None:
        self.client = client
        self.stopped: set[str] = set()

    def stop(self, name: str, timeout: float = 30.0) -> None:
        """Stop the service: the submission's connections to it fail until it is started."""
        self.client.call("service", timeout=timeout, name=name, action="stop")
        self.stopped.add(name)

    def start(self, name: str, timeout: float = 40.0) -> None:
        """Start a stopped service again (its data kept) and wait until it accepts."""
        self.client.call("service", timeout=timeout, name=name, action="start")
        self.stopped.discard(name)

    def restart(self, name: str, timeout: float = 60.0) -> None:
        """Stop and start the service."""
        self.client.call("service", timeout=timeout, name=name, action="restart")
        self.stopped.discard(name)

    def cleanup(self) -> None:
        """After a test: start whatever it left stopped."""
        for name in sorted(self.stopped):
            self.start(name)
