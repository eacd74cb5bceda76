"""What the server writes: JSON lines with ts, level and event; one access line per request with
its route template; the payment_created line, masked; and the secrets that never show, in any
form; client values that cannot break a line."""

from __future__ import annotations

import json
import os
import time
import uuid
from urllib.parse import urlparse

import pytest
from payments_kit import (
    access_line,
    assert_absent,
    assert_every_line_is_json,
    assert_no_card_part,
    assert_no_cvc,
    card_forms,
    lines_of,
    masked,
    new_card,
    output,
    payment_body,
    request_id_of,
    the_line,
    wait_for_output,
)


@pytest.mark.rules("health", "log-json-lines", "log-common-fields", "log-flushed")
def test_every_line_of_the_output_is_a_json_object_with_ts_level_and_event(
    api, authed_api, server
):
    responses = [
        api.get("/health"),
        authed_api.post("/v1/payments", json=payment_body()),
        authed_api.post("/v1/payments", json=payment_body(cvc="1")),
        api.post("/v1/payments", json=payment_body()),
        authed_api.get(f"/v1/payments/{uuid.uuid4()}"),
        authed_api.get(f"/v1/nowhere-{uuid.uuid4().hex}"),
        authed_api.delete("/v1/payments"),
        authed_api.post("/v1/payments", content=b"{broken", headers={"Content-Type": "text/plain"}),
    ]
    last = request_id_of(responses[-1])
    text = wait_for_output(server, lambda t: bool(lines_of(t, last, "request")))
    for response in responses:
        access_line(server, response)
    assert_every_line_is_json(text)


@pytest.mark.rules("access-line", "access-route", "access-level", "access-duration",
                   "request-id-every-answer")  # fmt: skip
def test_each_request_has_one_access_line_with_its_route_template(api, authed_api, server):
    created = authed_api.post("/v1/payments", json=payment_body())
    assert created.status_code == 201, created.text[:300]
    payment_id = created.json()["id"]
    cases = [
        (api, "GET", "/health", {}, "/health"),
        (authed_api, "POST", "/v1/payments", {"json": payment_body()}, "/v1/payments"),
        (api, "POST", "/v1/payments", {"json": payment_body()}, "/v1/payments"),
        (authed_api, "POST", "/v1/payments", {"json": payment_body(amount_cents=0)},
         "/v1/payments"),
        (authed_api, "GET", f"/v1/payments/{payment_id}", {}, "/v1/payments/{payment_id}"),
        (api, "GET", f"/v1/payments/{payment_id}", {}, "/v1/payments/{payment_id}"),
        (authed_api, "GET", f"/v1/payments/{uuid.uuid4()}", {}, "/v1/payments/{payment_id}"),
        (authed_api, "GET", "/v1/payments/abc", {}, "/v1/payments/{payment_id}"),
        (authed_api, "GET", f"/v1/nowhere-{uuid.uuid4().hex}", {}, None),
        (authed_api, "GET", "/v1/payments/", {}, None),
        (authed_api, "DELETE", f"/v1/payments/{payment_id}", {}, None),
        (authed_api, "GET", "/v1/payments", {}, None),
    ]  # fmt: skip
    for client, method, path, kwargs, route in cases:
        started = time.perf_counter()
        response = client.request(method, path, **kwargs)
        waited = time.perf_counter() - started
        line = access_line(server, response, waited)
        assert line["route"] == route, (method, path, line)
        assert payment_id not in json.dumps(line) or line.get("payment_id") == payment_id, line


@pytest.mark.rules("created-line", "email-masked", "log-escaped")
def test_a_created_payment_is_logged_with_masked_fields(authed_api, server):
    description = 'line one\nline two "quoted" {"level": "critical"}'
    body = payment_body(description=description, currency="GBP", amount_cents=777)
    response = authed_api.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text[:300]
    payment = response.json()
    line = the_line(server, request_id_of(response), "payment_created")
    assert line.get("level") == "info", line
    assert line.get("payment_id") == payment["id"], line
    assert line.get("amount_cents") == 777 and line.get("currency") == "GBP", line
    assert line.get("card_last4") == body["card_number"][-4:], line
    assert line.get("email") == masked(body["email"]), line
    assert line.get("description") == description, line
    dotted = payment_body(email=f"j.{uuid.uuid4().hex[:8]}@x.example")
    response = authed_api.post("/v1/payments", json=dotted)
    line = the_line(server, request_id_of(response), "payment_created")
    assert line.get("email") == "j***@x.example", line


