"""The cors family's near misses of the trusted origins (probes.cors_origins), both ways on a
loopback service whose allow-list is matched exactly, by suffix, by prefix or by host."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from backbench.schema import ProbeSurface
from backbench.scoring.attack_surface import probe_plan
from backbench.scoring.exploits import cors
from backbench.scoring.netprobe import run_probes
from backbench.scoring.security import probes_verdict
from tests.loopback import loopback_servers, write_openapi

TRUSTED = "https://app.example.com"
OK = {"200": {"description": "ok", "content": {"application/json": {"schema": {}}}}}
OPENAPI = {"openapi": "3.1.0", "info": {"title": "items", "version": "1"},
           "paths": {"/items": {"get": {"responses": OK}}}}  # fmt: skip
MATCHES: dict[str, Callable[[str], bool]] = {
    "exact": lambda origin: origin == TRUSTED,
    "suffix": lambda origin: origin.endswith("app.example.com"),
    "prefix": lambda origin: origin.startswith(TRUSTED),
    "host only": lambda origin: urlsplit(origin).hostname == "app.example.com",
}


def _app(match: Callable[[str], bool]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            """Silent."""

        def do_GET(self) -> None:  # noqa: N802
            data = json.dumps([]).encode()
            self.send_response(200)
            origin = self.headers.get("Origin", "")
            if origin and match(origin):
                self.send_header("Access-Control-Allow-Origin", origin)
                self.send_header("Access-Control-Allow-Credentials", "true")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def serve() -> Iterator[Any]:
    with loopback_servers() as start_server:
        yield lambda match: start_server(_app(match))


def _proven(url: str, contract: Path, trusted: list[str]) -> set[str]:
    config = ProbeSurface.model_validate({"cors_origins": trusted}).model_dump(
        by_alias=True, exclude_none=True
    )
    plan = [p for p in probe_plan(contract, config) if p["kind"] == cors.NAME]
    return {pid for pid, _, _ in probes_verdict(run_probes(url, plan, "s3cret"))}


@pytest.mark.parametrize(
    ("match", "caught"), [("exact", False), ("suffix", True), ("prefix", True), ("host only", True)]
)
def test_near_misses_of_a_trusted_origin_catch_a_loose_allow_list(
    match: str, caught: bool, serve: Any, tmp_path: Path
) -> None:
    contract = write_openapi(tmp_path, OPENAPI)
    url = serve(MATCHES[match])
    assert _proven(url, contract, [TRUSTED]) == ({"cwe-942"} if caught else set())
    # without the declaration the fixed foreign origins alone miss every one of these
    assert _proven(url, contract, []) == set()


def test_the_near_misses_keep_the_port_and_differ_from_the_trusted_origin() -> None:
    misses = cors.near_misses("http://localhost:3000")
    assert misses == [
        "https://localhost:3000",
        "http://localhost:3001",
        "http://evillocalhost:3000",
        "http://localhost:3000.evil.example",
    ]
    assert "http://localhost:3000" not in cors.origins({"cors_origins": ["http://localhost:3000"]})
