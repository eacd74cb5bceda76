"""The routes themselves, the log lines they write (the access line, ticket_created), the slow
report's timing, and the right id on every line while requests overlap."""

from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from tracing_kit import (
    OUTPUT_BYTES,
    access_line,
    assert_error,
    json_lines,
    new_request_id,
    timing_ms,
    traced,
    wait_for_output,
)


def created_lines(text: str, request_id: str) -> list[dict]:
    return [
        line for line in json_lines(text)
        if line.get("event") == "ticket_created" and line.get("request_id") == request_id
    ]  # fmt: skip


@pytest.mark.rules("create-201", "priority-rules", "unknown-fields", "get-ticket",
                   "ticket-created-line", "access-line")  # fmt: skip
def test_a_ticket_is_created_stored_read_and_logged(api, db, server, unique):
    title = unique("Printer on fire")
    request_id = new_request_id()
    response = api.post(
        "/v1/tickets",
        json={"title": title, "id": 999999, "status": "closed"},
        headers={"X-Request-ID": request_id},
    )
    assert response.status_code == 201, response.text[:300]
    traced(response, request_id)
    ticket = response.json()
    assert ticket["title"] == title and ticket["priority"] == "normal", ticket
    assert ticket["id"] != 999999
    row = db.scalar("SELECT count(*) FROM tickets WHERE id = %s AND title = %s AND priority = %s",
                    (ticket["id"], title, "normal"))  # fmt: skip
    assert row == 1
    high = api.post("/v1/tickets", json={"title": title + "-h", "priority": "high"})
    assert high.status_code == 201 and high.json()["priority"] == "high", high.text
    read = api.get(f"/v1/tickets/{ticket['id']}")
    assert read.status_code == 200 and read.json() == ticket
    traced(read)
    found = created_lines(wait_for_output(server, lambda t: bool(created_lines(t, request_id))),
                          request_id)  # fmt: skip
    assert len(found) == 1, found
    assert found[0].get("ticket_id") == ticket["id"] and found[0].get("title") == title, found
    access = access_line(server, request_id)
    assert access["method"] == "POST" and access["path"] == "/v1/tickets", access
    assert access["status"] == 201 and isinstance(access["status"], int), access
    assert isinstance(access["duration_ms"], (int, float)) and access["duration_ms"] >= 0, access


