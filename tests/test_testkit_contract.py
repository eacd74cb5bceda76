"""The kit checks every response against the scenario's openapi.yaml: both directions."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from backbench.contract import ContractValidator
from backbench.testkit.http import deadline_client
from backbench.testkit.plugin import ContractViolation, contract_hook

DOCUMENT = {
    "openapi": "3.1.0",
    "info": {"title": "t", "version": "1"},
    "paths": {
        "/items/{id}": {
            "get": {
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
                ],
                "responses": {
                    "200": {
                        "description": "an item",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["id", "created_at"],
                                    "properties": {
                                        "id": {"type": "integer"},
                                        "created_at": {"type": "string", "format": "date-time"},
                                    },
                                }
                            }
                        },
                    }
                },
            }
        }
    },
}
ANSWERS = {
    "/items/1": (200, {"id": 1, "created_at": "2026-01-01T00:00:00+00:00"}),
    "/items/2": (200, {"id": "2", "created_at": "2026-01-01T00:00:00+00:00"}),
    "/items/3": (200, {"id": 3, "created_at": "yesterday"}),
    "/items/4": (404, {"error": "gone"}),
    "/undocumented": (200, {"anything": True}),
}


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = ANSWERS[self.path]
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def checked_client(base_url: str) -> httpx.Client:
    client = deadline_client(base_url, deadline=5)
    client.event_hooks["response"] = [contract_hook(ContractValidator(DOCUMENT))]
    return client


def test_a_conforming_response_passes(base_url: str) -> None:
    with checked_client(base_url) as client:
        assert client.get("/items/1").json()["id"] == 1


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/items/2", "body.id: '2' is not of type 'integer'"),
        ("/items/3", "is not a 'date-time'"),
        ("/items/4", "404"),
    ],
)
def test_a_response_the_contract_forbids_fails_naming_where_and_why(
    base_url: str, path: str, needle: str
) -> None:
    with checked_client(base_url) as client, pytest.raises(ContractViolation) as caught:
        client.get(path)
    assert f"GET {path}" in str(caught.value) and needle in str(caught.value)


def test_an_undocumented_path_is_the_tests_own_choice(base_url: str) -> None:
    with checked_client(base_url) as client:
        assert client.get("/undocumented").status_code == 200
