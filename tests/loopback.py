"""Small loopback HTTP servers for the probe tests: each on a port of its own, all shut down."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml


def write_openapi(folder: Path, document: dict[str, Any]) -> Path:
    """A toy service's contract as `folder/openapi.yaml`, the file the probe plan reads."""
    path = folder / "openapi.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@contextmanager
def loopback_servers() -> Iterator[Callable[[type[BaseHTTPRequestHandler]], str]]:
    """A function that serves a handler class on 127.0.0.1 and returns its base URL; every
    server it started is shut down when the block ends."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    try:
        yield start
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
