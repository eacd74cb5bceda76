"""Run a scenario's peers on loopback until killed (or `max_seconds` pass).

    python -I -m backbench.peers.serve --spec DIR/spec.json     # token in $BACKBENCH_PEERS_TOKEN
    python -I -m backbench.peers.serve --wait DIR --timeout S   # print DIR/ready.json once written

The spec is JSON: `{"peers": [{"kind": "smtp", "port": 2525, "admin_port": 9025}, ...],
"limits": {...}, "max_seconds": 7200}`; a port of 0 takes any free one. Once every port listens,
`ready.json` beside the spec gives the ports taken, `{"smtp": {"port": .., "admin_port": ..}}`;
if the peers cannot start, `failed.json` says why. The waiter runs where the tests will run, so
the harness learns the ports through the same path as everything else it reads from a sample.

Admin API (every peer, on its admin port, `Authorization: Bearer <token>` required, else 401):
    GET  /health               {"kind", "port"}
    GET  /records?since=N      {"items": [...], "total", "dropped"}: requests, messages or calls
    POST /reset                forget the records (and the sink's answer, the upstream's programs)
    POST /configure            http_sink: {"status": 500, "json": ...}, its answer from now on
    POST /program              upstream: {"method", "path", "status", "json", "headers",
                               "delay_ms", "fail_times", "fail_status", "drop"}
    POST /login, /tamper,      oidc: the user who logs in next, what the next ID tokens get
         /fault, /mint         wrong, an endpoint's faults, a token minted (backbench.peers.oidc)
    POST /fault, /object,      s3: faults by method and path prefix; the store read and written
         /bucket; GET /objects, /object    past its front (backbench.peers.s3)
    GET  /charges; POST /fault payments: every charge made; a route's faults (peers.payments)
"""

from __future__ import annotations

import argparse
import asyncio
import hmac
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Protocol

from backbench.peers._http import Handler, HttpServer, Request, Response
from backbench.peers.kinds import LOOPBACK, PEER_KINDS, TOKEN_ENV
from backbench.peers.limits import Limits
from backbench.peers.oidc import OidcPeer
from backbench.peers.payments import PaymentsPeer
from backbench.peers.s3 import S3Peer, start_store
from backbench.peers.sink import SinkPeer
from backbench.peers.smtp import SmtpPeer
from backbench.peers.store import Store
from backbench.peers.upstream import UpstreamPeer

READY_FILE, FAILED_FILE = "ready.json", "failed.json"
MAX_SECONDS = 4 * 3600
MIN_TOKEN_LENGTH = 16
ADMIN_BODY_CAP = 1024 * 1024


class Peer(Protocol):
    """What the admin API needs of a peer."""

    kind: str
    store: Store

    def reset(self) -> None: ...

    def admin(self, request: Request) -> Response | None: ...


def admin_handler(peer: Peer, token: str, port: int) -> Handler:
    """The admin API of one peer, behind the bearer token."""
    expected = f"Bearer {token}".encode()

    async def handle(request: Request) -> Response:
        given = (request.header("authorization") or "").encode()
        if not hmac.compare_digest(given, expected):
            return Response.of_json(401, {"error": "admin token required"})
        route = (request.method, request.path)
        if route == ("GET", "/health"):
            return Response.of_json(200, {"kind": peer.kind, "port": port})
        if route == ("GET", "/records"):
            since = request.params().get("since", "0")
            if not since.isdigit():
                return Response.of_json(422, {"error": "since must be a number"})
            return Response.of_json(200, peer.store.snapshot(int(since)))
        if route == ("POST", "/reset"):
            peer.reset()
            return Response.of_json(200, {"reset": peer.kind})
        try:
            answer = peer.admin(request)
        except ValueError as ex:
            return Response.of_json(400, {"error": f"bad request body: {ex}"})
        return answer or Response.of_json(404, {"error": "no such admin route"})

    return handle


