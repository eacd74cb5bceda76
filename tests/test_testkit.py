"""The test kit's pure parts: the deadline HTTP client and the control channel's protocol."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from backbench.testkit import FIXTURE_NAMES
from backbench.testkit.control import (
    ControlClient,
    ControlError,
    Request,
    encode_response,
    parse_request,
    parse_response,
    serve_control,
    signal_number,
)
from backbench.testkit.http import DeadlineExceeded, deadline_client

Behaviour = Callable[[socket.socket], None]


def dribble(conn: socket.socket) -> None:
    """Answer at once, then send the body one byte every 0.2 s: every read is quick."""
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")
    for _ in range(100):
        conn.sendall(b"x")
        time.sleep(0.2)


def stall(conn: socket.socket) -> None:
    """Accept, read the request, never answer."""
    conn.recv(65536)
    time.sleep(30)


def answer(conn: socket.socket) -> None:
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


@pytest.fixture
def http_server() -> Iterator[Callable[[Behaviour], str]]:
    """serve(behaviour) -> the URL of a loopback server treating every connection so."""
    sockets: list[socket.socket] = []

    def serve(behaviour: Behaviour) -> str:
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        sockets.append(srv)

        def handle(conn: socket.socket) -> None:
            try:
                behaviour(conn)
            except OSError:
                pass
            finally:
                conn.close()

        def loop() -> None:
            while True:
                try:
                    conn, _ = srv.accept()
                except OSError:
                    return
                threading.Thread(target=handle, args=(conn,), daemon=True).start()

        threading.Thread(target=loop, daemon=True).start()
        return f"http://127.0.0.1:{srv.getsockname()[1]}"

    yield serve
    for srv in sockets:
        srv.close()


def timed(call: Callable[[], Any]) -> tuple[BaseException | None, float]:
    start = time.monotonic()
    try:
        call()
    except Exception as ex:
        return ex, time.monotonic() - start
    return None, time.monotonic() - start


def test_dribbling_body_is_cut_at_the_total_deadline(http_server: Any) -> None:
    url = http_server(dribble)
    with deadline_client(url, deadline=1.0) as client:
        error, seconds = timed(lambda: client.get("/items"))
    assert isinstance(error, DeadlineExceeded)
    assert "GET /items" in str(error) and "1 s deadline" in str(error)
    assert 0.9 < seconds < 1.5


def test_stalled_server_is_cut_at_a_per_request_deadline(http_server: Any) -> None:
    url = http_server(stall)
    with deadline_client(url, deadline=10.0) as client:
        error, seconds = timed(lambda: client.post("/x", extensions={"deadline": 0.5}))
    assert isinstance(error, DeadlineExceeded) and error.deadline == 0.5
    assert isinstance(error, httpx.TimeoutException)
    assert seconds < 1.0


def test_the_kits_clients_share_one_ssl_context_and_still_verify() -> None:
    # a fresh context a client cost 30-60 ms, and a hidden test makes about two clients
    with deadline_client("http://127.0.0.1:1") as one, deadline_client("http://x") as two:
        pools = [c._transport._pool for c in (one, two)]  # type: ignore[attr-defined]
        assert pools[0]._ssl_context is pools[1]._ssl_context is not None
        context = pools[0]._ssl_context
    assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_each_worker_thread_keeps_its_own_deadline(http_server: Any) -> None:
    slow, fast = http_server(dribble), http_server(answer)
    with deadline_client(slow, deadline=0.6) as client:

        def one(i: int) -> str:
            if i % 2:
                return client.get(f"{fast}/ok").text
            try:
                client.get("/slow")
            except DeadlineExceeded:
                return "cut"
            return "not cut"

        with ThreadPoolExecutor(4) as pool:
            start = time.monotonic()
            results = list(pool.map(one, range(4)))
    assert results == ["cut", "ok", "cut", "ok"]
    assert time.monotonic() - start < 2.0


def test_a_prompt_answer_passes(http_server: Any) -> None:
    with deadline_client(http_server(answer), deadline=2.0) as client:
        assert client.get("/").text == "ok"


def test_refused_connection_is_a_connect_error_not_a_deadline() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with deadline_client(f"http://127.0.0.1:{port}", deadline=2.0) as client:
        with pytest.raises(httpx.ConnectError):
            client.get("/")


# -- the control channel's protocol ------------------------------------------------------------


def test_request_round_trip() -> None:
    request = Request("signal", {"signal": "SIGTERM", "wait": 3}, 12.0)
    assert parse_request(request.encode()) == request


@pytest.mark.parametrize(
    "line",
    [b"not json", b'{"op": "format_disk"}', b'{"op": "restart", "timeout": -1}',
     b'{"op": "restart", "args": [1]}', b"[]"],
)  # fmt: skip
def test_invalid_requests_are_refused(line: bytes) -> None:
    with pytest.raises(ControlError):
        parse_request(line)


def test_timeout_is_capped() -> None:
    assert parse_request(b'{"op": "status", "timeout": 99999}').timeout == 120.0


def test_responses_round_trip_and_errors_raise() -> None:
    assert parse_response(encode_response({"port": 8000})) == {"port": 8000}
    with pytest.raises(ControlError, match="no such instance"):
        parse_response(encode_response(error="no such instance"))
    with pytest.raises(ControlError, match="malformed"):
        parse_response(b"")


def test_signal_names() -> None:
    assert signal_number("SIGTERM") == signal_number("term") == 15
    with pytest.raises(ControlError):
        signal_number("SIGNOPE")


@pytest.fixture
def control_server() -> Iterator[Callable[..., str]]:
    """serve(handler) -> the address of a control server running in a thread of its own."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    folder = Path(tempfile.mkdtemp(prefix="bbt-"))

    def serve(handler: Any) -> str:
        address = str(folder / "c.sock")
        asyncio.run_coroutine_threadsafe(serve_control(address, handler), loop).result(5)
        return address

    yield serve
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def test_client_and_server_exchange_results_and_errors(control_server: Any) -> None:
    async def handler(request: Request) -> dict[str, Any]:
        if request.op == "status":
            return {"echo": request.args}
        raise ControlError("refused")

    client = ControlClient(control_server(handler))
    assert client.call("status", x=1) == {"echo": {"x": 1}}
    with pytest.raises(ControlError, match="refused"):
        client.call("restart")


