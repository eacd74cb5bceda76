"""The bearer secret, and malformed requests: body size, Content-Type, bodies that are not JSON
objects, and which fault decides the answer when a request has several."""

from __future__ import annotations

import json

import pytest
from patients_api import MiB, assert_error, create, patient_body, stored_row


def send(client_factory, headers, method, path, content, content_type="application/json"):
    """One raw request on a connection of its own (closed after): a server may close a
    connection whose body it refused."""
    headers = dict(headers)
    if content_type is not None:
        headers["Content-Type"] = content_type
    with client_factory(headers=headers) as client:
        return client.request(method, path, content=content)


def padded(body, size):
    """`body` as JSON of exactly `size` bytes, filled with a padding field."""
    text = json.dumps({**body, "padding": ""})
    missing = size - len(text.encode())
    assert missing >= 0
    return json.dumps({**body, "padding": "x" * missing}).encode()


def names_count(db, name):
    return int(db.scalar("SELECT count(*) FROM patients WHERE name = %s", (name,)))


@pytest.mark.rules("auth-required", "bearer-scheme", "error-401", "refused-changes-nothing")
def test_every_v1_request_needs_the_bearer_secret(client_factory, authed_api, db, unique,
                                                  app_secret):  # fmt: skip
    patient = create(authed_api, patient_body(unique))
    pid = patient["id"]
    name = unique("unauthorized")
    values = ["", f"Basic {app_secret}", "Bearer wrong", f"Bearer {app_secret}x",
              f"Bearer {app_secret[:-1]}", f"Bearer  {app_secret}", f"Token {app_secret}",
              app_secret, f"Bearer {app_secret.upper()}x"]  # fmt: skip
    refused = [{"Authorization": v} if v else {} for v in values]
    for headers in refused:
        client = client_factory(headers=headers)
        for response in (
            client.post("/v1/patients", json=patient_body(unique, name=name)),
            client.get("/v1/patients"),
            client.get(f"/v1/patients/{pid}"),
            client.patch(f"/v1/patients/{pid}", json={"name": name}),
            client.delete(f"/v1/patients/{pid}"),
            client.post("/v1/patients/search", json={"national_id": patient["national_id"]}),
            client.post("/v1/admin/rotate-keys"),
        ):
            assert_error(response, 401, "unauthorized")
            assert patient["national_id"] not in response.text
    assert names_count(db, name) == 0
    assert authed_api.get(f"/v1/patients/{pid}").json() == patient
    for scheme in ("bearer", "BEARER", "BeArEr"):
        client = client_factory(headers={"Authorization": f"{scheme} {app_secret}"})
        assert client.get(f"/v1/patients/{pid}").json() == patient


@pytest.mark.rules("rotate-body-ignored")
def test_rotate_keys_ignores_a_body_whatever_its_content_type(client_factory, auth_headers):
    for content, content_type in ((b"not json", "text/plain"), (b'{"keys": "x"}', None),
                                  (b"[1, 2", "application/json")):  # fmt: skip
        response = send(client_factory, auth_headers, "POST", "/v1/admin/rotate-keys", content,
                        content_type)  # fmt: skip
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        assert set(body) == {"rotated", "unreadable"}
        assert body["rotated"] == 0  # the main instance's one key is the first


@pytest.mark.rules("body-size", "error-413", "refused-changes-nothing")
def test_a_body_over_1_mib_is_413_and_stores_nothing(client_factory, auth_headers, authed_api,
                                                     db, unique):  # fmt: skip
    patient = create(authed_api, patient_body(unique))
    before = stored_row(db, patient["id"])
    name = unique("huge")
    response = send(client_factory, auth_headers, "POST", "/v1/patients",
                    padded(patient_body(unique, name=name), MiB + 1))  # fmt: skip
    assert_error(response, 413, "payload_too_large")
    assert names_count(db, name) == 0
    response = send(client_factory, auth_headers, "PATCH", f"/v1/patients/{patient['id']}",
                    padded({"name": "Huge"}, 2 * MiB))  # fmt: skip
    assert_error(response, 413, "payload_too_large")
    assert stored_row(db, patient["id"]) == before
    body = padded({"national_id": patient["national_id"]}, MiB + 1)
    chunks = (body[i:i + 64 * 1024] for i in range(0, len(body), 64 * 1024))
    # a generator: httpx sends it with Transfer-Encoding: chunked and no Content-Length
    response = send(client_factory, auth_headers, "POST", "/v1/patients/search", chunks)
    assert_error(response, 413, "payload_too_large")
    assert client_factory().get("/health").status_code == 200


@pytest.mark.rules("body-size")
def test_a_body_of_exactly_1_mib_is_read_as_usual(client_factory, auth_headers, db, unique):
    name = unique("full")
    response = send(client_factory, auth_headers, "POST", "/v1/patients",
                    padded(patient_body(unique, name=name), MiB))  # fmt: skip
    assert response.status_code == 201, response.text[:300]
    assert response.json()["name"] == name
    assert names_count(db, name) == 1


