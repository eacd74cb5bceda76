"""The control channel: a hidden test asks the harness to act on the submission or its services.

One protocol, one client, one server loop, two places that serve it:
- namespace and host sandboxes: the harness process itself (`backbench.scoring.control`), on a
  unix socket in a root-only folder, since pytest runs on the harness's filesystem;
- docker and k8s: `backbench.testkit.supervisor`, which wraps pytest inside the sandbox as root
  and controls the processes there.

The socket's address reaches pytest in `$BACKBENCH_CONTROL`. One request per connection, one
JSON object per line each way:

    {"op": "restart", "args": {"instance": "main"}, "timeout": 40}
    {"ok": true, "result": {"port": 8000, "seconds": 1.2}}   or   {"ok": false, "error": "..."}

Every operation is bounded by its `timeout` on the server side, and the client waits a little
longer than that at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import signal
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

CONTROL_ENV = "BACKBENCH_CONTROL"
ADMIN_DATABASE_ENV = "BACKBENCH_ADMIN_DATABASE_URL"
PEERS_ENV = "BACKBENCH_PEERS"
OPENAPI_ENV = "BACKBENCH_OPENAPI"  # the scenario's published contract, a harness-private copy

# op -> what it does (the handlers in backbench.scoring.control and the supervisor implement them)
OPS = {
    "status": "the instances, their ports and whether they run",
    "restart": "stop an instance's whole process group, start it again, wait for its port",
    "signal": "send a signal to an instance's main process; wait for its exit up to `wait` s",
    "start_instance": "start another instance on another port (same database and Redis), with "
    "`env` adding variables the harness does not set",
    "stop_instance": "stop an instance started with start_instance",
    "output": "the last `size` bytes an instance wrote (stdout and stderr)",
    "processes": "an instance's processes: pid, command line, memory now and at its peak (KiB)",
    "kill_process": "SIGKILL an instance's processes whose command line holds `match`",
    "service": "stop, start or restart a service (postgres, redis)",
}
SERVICE_ACTIONS = ("stop", "start", "restart")
DEFAULT_TIMEOUT = 40.0
MAX_TIMEOUT = 120.0
CLIENT_MARGIN = 5.0
MAX_MESSAGE = 1024 * 1024


class ControlError(RuntimeError):
    """The harness refused or failed an operation (or could not be reached)."""


# a variable a test may give a further instance: upper case, as the contracts name theirs
ENV_NAME = re.compile(r"[A-Z][A-Z0-9_]{0,63}")
MAX_ENV_VALUE = 4096


def extra_env(given: Any, harness_env: dict[str, str]) -> dict[str, str]:
    """The variables a test asks a further instance to start with, checked: new names only, so a
    test can give a setting the contract reads (a key list, a lifetime) but never redirect the
    harness's own (PORT, DATABASE_URL, APP_SECRET, PATH, ...)."""
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise ControlError("env must be an object of variable names to strings")
    for name, value in given.items():
        if not isinstance(name, str) or not ENV_NAME.fullmatch(name):
            raise ControlError(f"env name {name!r} is not an upper-case variable name")
        if name in harness_env or name.startswith("BACKBENCH_"):
            raise ControlError(f"env may not set {name}: the harness sets it")
        if not isinstance(value, str) or len(value) > MAX_ENV_VALUE or "\0" in value:
            raise ControlError(f"env {name} must be a string of at most {MAX_ENV_VALUE} characters")
    return dict(given)


def matched(args: dict[str, Any]) -> str:
    """The word of the command lines a kill_process asks to kill (never empty: that would be
    every process)."""
    word = args.get("match")
    if not isinstance(word, str) or not word.strip():
        raise ControlError("kill_process needs `match`: a word of the command line to kill")
    return word


