"""Serve the control channel inside a sandbox while pytest runs there (docker, k8s: exec path).

    python -I -m backbench.testkit.supervisor --spec SPEC --state STATE -- python -m pytest ...

Runs as root inside the sandbox, next to the submission. It serves backbench.testkit.control on
a unix socket in a root-only folder of its own, runs the command with `$BACKBENCH_CONTROL`
set, exits with the command's exit code, and writes STATE (`{"ops": [...], "replaced": bool}`).
The launch spec, written by the harness into its root-only folder, says how the submission was
started and how to stop and start the services:

    {"main": {"pid": 123, "port": 8000, "log": "/tmp/server.log"},
     "launch": {"argv": ["./start.sh"], "env": {...}, "user": "agent", "cwd": "/workspace"},
     "extra_port": 8001,
     "services": {"postgres": {"stop": [...], "start": [...]}}}

When the command ends it stops every instance it started (the main one too, if it restarted
it: the harness then starts the submission again itself) and starts any service it stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backbench import procinfo
from backbench.testkit.control import (
    CONTROL_ENV,
    SERVICE_ACTIONS,
    ControlError,
    Request,
    extra_env,
    matched,
    serve_control,
    signal_number,
)

CONTROL_STATE = "control-state.json"
READY_TIMEOUT = 30.0
KILL_WAIT = 5.0
SERVICE_TIMEOUT = 60.0
OUTPUT_SIZE = 65536


@dataclass
class Instance:
    """One process group of the submission."""

    pid: int
    port: int
    log: Path
    proc: asyncio.subprocess.Process | None = None  # None: started by the harness, not by us

    @property
    def alive(self) -> bool:
        return _alive(self.pid)

    def output(self, size: int) -> str:
        try:
            data = self.log.read_bytes()
        except OSError:
            return ""
        return data[-size:].decode(errors="replace")


def _task_state(task: Path) -> str:
    """The state letter of a /proc task (R, S, Z...); "" when it is gone."""
    try:
        return (task / "stat").read_text().rsplit(")", 1)[-1].split()[0]
    except (OSError, IndexError):
        return ""


def _alive(pid: int) -> bool:
    """Whether any thread of process `pid` runs (a zombie, exited but not reaped, does not).

    Every thread, not the first one's state alone: a killed process's first thread can be a
    zombie while its other threads are still exiting and its files, the listening socket among
    them, are still open. A uvicorn submission shows this on a restart: judged gone by its first
    thread, the old server still held the port and answered the new one's readiness probe.
    """
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return False
    return any(_task_state(task) not in ("", "Z", "X") for task in tasks)


def _group_alive(pid: int) -> bool:
    """Whether `pid` or any process of its process group runs: any of them can hold the port."""
    return _alive(pid) or any(_alive(member) for member in procinfo.group_members(pid))


async def _wait_group_gone(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` s for `pid` and its process group to exit; whether they did."""
    deadline = time.monotonic() + timeout
    while _group_alive(pid):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(0.05)
    return True


