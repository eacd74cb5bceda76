"""A 5xx: logged once with its exception's class and stack trace, shown to the client as a fixed
body with only the request id; from the processor's outage card and from a stopped database."""

from __future__ import annotations

import os
import time
import uuid

import psycopg
import pytest
from payments_kit import (
    OUTAGE_CARD,
    access_line,
    assert_absent,
    assert_error,
    assert_every_line_is_json,
    output,
    payment_body,
    request_id_of,
    stored_count,
    the_line,
)

LEAKS = ("Traceback", "ProcessorUnavailable", "processor unavailable", 'File "', ".py", "psycopg",
         "Error:", "OperationalError", "line ")  # fmt: skip
DOWN_BOUND = 5.0
RECOVERY = 10.0


def assert_fixed_500(response) -> str:
    """The 500 body with exactly the stated message, and nothing of the exception anywhere."""
    error = assert_error(response, 500, "internal_error")
    assert error == {"code": "internal_error", "message": "internal server error",
                     "request_id": request_id_of(response)}, error  # fmt: skip
    assert response.json() == {"error": error}
    for leak in LEAKS:
        assert leak not in response.text, (leak, response.text[:300])
        assert leak not in str(response.headers), (leak, response.headers)
    return request_id_of(response)


def assert_exception_line(server, request_id: str, exc_type: str | None) -> dict:
    line = the_line(server, request_id, "unhandled_exception")
    assert line.get("level") == "error", line
    if exc_type is None:
        assert isinstance(line.get("exc_type"), str) and line["exc_type"], line
        assert "." not in line["exc_type"], ("the class name alone, without its module", line)
    else:
        assert line.get("exc_type") == exc_type, line
    stack = line.get("stack")
    assert isinstance(stack, str) and stack.startswith("Traceback (most recent call last):"), line
    named = [text for text in stack.splitlines() if text[:1].strip() and line["exc_type"] in text]
    assert named, ("no line of the traceback names the exception's class", stack[-300:])
    return line


@pytest.mark.rules("outage-500", "error-500", "exception-line", "access-level", "keeps-serving",
                   "invalid-stores-nothing", "never-card")  # fmt: skip
def test_the_outage_card_is_a_500_that_shows_nothing_and_is_logged_with_its_stack(
    authed_api, db, server
):
    body = payment_body(card_number=OUTAGE_CARD)
    response = authed_api.post("/v1/payments", json=body)
    request_id = assert_fixed_500(response)
    line = assert_exception_line(server, request_id, "ProcessorUnavailable")
    assert "ProcessorUnavailable" in line["stack"], line
    access = access_line(server, response)
    assert access["status"] == 500 and access["route"] == "/v1/payments", access
    text = output(server)
    assert_every_line_is_json(text)  # the traceback is inside the JSON line only
    assert_absent(text, {"the outage card's number": OUTAGE_CARD, "the email": body["email"]})
    after = authed_api.post("/v1/payments", json=payment_body())
    assert after.status_code == 201, after.text[:300]
    again = authed_api.post("/v1/payments", json=payment_body(card_number=OUTAGE_CARD))
    assert_fixed_500(again)
    assert stored_count(db, body["email"]) == 0, "the outage card's payment was stored"


def start_postgres(services) -> None:
    """Start PostgreSQL and wait until it accepts a connection."""
    services.start("postgres")
    end = time.monotonic() + 30
    while True:
        try:
            with psycopg.connect(os.environ["BACKBENCH_ADMIN_DATABASE_URL"], connect_timeout=2):
                return
        except psycopg.OperationalError:
            if time.monotonic() > end:
                raise
            time.sleep(0.05)


@pytest.mark.rules("db-down-500", "health", "error-500", "exception-line", "recovery",
                   "log-json-lines")  # fmt: skip
def test_with_the_database_stopped_requests_are_500_and_it_serves_again_after(
    api, authed_api, services, server
):
    created = authed_api.post("/v1/payments", json=payment_body())
    assert created.status_code == 201, created.text[:300]
    services.stop("postgres")
    try:
        for method, path, kwargs in (
            ("POST", "/v1/payments", {"json": payment_body()}),
            ("GET", f"/v1/payments/{created.json()['id']}", {}),
            ("GET", f"/v1/payments/{uuid.uuid4()}", {}),
        ):
            started = time.monotonic()
            response = authed_api.request(method, path, extensions={"deadline": 15}, **kwargs)
            seconds = time.monotonic() - started
            assert seconds < DOWN_BOUND + 1, f"{method} {path} took {seconds:.1f} s"
            request_id = assert_fixed_500(response)
            assert_exception_line(server, request_id, None)
            assert access_line(server, response)["status"] == 500
        health = api.get("/health")
        assert health.status_code == 200 and health.json() == {"status": "ok"}
    finally:
        start_postgres(services)
    back = time.monotonic()
    while True:
        response = authed_api.post("/v1/payments", json=payment_body())
        if response.status_code == 201:
            break
        assert time.monotonic() - back < RECOVERY, ("not serving again", response.text[:300])
        time.sleep(0.3)
    read = authed_api.get(f"/v1/payments/{created.json()['id']}")
    assert read.status_code == 200 and read.json() == created.json()
    assert_every_line_is_json(output(server))  # the driver's own warnings included