def test_an_operation_is_bounded_by_its_timeout(control_server: Any) -> None:
    async def handler(request: Request) -> dict[str, Any]:
        await asyncio.sleep(30)
        return {}

    client = ControlClient(control_server(handler))
    error, seconds = timed(lambda: client.call("restart", timeout=0.5))
    assert isinstance(error, ControlError) and "did not finish" in str(error)
    assert seconds < 2.0


def test_unreachable_channel_is_a_control_error(tmp_path: Path) -> None:
    with pytest.raises(ControlError, match="unreachable"):
        ControlClient(str(tmp_path / "none.sock")).call("status")


def test_the_plugin_provides_every_promised_fixture() -> None:
    import backbench.testkit.peers as peers
    import backbench.testkit.plugin as plugin

    assert plugin.pytest_plugins == ["backbench.testkit.peers"]
    found = {n for n in FIXTURE_NAMES if callable(getattr(plugin, n, getattr(peers, n, None)))}
    assert found == FIXTURE_NAMES


KIT_RUN = """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_one_request(api, n):
    assert api.get("/x", extensions={"deadline": 0.3}).status_code == 200
"""


@pytest.mark.parametrize("behaviour", [stall, answer])
def test_the_kit_stops_testing_a_server_that_keeps_missing_deadlines(
    http_server: Any, tmp_path: Path, behaviour: Behaviour
) -> None:
    from backbench.scoring.functional import FunctionalEvidence, functional_verdict
    from backbench.testkit.http import MAX_DEADLINE_MISSES

    (tmp_path / "test_kit_run.py").write_text(KIT_RUN)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    env = {**os.environ, "BASE_URL": http_server(behaviour), "APP_SECRET": "s"}
    env.pop("BACKBENCH_OPENAPI", None)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "backbench.testkit.plugin",
         "-p", "no:cacheprovider", "-p", "no:schemathesis", "--junitxml",
         str(tmp_path / "junit.xml"), str(tmp_path)],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    result = functional_verdict(
        FunctionalEvidence(proc.returncode, (tmp_path / "junit.xml").read_text())
    )
    if behaviour is answer:
        assert result.correct and not result.out_of_time, proc.stdout
        return
    assert not result.correct and result.fraction == 0, proc.stdout
    stopped = [c for c in result.failed if "not run" in c.message]
    # the misses end the testing: the rest fail at once, without a request each
    assert len(stopped) == 6 - MAX_DEADLINE_MISSES, proc.stdout
    assert "stopped early" in result.out_of_time
