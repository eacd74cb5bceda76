"""The bearer secret, body size, Content-Type, bodies that are not JSON objects, and which fault
decides the answer when a request has several."""

from __future__ import annotations

import json

import pytest
from events_api import (
    MiB,
    assert_error,
    assert_invalid,
    create_event,
    event_body,
    events_like,
    events_titled,
    registration_body,
    registrations_of,
    send_raw,
    spaced,
    stored_event,
)


@pytest.mark.rules("auth-required", "bearer-scheme", "error-401", "refused-changes-nothing")
def test_every_v1_operation_needs_the_bearer_secret(
    api, authed_api, client_factory, app_secret, db, unique
):
    event = create_event(authed_api, unique("guarded"), capacity=10)
    token = unique("anon")
    wrong = [None, f"Basic {app_secret}", "Bearer", f"Bearer {app_secret}x",
             f"Bearer {app_secret[:-1]}", f"Token {app_secret}", f"Bearer  {app_secret}",
             app_secret, "Bearer wrong-secret"]  # fmt: skip
    for header in wrong:
        client = client_factory(headers={} if header is None else {"Authorization": header})
        assert_error(client.get("/v1/events"), 401, "unauthorized")
        assert_error(client.get(f"/v1/events/{event['id']}"), 401, "unauthorized")
        assert_error(client.post("/v1/events", json=event_body(token)), 401, "unauthorized")
        response = client.patch(f"/v1/events/{event['id']}", json={"title": token})
        assert_error(response, 401, "unauthorized")
        response = client.post(
            f"/v1/events/{event['id']}/registrations", json=registration_body(name=token)
        )
        assert_error(response, 401, "unauthorized")
    assert events_titled(db, token) == 0 and registrations_of(db, event["id"]) == []
    for scheme in ("bearer", "BEARER", "bEaReR"):
        client = client_factory(headers={"Authorization": f"{scheme} {app_secret}"})
        assert client.get(f"/v1/events/{event['id']}").status_code == 200
    assert api.get("/health").status_code == 200


@pytest.mark.rules("error-body")
def test_unknown_paths_and_methods_answer_the_error_body(authed_api, unique):
    event = create_event(authed_api, unique("paths"))
    for method, path, status in (("GET", "/v1/nothing", 404), ("GET", "/v1/events/1/nothing", 404),
                                 ("DELETE", f"/v1/events/{event['id']}", 405),
                                 ("PUT", f"/v1/events/{event['id']}", 405)):  # fmt: skip
        response = authed_api.request(method, path, json={} if method == "PUT" else None)
        assert response.status_code == status, (method, path, response.text)
        error = response.json().get("error")
        assert isinstance(error, dict) and isinstance(error.get("code"), str), response.text
        assert isinstance(error.get("message"), str), response.text


@pytest.mark.rules("body-size", "error-413", "refused-changes-nothing")
def test_a_body_over_1_mib_is_413_and_stores_nothing(authed_api, client_factory, db, unique):
    token = unique("huge")
    response = send_raw(authed_api, "POST", "/v1/events", spaced(event_body(token), MiB + 1))
    assert_error(response, 413, "payload_too_large")
    event = create_event(authed_api, f"{token} kept", capacity=3)
    response = send_raw(
        authed_api, "PATCH", f"/v1/events/{event['id']}", spaced({"title": token}, 2 * MiB)
    )
    assert_error(response, 413, "payload_too_large")
    response = send_raw(authed_api, "POST", f"/v1/events/{event['id']}/registrations",
                        spaced(registration_body(), MiB + 1))  # fmt: skip
    assert_error(response, 413, "payload_too_large")
    assert events_titled(db, token) == 0 and registrations_of(db, event["id"]) == []
    assert client_factory().get("/health").status_code == 200


@pytest.mark.rules("body-size", "error-413", "refused-changes-nothing")
def test_a_body_over_1_mib_sent_in_chunks_without_a_length_is_413(authed_api, db, unique):
    token = unique("chunked")
    body = spaced(event_body(token), MiB + 1)
    chunks = (body[i : i + 64 * 1024] for i in range(0, len(body), 64 * 1024))
    # a generator: httpx sends it with Transfer-Encoding: chunked and no Content-Length
    assert_error(send_raw(authed_api, "POST", "/v1/events", chunks), 413, "payload_too_large")
    assert events_titled(db, token) == 0


@pytest.mark.rules("body-size")
def test_a_body_of_exactly_1_mib_is_read_as_usual(authed_api, db, unique):
    token = unique("full")
    response = send_raw(authed_api, "POST", "/v1/events", spaced(event_body(token), MiB))
    assert response.status_code == 201, response.text[:300]
    assert response.json()["title"] == token and events_titled(db, token) == 1


