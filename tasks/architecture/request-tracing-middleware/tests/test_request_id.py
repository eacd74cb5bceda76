"""The request id: a valid X-Request-ID is kept exactly, anything else is replaced by a fresh
UUID4 and dropped (never echoed, never written), and every answer carries the id."""

from __future__ import annotations

import uuid

import pytest
from tracing_kit import (
    OUTPUT_BYTES,
    access_line,
    assert_error,
    is_uuid4,
    new_request_id,
    traced,
)


@pytest.mark.rules("health", "rid-valid", "rid-every-answer", "access-line")
def test_a_valid_request_id_is_kept_exactly(api, server):
    tail = uuid.uuid4().hex
    for sent in (
        new_request_id(),
        f"Z{tail}{tail}"[:64],  # 64 characters, the longest valid id
        f"a.b_C-9.{tail[:6]}",
    ):
        response = api.get("/health", headers={"X-Request-ID": sent})
        assert response.status_code == 200 and response.json() == {"status": "ok"}
        assert traced(response, sent) == sent
        assert access_line(server, sent)["path"] == "/health"
    single = api.get("/health", headers={"X-Request-ID": "7"})
    assert traced(single, "7") == "7"


@pytest.mark.rules("rid-generated", "rid-dropped", "rid-every-answer")
def test_an_invalid_request_id_is_replaced_by_a_fresh_uuid4_and_dropped(api, server):
    marker = uuid.uuid4().hex
    invalid: list[str | bytes] = [
        "Z" + marker * 2,  # 65 characters
        f"has space {marker}",
        f"a/{marker}",
        f'q"{marker}',
        f"a,{marker}",
        f"{marker};x",
        f"{marker}:x",
        f"caf\xe9-{marker}".encode("latin-1"),
        f"caf\u00e9-{marker}".encode(),
        f"tab\t{marker}",
    ]
    seen = set()
    for sent in invalid:
        response = api.get("/health", headers={"X-Request-ID": sent})
        assert response.status_code == 200, (sent, response.status_code)
        got = traced(response)  # a canonical lowercase UUID4
        assert is_uuid4(got) and got not in seen, (sent, got)
        seen.add(got)
        assert marker not in str(response.headers) and marker not in response.text
        assert access_line(server, got)["path"] == "/health"
    assert marker not in server.output(size=OUTPUT_BYTES), "an invalid id reached the output"


@pytest.mark.rules("rid-generated", "rid-every-answer")
def test_an_absent_or_empty_request_id_gets_a_new_uuid4_each_time(api):
    ids = set()
    for _ in range(5):
        ids.add(traced(api.get("/health")))
    ids.add(traced(api.get("/health", headers={"X-Request-ID": ""})))
    missing = api.get(f"/v1/nowhere-{uuid.uuid4().hex}")
    ids.add(assert_error(missing, 404, "not_found")["request_id"])
    assert len(ids) == 7 and all(is_uuid4(i) for i in ids), ids


@pytest.mark.rules("rid-duplicate", "rid-dropped")
def test_a_request_id_sent_twice_is_replaced(api, server):
    first, second = new_request_id(), new_request_id()
    response = api.get("/v1/tickets", headers=[("X-Request-ID", first), ("X-Request-ID", second)])
    assert response.status_code == 200
    got = traced(response)
    assert got not in (first, second)
    same = api.get("/health", headers=[("X-Request-ID", first), ("X-Request-ID", first)])
    assert traced(same) != first
    access_line(server, got)
    output = server.output(size=OUTPUT_BYTES)
    assert first not in output and second not in output
