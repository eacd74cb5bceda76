"""The control channel served by the harness itself (namespace and host sandboxes).

Hidden tests run on the harness's filesystem there, so this process serves
backbench.testkit.control on a unix socket in a root-only folder and acts through the scoring
runtime: it restarts the submission, signals it, starts more instances of it, reads their
output, and stops or starts the sample's services. When the session ends it stops the extra
instances, starts any stopped service and restarts a submission left dead, so the later stages
find it serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from backbench.runtime import ScoringRuntime
from backbench.scoring.submission import (
    RunningSubmission,
    launch_submission,
    relaunch_submission,
)
from backbench.testkit.control import (
    SERVICE_ACTIONS,
    ControlError,
    Request,
    extra_env,
    matched,
    serve_control,
    signal_number,
)

MAIN = "main"
OUTPUT_SIZE = 65536


class HarnessControl:
    """The operations of the control channel, over a scoring runtime."""

    def __init__(
        self, runtime: ScoringRuntime, running: RunningSubmission, tool_env: dict[str, str]
    ) -> None:
        self.runtime = runtime
        self.tool_env = tool_env
        self.instances: dict[str, RunningSubmission] = {MAIN: running}
        self.stopped_services: set[str] = set()
        self.log: list[str] = []  # the operations asked for, for the score's metadata
        self._launches = 0

    def _instance(self, args: dict[str, Any]) -> RunningSubmission:
        name = str(args.get("instance", MAIN))
        if name not in self.instances:
            raise ControlError(f"no instance {name!r}; running: {', '.join(self.instances)}")
        return self.instances[name]

    def _next_log(self, stem: str) -> Path:
        self._launches += 1
        return self.runtime.private / f"{stem}-{self._launches}.log"

    async def handle(self, request: Request) -> dict[str, Any]:
        """Carry out one request."""
        self.log.append(f"{request.op} {request.args}")
        args = request.args
        if request.op == "status":
            return await self.status()
        if request.op == "restart":
            return await self.restart(self._instance(args))
        if request.op == "signal":
            return await self.signal(
                self._instance(args), signal_number(args.get("signal", "SIGTERM")),
                float(args.get("wait", 10.0)),
            )  # fmt: skip
        if request.op == "start_instance":
            return await self.start_instance(args.get("env"))
        if request.op == "stop_instance":
            return await self.stop_instance(str(args.get("instance", "")))
        if request.op == "output":
            size = int(args.get("size", OUTPUT_SIZE))
            return {"text": self._instance(args).log_tail(size)}
        if request.op == "service":
            return await self.service(str(args.get("name", "")), str(args.get("action", "")))
        if request.op == "processes":
            return {"processes": await self._instance(args).proc.processes()}
        if request.op == "kill_process":
            return {"killed": await self._instance(args).proc.kill_matching(matched(args))}
        raise ControlError(f"operation {request.op!r} is not served here")

    async def status(self) -> dict[str, Any]:
        report = {}
        for name, running in self.instances.items():
            await running.refresh()
            report[name] = {
                "port": int(running.env["PORT"]),
                "base_url": running.base_url,
                "alive": running.alive,
            }
        return {"instances": report, "stopped_services": sorted(self.stopped_services)}

    async def restart(self, running: RunningSubmission) -> dict[str, Any]:
        await relaunch_submission(self.runtime, running, self.tool_env, self._next_log("server"))
        if not running.ready:
            raise ControlError(f"the server did not come back: {running.log_tail(800)}")
        return {"port": int(running.env["PORT"]), "seconds": running.ready_seconds}

    async def signal(self, running: RunningSubmission, signum: int, wait: float) -> dict[str, Any]:
        await running.proc.send_signal(signum)
        try:
            code: int | None = await asyncio.wait_for(running.proc.wait(), wait)
        except TimeoutError:
            return {"exited": False, "returncode": None}
        return {"exited": True, "returncode": code}

    async def start_instance(self, given_env: Any = None) -> dict[str, Any]:
        main = self.instances[MAIN]
        added = extra_env(given_env, main.env)
        port = self.runtime.port_for("extra")
        name = f"instance-{self._launches + 1}"
        env = {**main.env, **added, "PORT": str(port)}
        running = await launch_submission(self.runtime, env, self._next_log(name), self.tool_env)
        if not running.ready:
            await running.proc.kill()
            raise ControlError(f"the second instance did not start: {running.log_tail(800)}")
        self.instances[name] = running
        return {"instance": name, "port": port, "base_url": running.base_url}

    async def stop_instance(self, name: str) -> dict[str, Any]:
        if name == MAIN or name not in self.instances:
            raise ControlError(f"{name!r} is not an instance started with start_instance")
        running = self.instances.pop(name)
        await running.proc.kill()
        return {"instance": name}

    async def service(self, name: str, action: str) -> dict[str, Any]:
        if action not in SERVICE_ACTIONS:
            raise ControlError(f"unknown action {action!r}: use one of {SERVICE_ACTIONS}")
        try:
            await self.runtime.control_service(name, action)
        except Exception as ex:
            raise ControlError(f"{action} {name}: {ex}") from ex
        if action == "stop":
            self.stopped_services.add(name)
        else:
            self.stopped_services.discard(name)
        return {"name": name, "action": action}

    async def finish(self) -> None:
        """Leave the sample as the later stages expect it: one serving instance, every service."""
        for name in [n for n in self.instances if n != MAIN]:
            await self.instances.pop(name).proc.kill()
        for name in sorted(self.stopped_services):
            await self.runtime.control_service(name, "start")
        self.stopped_services.clear()
        main = self.instances[MAIN]
        await main.refresh()
        if not main.alive:
            self.log.append("restart (left stopped by the tests)")
            await relaunch_submission(self.runtime, main, self.tool_env, self._next_log("server"))


@contextlib.asynccontextmanager
async def harness_control(
    runtime: ScoringRuntime, running: RunningSubmission, tool_env: dict[str, str]
) -> AsyncIterator[tuple[str, HarnessControl]]:
    """Serve the control channel while the block runs; yield its address and the controller."""
    folder = Path(tempfile.mkdtemp(prefix="bbc-"))  # short: a socket path has at most 107 bytes
    folder.chmod(0o700)
    address = str(folder / "control.sock")
    control = HarnessControl(runtime, running, tool_env)
    server = await serve_control(address, control.handle)
    try:
        yield address, control
    finally:
        server.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), 5)
        shutil.rmtree(folder, ignore_errors=True)
        await control.finish()