def make_peer(
    kind: str, limits: Limits, folder: Path
) -> SinkPeer | SmtpPeer | UpstreamPeer | OidcPeer | S3Peer | PaymentsPeer:
    """A peer of a known kind."""
    if kind == "http_sink":
        return SinkPeer(limits)
    if kind == "smtp":
        return SmtpPeer(limits)
    if kind == "upstream":
        return UpstreamPeer(limits)
    if kind == "oidc":
        return OidcPeer(limits)
    if kind == "payments":
        return PaymentsPeer(limits)
    if kind == "s3":  # its store listens on a socket in the peers' own folder
        return S3Peer(limits, start_store(folder))
    raise ValueError(f"unknown peer kind {kind!r}; known: {sorted(PEER_KINDS)}")


async def start_peer(
    entry: dict[str, Any], token: str, limits: Limits, folder: Path
) -> tuple[str, list[asyncio.Server]]:
    """Start one peer and its admin API on loopback; its kind and listening servers."""
    kind = str(entry["kind"])
    peer = make_peer(kind, limits, folder)
    port, admin_port = int(entry.get("port", 0)), int(entry.get("admin_port", 0))
    if isinstance(peer, SmtpPeer):
        service = await peer.start(LOOPBACK, port)
    elif isinstance(peer, S3Peer):  # it keeps whole uploads: the store needs them
        service = await HttpServer(peer.handle, limits, limits.max_body).start(LOOPBACK, port)
    else:
        service = await HttpServer(peer.handle, limits, limits.body_cap).start(LOOPBACK, port)
    bound = _port_of(service)
    if isinstance(peer, OidcPeer):  # its issuer URL names the port it took
        peer.bind(f"http://{LOOPBACK}:{bound}")
    if isinstance(peer, S3Peer):
        await asyncio.to_thread(peer.bind, f"{LOOPBACK}:{bound}")
    admin = HttpServer(admin_handler(peer, token, bound), limits, ADMIN_BODY_CAP)
    return kind, [service, await admin.start(LOOPBACK, admin_port)]


def _port_of(server: asyncio.Server) -> int:
    return int(server.sockets[0].getsockname()[1])


def _write_atomically(path: Path, payload: dict[str, Any]) -> None:
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps(payload))
    os.replace(partial, path)


async def serve(spec_file: Path, token: str) -> None:
    """Start every peer of the spec, report the ports, and serve until `max_seconds` pass."""
    spec = json.loads(spec_file.read_text())
    limits = Limits.from_mapping(spec.get("limits") or {})
    ready: dict[str, dict[str, int]] = {}
    servers: list[asyncio.Server] = []
    for entry in spec["peers"]:
        kind, started = await start_peer(entry, token, limits, spec_file.parent)
        servers += started
        ready[kind] = {"port": _port_of(started[0]), "admin_port": _port_of(started[1])}
    _write_atomically(spec_file.parent / READY_FILE, ready)
    await asyncio.sleep(min(float(spec.get("max_seconds", MAX_SECONDS)), MAX_SECONDS))
    for server in servers:
        server.close()


def wait_ready(folder: Path, timeout: float) -> int:
    """Print the ready file once it exists (exit 0), or why the peers failed (exit 1)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, code in ((READY_FILE, 0), (FAILED_FILE, 1)):
            if (folder / name).exists():
                print((folder / name).read_text())
                return code
        time.sleep(0.05)
    print(json.dumps({"error": f"peers not ready within {timeout:.0f} s"}))
    return 1


def main(argv: list[str] | None = None) -> int:
    """Serve the peers of a spec, or wait for them to be ready."""
    parser = argparse.ArgumentParser(prog="backbench.peers.serve")
    parser.add_argument("--spec", type=Path)
    parser.add_argument("--wait", type=Path)
    parser.add_argument("--timeout", type=float, default=15.0)
    args = parser.parse_args(argv)
    if args.wait is not None:
        return wait_ready(args.wait, args.timeout)
    if args.spec is None:
        parser.error("--spec or --wait is required")
    token = os.environ.get(TOKEN_ENV, "")
    try:
        if len(token) < MIN_TOKEN_LENGTH:
            raise ValueError(f"${TOKEN_ENV} must hold a token of {MIN_TOKEN_LENGTH}+ characters")
        asyncio.run(serve(args.spec, token))
    except (OSError, ValueError, KeyError) as ex:
        _write_atomically(args.spec.parent / FAILED_FILE, {"error": f"{type(ex).__name__}: {ex}"})
        print(f"peers failed: {ex}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