@pytest.mark.rules("never-card", "never-cvc", "never-email", "no-value-in-422")
def test_card_numbers_cvcs_and_email_addresses_are_never_written(api, authed_api, server):
    sent = []
    short = new_card(13)
    cvc = next(c for c in ("482", "739", "615") if c not in short[-4:])
    for fields in ({}, {"card_number": new_card(19)}, {"card_number": short, "cvc": cvc}):
        body = payment_body(**fields)
        response = authed_api.post("/v1/payments", json=body)
        assert response.status_code == 201, response.text[:300]
        sent.append((body, response))
    # refused bodies hold card data too: a wrong card, a wrong CVC, no key at all
    bad_card = new_card()
    bad_card = bad_card[:-1] + str((int(bad_card[-1]) + 1) % 10)
    for body, client, status in (
        (payment_body(card_number=bad_card), authed_api, 422),
        (payment_body(cvc="12345"), authed_api, 422),
        (payment_body(email=f"two-{uuid.uuid4().hex}@at@example"), authed_api, 422),
        (payment_body(), api, 401),
    ):
        response = client.post("/v1/payments", json=body)
        assert response.status_code == status, response.text[:300]
        sent.append((body, response))
    last = request_id_of(sent[-1][1])
    text = wait_for_output(server, lambda t: bool(lines_of(t, last, "request")))
    for body, response in sent:
        access_line(server, response)
        text = output(server)
        card = body["card_number"]
        secrets = {f"the card number (as {form!r})": form for form in card_forms(card)}
        secrets["the email address"] = body["email"]
        secrets["the email's local part"] = body["email"].split("@")[0]
        assert_absent(text, secrets)
        assert_no_cvc(lines_of(text, request_id_of(response)), body["cvc"])
        assert_no_card_part(lines_of(text, request_id_of(response)), card)
    assert '"cvc"' not in text.lower() and '"cvv"' not in text.lower()


@pytest.mark.rules("never-api-key", "never-client-request-id", "request-id-generated", "never-dsn")
def test_the_api_key_authorization_values_and_client_request_ids_are_never_written(
    api, authed_api, app_secret, server
):
    wrong_key = uuid.uuid4().hex + uuid.uuid4().hex
    client_id = f"client-{uuid.uuid4().hex}"
    responses = [
        authed_api.post("/v1/payments", json=payment_body(), headers={"X-Request-ID": client_id}),
        api.post("/v1/payments", json=payment_body(),
                 headers={"Authorization": f"Bearer {wrong_key}"}),
        api.get(f"/v1/payments/{uuid.uuid4()}", headers={"Authorization": f"Basic {wrong_key}"}),
        api.get("/health",
                headers={"Authorization": f"Bearer {wrong_key}", "X-Request-ID": client_id}),
        authed_api.get(f"/v1/payments/{uuid.uuid4()}", headers={"X-Request-ID": client_id}),
    ]  # fmt: skip
    assert [r.status_code for r in responses] == [201, 401, 401, 200, 404]
    for response in responses:
        assert request_id_of(response) != client_id and client_id not in response.text
        access_line(server, response)
    half = len(app_secret) // 2
    dsn = os.environ["DATABASE_URL"]
    assert_absent(output(server), {
        "the DATABASE_URL connection string": dsn,
        "the database's password": urlparse(dsn).password or dsn,
        "APP_SECRET": app_secret,
        "the first half of APP_SECRET": app_secret[:half],
        "the second half of APP_SECRET": app_secret[half:],
        "a wrong key a client sent": wrong_key,
        "the first part of a wrong key": wrong_key[:12],
        "the last part of a wrong key": wrong_key[-12:],
        "a client's X-Request-ID": client_id,
        "a client's X-Request-ID (its random part)": client_id.split("-", 1)[1],
    })  # fmt: skip


@pytest.mark.rules("log-escaped", "log-json-lines")
def test_line_breaks_and_json_in_client_values_never_make_lines_of_their_own(authed_api, server):
    marker = uuid.uuid4().hex
    description = (f'ok\nFORGED-{marker} level=info\r\n{{"ts": "2020-01-01T00:00:00Z", '
                   f'"level": "info", "event": "forged-{marker}"}}\r\u2028"}}{{\t\\')  # fmt: skip
    email = f'q"}}{{\\@d"}}\n{{"event":"forged-{marker}'.replace("\n", "")
    body = payment_body(description=description, email=email)
    response = authed_api.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text[:300]
    line = the_line(server, request_id_of(response), "payment_created")
    assert line.get("description") == description, line
    assert line.get("email") == masked(email), line
    for raw in output(server).split("\n"):  # a JSON string may hold U+2028: only \n ends a line
        if marker not in raw:
            continue
        value = json.loads(raw)  # every line that mentions the marker is one JSON object
        assert isinstance(value, dict) and value.get("request_id") == request_id_of(response), raw
        assert value.get("event") != f"forged-{marker}", raw