def signal_number(name: str | int) -> int:
    """A signal given by name ("SIGTERM", "TERM") or number."""
    if isinstance(name, int):
        return name
    key = name.upper() if name.upper().startswith("SIG") else f"SIG{name.upper()}"
    try:
        return int(signal.Signals[key])
    except KeyError as ex:
        raise ControlError(f"unknown signal {name!r}") from ex


@dataclass(frozen=True)
class Request:
    """One operation asked of the harness."""

    op: str
    args: dict[str, Any] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT

    def encode(self) -> bytes:
        body = {"op": self.op, "args": self.args, "timeout": self.timeout}
        return (json.dumps(body) + "\n").encode()


def parse_request(line: bytes) -> Request:
    """The request in one line; ControlError when it is not a valid one."""
    try:
        data = json.loads(line)
    except ValueError as ex:
        raise ControlError(f"not JSON: {ex}") from ex
    if not isinstance(data, dict) or data.get("op") not in OPS:
        raise ControlError(f"unknown operation; known: {', '.join(sorted(OPS))}")
    args = data.get("args") or {}
    timeout = data.get("timeout", DEFAULT_TIMEOUT)
    if not isinstance(args, dict) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ControlError("args must be an object and timeout a positive number")
    return Request(str(data["op"]), args, min(float(timeout), MAX_TIMEOUT))


def encode_response(result: dict[str, Any] | None = None, error: str | None = None) -> bytes:
    """One response line: a result, or an error."""
    body = {"ok": False, "error": error} if error is not None else {"ok": True, "result": result}
    return (json.dumps(body) + "\n").encode()


def parse_response(line: bytes) -> dict[str, Any]:
    """The result in a response line; ControlError for an error or a malformed line."""
    try:
        data = json.loads(line)
    except ValueError as ex:
        raise ControlError(f"malformed answer from the harness: {line[:200]!r}") from ex
    if not isinstance(data, dict) or "ok" not in data:
        raise ControlError(f"malformed answer from the harness: {line[:200]!r}")
    if not data["ok"]:
        raise ControlError(str(data.get("error", "unknown error")))
    result = data.get("result")
    return result if isinstance(result, dict) else {}


class ControlClient:
    """The test side: sends one request per connection and waits, bounded, for its answer."""

    def __init__(self, address: str) -> None:
        self.address = address

    def call(self, op: str, timeout: float = DEFAULT_TIMEOUT, **args: Any) -> dict[str, Any]:
        """Ask for `op`; its result, or ControlError."""
        request = Request(op, args, min(timeout, MAX_TIMEOUT))
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(request.timeout + CLIENT_MARGIN)
            try:
                sock.connect(self.address)
                sock.sendall(request.encode())
                return parse_response(_read_line(sock))
            except TimeoutError as ex:
                raise ControlError(f"{op}: no answer within {request.timeout:g} s") from ex
            except OSError as ex:
                raise ControlError(f"{op}: control channel unreachable: {ex}") from ex


def _read_line(sock: socket.socket) -> bytes:
    data = bytearray()
    while b"\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) > MAX_MESSAGE:
            raise ControlError("answer too long")
    return bytes(data)


Handler = Callable[[Request], Awaitable[dict[str, Any]]]


async def serve_control(path: str, handle: Handler) -> asyncio.Server:
    """Serve the protocol on a unix socket; one operation at a time, each bounded in time."""
    lock = asyncio.Lock()

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            line = await asyncio.wait_for(reader.readline(), 10)
            try:
                request = parse_request(line)
                async with lock:
                    result = await asyncio.wait_for(handle(request), request.timeout)
                answer = encode_response(result)
            except TimeoutError:
                answer = encode_response(error=f"operation did not finish in {request.timeout:g} s")
            except ControlError as ex:
                answer = encode_response(error=str(ex))
            except Exception as ex:  # the test sees why; the server keeps serving
                answer = encode_response(error=f"{type(ex).__name__}: {ex}")
            writer.write(answer)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    return await asyncio.start_unix_server(on_connect, path=path, limit=MAX_MESSAGE)