@pytest.mark.rules("content-type", "error-415", "refused-changes-nothing")
def test_a_body_sent_without_the_json_content_type_is_415(client_factory, auth_headers,
                                                          authed_api, db, unique):  # fmt: skip
    patient = create(authed_api, patient_body(unique))
    before = stored_row(db, patient["id"])
    name = unique("typed")
    body = json.dumps(patient_body(unique, name=name)).encode()
    search = json.dumps({"national_id": patient["national_id"]}).encode()
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None,
                         "application/jsonp", "text/json"):  # fmt: skip
        response = send(client_factory, auth_headers, "POST", "/v1/patients", body, content_type)
        assert_error(response, 415, "unsupported_media_type")
        response = send(client_factory, auth_headers, "PATCH", f"/v1/patients/{patient['id']}",
                        b'{"name": "Typed"}', content_type)  # fmt: skip
        assert_error(response, 415, "unsupported_media_type")
        response = send(client_factory, auth_headers, "POST", "/v1/patients/search", search,
                        content_type)  # fmt: skip
        assert_error(response, 415, "unsupported_media_type")
    assert names_count(db, name) == 0
    assert stored_row(db, patient["id"]) == before
    response = send(client_factory, auth_headers, "POST", "/v1/patients", body,
                    "application/json; charset=utf-8")  # fmt: skip
    assert response.status_code == 201, response.text
    assert names_count(db, name) == 1


@pytest.mark.rules("body-json", "error-422", "refused-changes-nothing")
def test_a_body_that_is_not_a_utf8_json_object_is_422(client_factory, auth_headers, authed_api,
                                                      db, unique):  # fmt: skip
    patient = create(authed_api, patient_body(unique))
    before = stored_row(db, patient["id"])
    total = db.scalar("SELECT count(*) FROM patients")
    for content in (b"{", b"", b"[]", b'["name"]', b'"name"', b"null", b"42",
                    b'{"name": "caf\xe9"}', b'{"name": "\xff\xfe"}', b"{'name': 'x'}",
                    b'{"name": "x",}'):  # fmt: skip
        for method, path in (("POST", "/v1/patients"), ("PATCH", f"/v1/patients/{patient['id']}"),
                             ("POST", "/v1/patients/search")):  # fmt: skip
            response = send(client_factory, auth_headers, method, path, content)
            assert_error(response, 422, "validation_error")
    assert stored_row(db, patient["id"]) == before
    assert db.scalar("SELECT count(*) FROM patients") == total


@pytest.mark.rules("fault-order", "auth-first")
def test_the_first_fault_in_the_stated_order_decides_the_answer(
    client_factory, auth_headers, authed_api, server, db, unique
):
    from patients_api import data_keys, instance, new_key

    patient = create(authed_api, patient_body(unique))
    pid = patient["id"]
    huge = padded({"name": "x"}, MiB + 10)
    bad = b'{"name": 5}'
    # the token first: no token beats a huge body, a wrong type, a bad body and a bad id
    assert_error(send(client_factory, {}, "PATCH", "/v1/patients/abc", huge, "text/plain"), 401,
                 "unauthorized")  # fmt: skip
    assert_error(send(client_factory, {}, "POST", "/v1/patients", bad, None), 401, "unauthorized")
    # then the size, before the Content-Type
    response = send(client_factory, auth_headers, "PATCH", f"/v1/patients/{pid}", huge,
                    "text/plain")  # fmt: skip
    assert_error(response, 413, "payload_too_large")
    # then the Content-Type, before the body
    response = send(client_factory, auth_headers, "PATCH", f"/v1/patients/{pid}", b"{",
                    "text/plain")  # fmt: skip
    assert_error(response, 415, "unsupported_media_type")
    # then the body, before the path id and the patient
    assert_error(send(client_factory, auth_headers, "PATCH", "/v1/patients/abc", bad), 422,
                 "validation_error")  # fmt: skip
    assert_error(send(client_factory, auth_headers, "PATCH", "/v1/patients/9223372036854775806",
                      bad), 422, "validation_error")  # fmt: skip
    # then the path id and the patient, before the keys
    foreign = (unique("kq")[-32:], new_key())
    with instance(server, client_factory, auth_headers, data_keys(foreign)) as other:
        unreadable = create(other, patient_body(unique))
    response = send(client_factory, auth_headers, "PATCH", f"/v1/patients/{unreadable['id']}",
                    b'{"name": null}')  # fmt: skip
    assert_error(response, 422, "validation_error")
    response = send(client_factory, auth_headers, "PATCH", f"/v1/patients/{unreadable['id']}",
                    b'{"name": "Fine"}')  # fmt: skip
    assert_error(response, 409, "key_unavailable")
    assert stored_row(db, pid)["name"] == patient["name"]
    assert authed_api.delete(f"/v1/patients/{unreadable['id']}").status_code == 204
