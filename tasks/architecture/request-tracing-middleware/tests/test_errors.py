"""One error body on every error, with the request id and both headers: unknown paths, wrong
methods, bodies refused in their stated order, bad query values and an unhandled exception."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from tracing_kit import (
    OUTPUT_BYTES,
    access_line,
    assert_error,
    json_lines,
    new_request_id,
    traced,
    wait_for_output,
)

KiB = 1024
JSON = {"Content-Type": "application/json"}


def rid() -> dict[str, str]:
    return {"X-Request-ID": new_request_id()}


@pytest.mark.rules(
    "error-body", "error-404", "exact-paths", "rid-every-answer", "timing-every-answer"
)
def test_unknown_paths_are_404_with_the_error_body(api):
    for path in (
        f"/v1/nowhere-{uuid.uuid4().hex}",
        "/v1/tickets/",
        "/health/",
        "/v1/reports",
        "/",
        "/V1/TICKETS",
    ):
        headers = rid()
        assert_error(api.get(path, headers=headers), 404, "not_found", headers["X-Request-ID"])
    headers = rid()
    posted = api.post(f"/v1/none-{uuid.uuid4().hex}", json={"a": 1}, headers=headers)
    assert_error(posted, 404, "not_found", headers["X-Request-ID"])


@pytest.mark.rules("error-body", "error-405", "rid-every-answer", "timing-every-answer")
def test_a_wrong_method_is_405_with_the_error_body(api):
    for method, path in (
        ("DELETE", "/v1/tickets/1"),
        ("PUT", "/v1/tickets"),
        ("POST", "/health"),
        ("DELETE", "/v1/reports/slow?delay_ms=0"),
        ("PATCH", "/v1/tickets/1"),
    ):
        headers = rid()
        response = api.request(method, path, headers=headers)
        assert_error(response, 405, "method_not_allowed", headers["X-Request-ID"])


@pytest.mark.rules("ticket-id-404", "error-404", "error-body")
def test_ids_that_match_no_ticket_are_404(api):
    for raw in ("abc", "0", "-1", "1.0", "9223372036854775808", "99999999999999999999999", "1e3"):
        headers = rid()
        response = api.get(f"/v1/tickets/{raw}", headers=headers)
        assert_error(response, 404, "not_found", headers["X-Request-ID"])
    headers = rid()
    response = api.get("/v1/tickets/9223372036854775807", headers=headers)
    assert_error(response, 404, "not_found", headers["X-Request-ID"])


@pytest.mark.rules("body-order", "error-413", "error-415", "error-422", "invalid-stores-nothing")
def test_bodies_are_refused_in_the_stated_order_and_store_nothing(api, db, unique):
    title = unique("refused")
    cases = [
        # over 64 KiB decides first, whatever the type and the JSON
        (json.dumps({"title": title, "pad": "x" * (64 * KiB)}).encode(), JSON, 413,
         "payload_too_large"),
        (b"not json" * 9000, {"Content-Type": "text/plain"}, 413, "payload_too_large"),
        # then the Content-Type
        (json.dumps({"title": title}).encode(), {"Content-Type": "text/plain"}, 415,
         "unsupported_media_type"),
        (json.dumps({"title": title}).encode(), {}, 415, "unsupported_media_type"),
        (b"{broken", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        # then the JSON itself
        (b"{broken", JSON, 422, "validation_error"),
        (b"", JSON, 422, "validation_error"),
        (b"[1, 2]", JSON, 422, "validation_error"),
        (b'"' + title.encode() + b'"', JSON, 422, "validation_error"),
        (b'{"title": "\xff\xfe"}', JSON, 422, "validation_error"),
        # valid JSON nested deeper than a parser's recursion: still a body to refuse, not a 500
        (b'{"title": ' + b"[" * 30000 + b"]" * 30000 + b"}", JSON, 422, "validation_error"),
    ]  # fmt: skip
    for body, headers, status, code in cases:
        sent = {**headers, **rid()}
        response = api.post("/v1/tickets", content=body, headers=sent)
        assert_error(response, status, code, sent["X-Request-ID"])
    at_limit = json.dumps({"title": title, "pad": ""}).encode()
    at_limit = at_limit[:-2] + b"x" * (64 * KiB - len(at_limit)) + at_limit[-2:]
    assert len(at_limit) == 64 * KiB
    sent = {**JSON, **rid()}
    created = api.post("/v1/tickets", content=at_limit, headers=sent)
    assert created.status_code == 201, created.text[:300]
    traced(created, sent["X-Request-ID"])
    charset = api.post("/v1/tickets", content=json.dumps({"title": title}).encode(),
                       headers={"Content-Type": "application/json; charset=utf-8"})  # fmt: skip
    assert charset.status_code == 201, charset.text[:300]
    assert db.scalar("SELECT count(*) FROM tickets WHERE title = %s", (title,)) == 2


@pytest.mark.rules("error-500", "exception-500-general", "rid-every-answer", "timing-every-answer",
                   "keeps-serving")  # fmt: skip
def test_an_unhandled_exception_is_a_500_that_shows_nothing_of_it(api, auth_headers):
    for scheme in ("Bearer", "bearer", "BEARER"):
        headers = {
            **rid(),
            "Authorization": auth_headers["Authorization"].replace("Bearer", scheme),
        }
        response = api.get("/v1/diagnostics/fail", headers=headers)
        error = assert_error(response, 500, "internal_error", headers["X-Request-ID"])
        assert error["message"] == "internal server error", error
        for leak in ("Traceback", "RuntimeError", "deliberate", "diagnostics", 'File "', ".py"):
            assert leak not in response.text, (leak, response.text[:300])
            assert leak not in str(response.headers), (leak, response.headers)
    after = api.get("/health")
    assert after.status_code == 200 and after.json() == {"status": "ok"}
    traced(after)


@pytest.mark.rules("exception-line", "log-json-lines", "access-line")
def test_an_unhandled_exception_is_logged_with_its_stack(api, auth_headers, server):
    request_id = new_request_id()
    response = api.get("/v1/diagnostics/fail", headers={"X-Request-ID": request_id, **auth_headers})
    assert response.status_code == 500

    def logged(text: str) -> list[dict]:
        return [
            line for line in json_lines(text)
            if line.get("event") == "unhandled_exception" and line.get("request_id") == request_id
        ]  # fmt: skip

    found = logged(wait_for_output(server, lambda t: bool(logged(t))))
    assert len(found) == 1, found
    line = found[0]
    assert isinstance(line.get("error"), str), line
    assert "RuntimeError" in line["error"] and "diagnostics: deliberate failure" in line["error"]
    stack = line.get("stack")
    assert isinstance(stack, str) and stack.startswith("Traceback (most recent call last)"), line
    assert "RuntimeError: diagnostics: deliberate failure" in stack, stack[-300:]
    access = access_line(server, request_id)
    assert access["status"] == 500 and access["path"] == "/v1/diagnostics/fail", access
    # the traceback is in the JSON line only, never printed as plain text beside it
    for text in server.output(size=OUTPUT_BYTES).splitlines():
        if "deliberate failure" in text:
            assert isinstance(json.loads(text), dict), text[:300]


@pytest.mark.rules("error-422", "error-body", "list-limit", "slow-delay-422", "timing-every-answer")
def test_bad_query_values_are_422_with_the_error_body(api):
    for path in (
        "/v1/tickets?limit=0",
        "/v1/tickets?limit=101",
        "/v1/tickets?limit=5.0",
        "/v1/tickets?limit=abc",
        "/v1/tickets?limit=",
        "/v1/tickets?limit=-1",
        "/v1/reports/slow",
        "/v1/reports/slow?delay_ms=1001",
        "/v1/reports/slow?delay_ms=-1",
        "/v1/reports/slow?delay_ms=1.0",
        "/v1/reports/slow?delay_ms=",
        "/v1/reports/slow?delay_ms=ten",
    ):
        headers = rid()
        assert_error(api.get(path, headers=headers), 422, "validation_error",
                     headers["X-Request-ID"])  # fmt: skip


@pytest.mark.rules("timing-every-answer", "timing-bounds", "rid-every-answer")
def test_error_answers_carry_a_plausible_timing(api, auth_headers):
    for method, path in (
        ("GET", "/v1/none"),
        ("DELETE", "/health"),
        ("GET", "/v1/diagnostics/fail"),
        ("GET", "/v1/tickets?limit=0"),
    ):
        started = time.perf_counter()
        response = api.request(method, path, headers=auth_headers)
        waited = (time.perf_counter() - started) * 1000
        assert response.status_code >= 400
        traced(response)
        dur = float(response.headers["server-timing"].split("=", 1)[1])
        assert 0 <= dur <= waited + 1, (path, dur, waited)


@pytest.mark.rules("log-json-lines")
def test_the_output_about_a_request_is_only_json_lines_with_its_id(api, server):
    marker = uuid.uuid4().hex
    request_id = new_request_id()
    response = api.get(f"/v1/nowhere-{marker}?q={marker}", headers={"X-Request-ID": request_id})
    assert response.status_code == 404
    access_line(server, request_id)
    text = server.output(size=OUTPUT_BYTES)
    mentions = [line for line in text.splitlines() if marker in line]
    assert mentions, "the access line names the path"
    for line in mentions:
        value = json.loads(line)  # every line about the request is one JSON object
        assert isinstance(value, dict) and value.get("request_id") == request_id, line


@pytest.mark.rules("diagnostics-guard", "error-404", "error-body")
def test_the_diagnostics_route_is_404_without_the_secret(api, app_secret, server):
    for authorization in (None, "", "Bearer", f"Bearer {app_secret}x", f"Bearer {app_secret[:-1]}",
                          f"Basic {app_secret}", f"Token {app_secret}", app_secret):  # fmt: skip
        headers = rid()
        if authorization is not None:
            headers["Authorization"] = authorization
        response = api.get("/v1/diagnostics/fail", headers=headers)
        assert_error(response, 404, "not_found", headers["X-Request-ID"])
        assert "deliberate" not in response.text
    assert app_secret not in server.output(size=OUTPUT_BYTES)