@pytest.mark.rules("content-type", "error-415", "refused-changes-nothing")
def test_a_body_sent_without_the_json_content_type_is_415(authed_api, db, unique):
    token = unique("typed")
    event = create_event(authed_api, f"{token} kept")
    body = json.dumps(event_body(token)).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None,
                         "application/jsonp", "text/json", "multipart/form-data"):  # fmt: skip
        assert_error(send_raw(authed_api, "POST", "/v1/events", body, content_type), 415,
                     "unsupported_media_type")  # fmt: skip
        response = send_raw(authed_api, "PATCH", f"/v1/events/{event['id']}",
                            json.dumps({"title": token}).encode(), content_type)  # fmt: skip
        assert_error(response, 415, "unsupported_media_type")
        response = send_raw(authed_api, "POST", f"/v1/events/{event['id']}/registrations",
                            json.dumps(registration_body()).encode(), content_type)  # fmt: skip
        assert_error(response, 415, "unsupported_media_type")
    assert events_titled(db, token) == 0 and registrations_of(db, event["id"]) == []
    for content_type in ("application/json; charset=utf-8", "Application/JSON"):
        response = send_raw(authed_api, "POST", "/v1/events", body, content_type)
        assert response.status_code == 201, response.text
    assert events_titled(db, token) == 2


@pytest.mark.rules("body-json", "error-fields-body", "error-422", "refused-changes-nothing")
def test_a_body_that_is_not_a_utf8_json_object_is_422_naming_no_field(authed_api, db, unique):
    token = unique("shape")
    event = create_event(authed_api, f"{token} kept")
    for content in (b"{", b"", b"[]", b'["title"]', b'"title"', b"null", b"42", b"true",
                    b'{"title": "caf\xe9"}', b'{"title": "\xff\xfe"}', b"{'title': 'x'}",
                    b'{"title": "x",}', b'{"title": NaN}', b'{"capacity": Infinity}', b"{}}"):  # fmt: skip
        assert_invalid(send_raw(authed_api, "POST", "/v1/events", content))
        assert_invalid(send_raw(authed_api, "PATCH", f"/v1/events/{event['id']}", content))
        response = send_raw(authed_api, "POST", f"/v1/events/{event['id']}/registrations", content)
        assert_invalid(response)
    assert stored_event(db, event["id"])["title"] == f"{token} kept"
    assert events_like(db, token) == 1 and registrations_of(db, event["id"]) == []


@pytest.mark.rules("fault-order", "auth-first")
def test_the_first_fault_in_the_stated_order_decides_the_answer(
    authed_api, client_factory, db, unique
):
    token = unique("ordered")
    event = create_event(authed_api, f"{token} kept", capacity=1)
    anon = client_factory()
    huge = spaced({"title": 5}, MiB + 10)
    bad = json.dumps({"title": 5, "capacity": "1"}).encode()
    path = f"/v1/events/{event['id']}"
    # the token first: no token beats a huge body, a wrong type, a bad body and a bad id
    assert_error(send_raw(anon, "PATCH", "/v1/events/abc", huge, "text/plain"), 401,
                 "unauthorized")  # fmt: skip
    assert_error(send_raw(anon, "POST", "/v1/events", bad, None), 401, "unauthorized")
    assert_error(anon.get("/v1/events?limit=abc"), 401, "unauthorized")
    # then the size, before the Content-Type
    assert_error(send_raw(authed_api, "PATCH", path, huge, "text/plain"), 413, "payload_too_large")
    # then the Content-Type, before the body
    assert_error(send_raw(authed_api, "PATCH", path, b"{", "text/plain"), 415,
                 "unsupported_media_type")  # fmt: skip
    # then the body, before the path id and the event
    assert_invalid(send_raw(authed_api, "PATCH", "/v1/events/abc", bad), "title", "capacity")
    assert_invalid(send_raw(authed_api, "PATCH", "/v1/events/999999999999", bad),
                   "title", "capacity")  # fmt: skip
    response = authed_api.post("/v1/events/0/registrations", json={"seats": 20})
    assert_invalid(response, "email", "name", "ticket_type", "seats")
    assert_error(authed_api.patch("/v1/events/abc", json={"title": "fine"}), 404, "not_found")
    # then the rules that need the stored event
    assert_invalid(authed_api.patch(path, json={"ends_at": "2000-01-01T00:00:00Z"}), "ends_at")
    assert authed_api.post(f"{path}/registrations", json=registration_body()).status_code == 201
    assert_invalid(authed_api.patch(path, json={"capacity": 0}), "capacity")
    assert_error(authed_api.post(f"{path}/registrations", json=registration_body()), 409,
                 "not_enough_seats")  # fmt: skip
    response = authed_api.post(f"{path}/registrations", json=registration_body(seats=0))
    assert_invalid(response, "seats")
    assert stored_event(db, event["id"])["title"] == f"{token} kept"