def _kill_group(pid: int, signum: int = signal.SIGKILL) -> None:
    for target in (lambda: os.killpg(pid, signum), lambda: os.kill(pid, signum)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            target()
    if signum == signal.SIGKILL:  # and what left the group but not the session or the tree
        procinfo.kill_members(pid)


async def _wait_gone(instance: Instance, timeout: float) -> int | None:
    """Wait up to `timeout` s for the instance's main process to exit; its code if known."""
    if instance.proc is not None:
        with contextlib.suppress(TimeoutError):
            return await asyncio.wait_for(instance.proc.wait(), timeout)
        return None
    deadline = time.monotonic() + timeout
    while _alive(instance.pid) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return None


async def _port_accepts(port: int, timeout: float, instance: Instance) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and instance.alive:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            await asyncio.sleep(0.1)
    return False


@dataclass
class Supervisor:
    """The control channel's operations, by local process control."""

    spec: dict[str, Any]
    folder: Path  # root-only: the socket and the logs of the instances we start
    instances: dict[str, Instance] = field(default_factory=dict)
    stopped_services: set[str] = field(default_factory=set)
    ops: list[str] = field(default_factory=list)
    replaced: bool = False
    _launches: int = 0

    def __post_init__(self) -> None:
        main = self.spec["main"]
        self.instances["main"] = Instance(int(main["pid"]), int(main["port"]), Path(main["log"]))

    def _instance(self, args: dict[str, Any]) -> Instance:
        name = str(args.get("instance", "main"))
        if name not in self.instances:
            raise ControlError(f"no instance {name!r}; running: {', '.join(self.instances)}")
        return self.instances[name]

    async def handle(self, request: Request) -> dict[str, Any]:
        """Carry out one request."""
        self.ops.append(f"{request.op} {request.args}")
        args = request.args
        if request.op == "status":
            return {
                "instances": {
                    n: {"port": i.port, "base_url": f"http://127.0.0.1:{i.port}", "alive": i.alive}
                    for n, i in self.instances.items()
                },
                "stopped_services": sorted(self.stopped_services),
            }
        if request.op == "restart":
            return await self.restart(str(args.get("instance", "main")))
        if request.op == "signal":
            instance = self._instance(args)
            self.replaced = self.replaced or instance is self.instances["main"]
            with contextlib.suppress(ProcessLookupError):
                os.kill(instance.pid, signal_number(args.get("signal", "SIGTERM")))
            wait = float(args.get("wait", 10.0))
            code = await _wait_gone(instance, wait)
            return {"exited": not instance.alive, "returncode": code}
        if request.op == "start_instance":
            return await self.start_instance(args.get("env"))
        if request.op == "stop_instance":
            name = str(args.get("instance", ""))
            if name == "main" or name not in self.instances:
                raise ControlError(f"{name!r} is not an instance started with start_instance")
            await self._stop(self.instances.pop(name))
            return {"instance": name}
        if request.op == "output":
            return {"text": self._instance(args).output(int(args.get("size", OUTPUT_SIZE)))}
        if request.op == "service":
            return await self.service(str(args.get("name", "")), str(args.get("action", "")))
        if request.op == "processes":
            return {"processes": procinfo.processes(self._instance(args).pid)}
        if request.op == "kill_process":
            instance = self._instance(args)
            # the harness restores a main instance a test has killed part of before it goes on
            self.replaced = self.replaced or instance is self.instances["main"]
            return {"killed": procinfo.kill_matching(instance.pid, matched(args))}
        raise ControlError(f"operation {request.op!r} is not served here")

    async def _spawn(self, port: int, name: str, added: dict[str, str] | None = None) -> Instance:
        launch = self.spec["launch"]
        self._launches += 1
        log = self.folder / f"{name}-{self._launches}.log"
        user = launch.get("user")
        ids: dict[str, Any] = {}
        if user and os.geteuid() == 0:
            entry = pwd.getpwnam(user)
            ids = {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}
        with log.open("wb") as out:
            proc = await asyncio.create_subprocess_exec(
                *launch["argv"], env={**launch["env"], **(added or {}), "PORT": str(port)},
                cwd=launch["cwd"],
                stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=asyncio.subprocess.STDOUT,
                start_new_session=True, **ids,
            )  # fmt: skip
        instance = Instance(proc.pid, port, log, proc)
        if not await _port_accepts(port, READY_TIMEOUT, instance):
            await self._stop(instance)
            raise ControlError(f"{name} did not accept on port {port}: {instance.output(800)}")
        return instance

    async def _stop(self, instance: Instance) -> bool:
        """Kill the instance's process group; whether all of it exited within KILL_WAIT.

        The whole group, not its first process alone: a server that start.sh runs without
        `exec`, or a worker, holds the port as long as it runs.
        """
        _kill_group(instance.pid)
        await _wait_gone(instance, KILL_WAIT)  # reaps it, if it is our child
        return await _wait_group_gone(instance.pid, KILL_WAIT)

    async def restart(self, name: str) -> dict[str, Any]:
        old = self._instance({"instance": name})
        started = time.monotonic()
        self.replaced = self.replaced or name == "main"
        if not await self._stop(old):
            # a new server could not bind the port, and its readiness probe would reach the old
            raise ControlError(f"{name} did not exit within {KILL_WAIT:g} s of SIGKILL")
        self.instances[name] = await self._spawn(old.port, name)
        return {"port": old.port, "seconds": round(time.monotonic() - started, 2)}

    async def start_instance(self, given_env: Any = None) -> dict[str, Any]:
        added = extra_env(given_env, self.spec["launch"]["env"])
        port = int(self.spec.get("extra_port", self.instances["main"].port + 1)) + self._launches
        name = f"instance-{self._launches + 1}"
        self.instances[name] = await self._spawn(port, name, added)
        return {"instance": name, "port": port, "base_url": f"http://127.0.0.1:{port}"}

    async def service(self, name: str, action: str) -> dict[str, Any]:
        commands = self.spec.get("services", {}).get(name)
        if action not in SERVICE_ACTIONS:
            raise ControlError(f"unknown action {action!r}: use one of {SERVICE_ACTIONS}")
        if not commands:
            raise ControlError(
                f"{name} cannot be stopped or started in this sandbox (see sandboxes/README.md)"
            )
        for step in ("stop", "start") if action == "restart" else (action,):
            await _run_command(commands[step], f"{step} {name}")
        if action == "stop":
            self.stopped_services.add(name)
        else:
            self.stopped_services.discard(name)
        return {"name": name, "action": action}

    async def finish(self) -> None:
        """Stop what we started; start what we stopped."""
        for instance in list(self.instances.values()):
            if instance.proc is not None:
                await self._stop(instance)
        for name in sorted(self.stopped_services):
            with contextlib.suppress(ControlError):
                await _run_command(self.spec["services"][name]["start"], f"start {name}")


async def _run_command(argv: list[str], what: str) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), SERVICE_TIMEOUT)
    except TimeoutError:
        _kill_group(proc.pid)
        raise ControlError(f"{what}: no result within {SERVICE_TIMEOUT:g} s") from None
    if proc.returncode != 0:
        raise ControlError(f"{what} failed: {out.decode(errors='replace')[-400:]}")


async def supervise(spec: dict[str, Any], state: Path, argv: list[str]) -> int:
    """Run `argv` with the control channel served; return its exit code."""
    folder = Path(tempfile.mkdtemp(prefix="bbc-"))
    folder.chmod(0o700)
    supervisor = Supervisor(spec, folder)
    address = str(folder / "control.sock")
    server = await serve_control(address, supervisor.handle)
    try:
        child = await asyncio.create_subprocess_exec(
            *argv, env={**os.environ, CONTROL_ENV: address}
        )
        code = await child.wait()
    finally:
        server.close()
        await supervisor.finish()
        state.write_text(json.dumps({"ops": supervisor.ops, "replaced": supervisor.replaced}))
        shutil.rmtree(folder, ignore_errors=True)
    return code


def main(args: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", required=True, type=Path)
    parser.add_argument("--state", required=True, type=Path)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args(args)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    if not command:
        parser.error("no command to run")
    spec = json.loads(options.spec.read_text())
    return asyncio.run(supervise(spec, options.state, command))


if __name__ == "__main__":
    sys.exit(main())