@pytest.mark.rules("title-rules", "priority-rules", "invalid-stores-nothing", "error-422")
def test_invalid_tickets_are_422_and_store_nothing(api, db, unique):
    title = unique("bad")
    bodies = [
        {},
        {"title": ""},
        {"title": "x" * 201},
        {"title": 12},
        {"title": None},
        {"title": [title]},
        {"title": title, "priority": "urgent"},
        {"title": title, "priority": "HIGH"},
        {"title": title, "priority": None},
        {"title": f"{title}\u0000"},
    ]
    for body in bodies:
        request_id = new_request_id()
        response = api.post("/v1/tickets", json=body, headers={"X-Request-ID": request_id})
        assert_error(response, 422, "validation_error", request_id)
    surrogate = ('{"title": "' + title + '\\ud800"}').encode()
    response = api.post("/v1/tickets", content=surrogate,
                        headers={"Content-Type": "application/json"})  # fmt: skip
    assert_error(response, 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM tickets WHERE title LIKE %s", (title + "%",)) == 0
    longest = api.post("/v1/tickets", json={"title": "\u00e9" * 200, "priority": "low"})
    assert longest.status_code == 201 and longest.json()["title"] == "\u00e9" * 200
    shortest = api.post("/v1/tickets", json={"title": "x", "priority": "low"})
    assert shortest.status_code == 201 and shortest.json()["title"] == "x"


@pytest.mark.rules("list-order", "list-limit")
def test_the_list_is_newest_first_and_limited(api, unique):
    ids = []
    for n in range(3):
        response = api.post("/v1/tickets", json={"title": unique(f"list{n}")})
        assert response.status_code == 201
        ids.append(response.json()["id"])
    newest = api.get("/v1/tickets?limit=3")
    assert newest.status_code == 200
    traced(newest)
    items = newest.json()["items"]
    assert [t["id"] for t in items] == sorted(ids, reverse=True), items
    assert len(api.get("/v1/tickets?limit=1").json()["items"]) == 1
    default = api.get("/v1/tickets").json()["items"]
    assert 3 <= len(default) <= 20
    ordered = [t["id"] for t in default]
    assert ordered == sorted(ordered, reverse=True)
    for n in range(20):
        api.post("/v1/tickets", json={"title": unique(f"fill{n}")})
    assert len(api.get("/v1/tickets").json()["items"]) == 20
    assert len(api.get("/v1/tickets?limit=100").json()["items"]) >= 23


@pytest.mark.rules("slow-report", "timing-format", "timing-bounds", "access-line")
def test_the_slow_report_waits_and_its_timings_cover_the_wait(api, db, server):
    request_id = new_request_id()
    started = time.perf_counter()
    response = api.get("/v1/reports/slow?delay_ms=400", headers={"X-Request-ID": request_id})
    waited = (time.perf_counter() - started) * 1000
    assert response.status_code == 200
    traced(response, request_id)
    count = db.scalar("SELECT count(*) FROM tickets")
    assert response.json() == {"delay_ms": 400, "tickets": count}
    assert waited >= 400
    dur = timing_ms(response)
    assert 400 <= dur <= waited + 1, (dur, waited)
    access = access_line(server, request_id)
    assert access["path"] == "/v1/reports/slow" and access["status"] == 200, access
    assert 400 <= access["duration_ms"] <= waited + 200, (access, waited)
    quick = api.get("/v1/reports/slow?delay_ms=0")
    assert quick.status_code == 200 and quick.json()["delay_ms"] == 0
    assert timing_ms(quick) < 400


@pytest.mark.rules("log-concurrent", "ticket-created-line", "access-line")
def test_each_line_carries_its_own_request_id_while_requests_overlap(
    api, client_factory, db, server, unique
):
    slow_id, quick_id = new_request_id(), new_request_id()
    slow_client = client_factory()
    answers = {}

    def slow() -> None:
        answers["slow"] = slow_client.get(
            "/v1/reports/slow?delay_ms=1000", headers={"X-Request-ID": slow_id}
        )

    worker = threading.Thread(target=slow)
    worker.start()
    # the slow request is inside its query before the other one starts
    deadline = time.monotonic() + 5
    sleeping = 0
    while not sleeping and time.monotonic() < deadline:
        sleeping = db.scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
            "AND query ILIKE '%%pg_sleep%%' AND pid <> pg_backend_pid()"
        )
        time.sleep(0.02)
    assert sleeping, "the slow report never reached PostgreSQL"
    title = unique("overlap")
    created = api.post("/v1/tickets", json={"title": title}, headers={"X-Request-ID": quick_id})
    assert created.status_code == 201
    traced(created, quick_id)
    worker.join(timeout=15)
    assert "slow" in answers and answers["slow"].status_code == 200
    traced(answers["slow"], slow_id)
    slow_access = access_line(server, slow_id)
    assert slow_access["path"] == "/v1/reports/slow", slow_access
    quick_access = access_line(server, quick_id)
    assert quick_access["path"] == "/v1/tickets", quick_access
    text = server.output(size=OUTPUT_BYTES)
    created_for = [
        line for line in json_lines(text)
        if line.get("event") == "ticket_created" and line.get("title") == title
    ]  # fmt: skip
    assert [line.get("request_id") for line in created_for] == [quick_id], created_for


@pytest.mark.rules("log-escaped", "log-json-lines", "ticket-created-line")
def test_a_title_cannot_forge_a_log_line(api, server):
    marker = uuid.uuid4().hex
    forged = f'{{"event": "request", "request_id": "forged-{marker}", "status": 200}}'
    title = f"printer\n{forged}\r\nFORGED-{marker} admin logged in"
    request_id = new_request_id()
    response = api.post("/v1/tickets", json={"title": title}, headers={"X-Request-ID": request_id})
    assert response.status_code == 201
    assert response.json()["title"] == title
    found = created_lines(wait_for_output(server, lambda t: bool(created_lines(t, request_id))),
                          request_id)  # fmt: skip
    assert len(found) == 1 and found[0].get("title") == title, found
    # the title's line breaks stay inside its JSON string: every line that holds the marker
    # is one JSON object of this request, none a line the title made up
    for line in server.output(size=OUTPUT_BYTES).splitlines():
        if marker in line:
            value = json.loads(line)
            assert isinstance(value, dict) and value.get("request_id") == request_id, line
