"""Discovery's placing of the parameters a handler reads: transport headers stay the client's."""

from __future__ import annotations

from typing import Any

import pytest

from backbench.scoring.exploits._discover import _add


def upload() -> dict[str, Any]:
    """A documented upload whose body is JSON and whose file name is a header."""
    return {
        "id": "createFile", "method": "POST", "path": "/v1/files",
        "params": [{"name": "X-File-Name", "in": "header", "required": True, "schema": {}}],
        "body": {"type": "object", "properties": {}},
    }  # fmt: skip


@pytest.mark.parametrize(
    "name", ["content-type", "Content-Type", "content-length", "Authorization", "host"]
)
def test_a_transport_header_the_code_reads_is_not_made_a_parameter(name: str) -> None:
    op = upload()
    assert _add(op, name, "header") is False
    assert [p["name"] for p in op["params"]] == ["X-File-Name"]


def test_an_input_header_the_code_reads_is_made_a_parameter() -> None:
    op = upload()
    assert _add(op, "X-Client-Id", "header") is True
    assert _add(op, "x-file-name", "header") is False  # documented already
    assert [p["name"] for p in op["params"]] == ["X-File-Name", "X-Client-Id"]
