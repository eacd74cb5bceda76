"""The payments API itself: creating and reading a payment, what is stored, the API key, the
checks of a body in their stated order, and the ids and paths that match nothing."""

from __future__ import annotations

import json
import uuid

import pytest
from payments_kit import (
    assert_error,
    card_forms,
    column_types,
    is_uuid4,
    new_card,
    payment_body,
    request_id_of,
    stored_count,
    stored_rows,
)

KiB = 1024
JSON = {"Content-Type": "application/json"}
TEMPORAL = ("date", "timestamp", "time")


def create(authed_api, **fields):
    body = payment_body(**fields)
    response = authed_api.post("/v1/payments", json=body)
    assert response.status_code == 201, response.text[:300]
    return body, response


@pytest.mark.rules("create-201", "get-200", "request-id-generated", "unknown-fields")
def test_a_payment_is_created_and_read_back(authed_api):
    body, response = create(authed_api, id="not-mine", card_last4="0000", status="refunded")
    payment = response.json()
    assert is_uuid4(payment["id"]), payment
    assert payment == {
        "id": payment["id"],
        "amount_cents": body["amount_cents"],
        "currency": body["currency"],
        "card_last4": body["card_number"][-4:],
        "email": body["email"],
        "description": body["description"],
    }
    created_id = request_id_of(response)
    read = authed_api.get(f"/v1/payments/{payment['id']}")
    assert read.status_code == 200 and read.json() == payment, read.text[:300]
    assert request_id_of(read) != created_id, "every request gets a new id"


@pytest.mark.rules("card-at-rest")
def test_the_database_holds_only_the_last_four_digits_and_no_cvc(authed_api, db):
    body, response = create(authed_api, card_number=new_card(19))
    payment = response.json()
    forms = card_forms(body["card_number"])
    leaks = stored_rows(db, [f"%{form}%" for form in forms])
    assert not leaks, ("the card number is stored", leaks[:2])
    rows = stored_rows(db, [f"%{payment['id']}%"])
    assert rows, "the payment is stored"
    for table, row in rows:
        kinds = column_types(db, table)
        for column, value in row.items():
            if value is None or any(k in kinds.get(column, "") for k in TEMPORAL):
                continue
            assert "cvc" not in column.lower() and "cvv" not in column.lower(), (table, column)
            text = json.dumps(value) if not isinstance(value, str) else value
            if text == payment["id"]:
                continue
            assert body["cvc"] not in text, ("the CVC is stored", table, column, row)


@pytest.mark.rules("amount-rules", "currency-rules", "card-rules", "cvc-rules", "email-rules",
                   "description-rules", "description-default")  # fmt: skip
def test_values_at_the_bounds_are_accepted(authed_api):
    cases = [
        {"amount_cents": 1},
        {"amount_cents": 1_000_000, "currency": "USD"},
        {"currency": "GBP", "card_number": new_card(13), "cvc": "123"},
        {"card_number": new_card(19), "cvc": "0042"},
        {"email": "a@b"},
        {"email": "x" * 240 + "@" + "e" * 13},
        {"email": "o'hara+{tag}!#$%&*/=?^_`|~.-@mail.example"},
        {"description": "é" * 100 + "€" * 99 + "😀"},
        {"description": ""},
        {"description": "tab\there\r\nand a new line, \"quotes\" and {braces}"},
    ]
    for fields in cases:
        body, response = create(authed_api, **fields)
        payment = response.json()
        assert payment["amount_cents"] == body["amount_cents"], payment
        assert payment["email"] == body["email"] and payment["description"] == body["description"]
        assert payment["card_last4"] == body["card_number"][-4:]
    _, response = create(authed_api, description=...)
    assert response.json()["description"] == ""


@pytest.mark.rules("amount-rules", "currency-rules", "card-rules", "cvc-rules", "email-rules",
                   "description-rules", "invalid-stores-nothing", "no-value-in-422",
                   "error-422")  # fmt: skip
def test_invalid_fields_are_422_store_nothing_and_repeat_no_value(authed_api, db):
    tag = uuid.uuid4().hex
    bad_card = new_card()
    bad_card = bad_card[:-1] + str((int(bad_card[-1]) + 1) % 10)  # fails the Luhn check
    cases = [
        {"amount_cents": 0}, {"amount_cents": 1_000_001}, {"amount_cents": 10.0},
        {"amount_cents": "1250"}, {"amount_cents": True}, {"amount_cents": None},
        {"amount_cents": ...},
        {"currency": "eur"}, {"currency": "JPY"}, {"currency": ...}, {"currency": ["EUR"]},
        {"card_number": bad_card}, {"card_number": new_card(12)}, {"card_number": new_card(20)},
        {"card_number": int(new_card())}, {"card_number": ...},
        {"card_number": " ".join(new_card()[i : i + 4] for i in range(0, 16, 4))},
        {"card_number": "-".join(new_card()[i : i + 4] for i in range(0, 16, 4))},
        {"card_number": "４" + new_card()[1:]},
        {"cvc": "12"}, {"cvc": "12345"}, {"cvc": 123}, {"cvc": "12a"}, {"cvc": ...},
        {"email": f"no-at-{tag}.example"}, {"email": f"two@at@{tag}"}, {"email": f"@{tag}.example"},
        {"email": f"jane{tag}@"}, {"email": f"jane doe@{tag}"}, {"email": f"jané@{tag}"},
        {"email": "x" * 245 + f"@{tag[:10]}"}, {"email": ...}, {"email": None},
        {"description": "d" * 201}, {"description": None}, {"description": "nul\x00here"},
        {"description": 42},
    ]  # fmt: skip
    for fields in cases:
        body = payment_body(**fields)
        response = authed_api.post("/v1/payments", json=body)
        error = assert_error(response, 422, "validation_error")
        for secret in ("card_number", "email"):
            value = body.get(secret)
            if isinstance(value, str) and len(value) >= 8:
                assert value not in response.text, (f"the 422 repeats the {secret}", error)
        if isinstance(body.get("email"), str):
            assert stored_count(db, body["email"]) == 0, fields
    surrogate = json.dumps(payment_body()).replace('"order forty-two"', '"\\ud800"')
    response = authed_api.post("/v1/payments", content=surrogate.encode(), headers=JSON)
    assert_error(response, 422, "validation_error")
    assert stored_count(db, json.loads(surrogate)["email"]) == 0


@pytest.mark.rules("body-order", "error-413", "error-415", "error-422", "invalid-stores-nothing")
def test_bodies_are_refused_in_the_stated_order(authed_api, db):
    body = payment_body()
    cases = [
        # over 16 KiB decides first, whatever the type and the JSON
        (json.dumps({**body, "pad": "x" * (16 * KiB)}).encode(), JSON, 413, "payload_too_large"),
        (b"not json" * 2100, {"Content-Type": "text/plain"}, 413, "payload_too_large"),
        # then the Content-Type
        (json.dumps(body).encode(), {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (json.dumps(body).encode(), {}, 415, "unsupported_media_type"),
        (b"{broken", {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        # then the JSON itself
        (b"{broken", JSON, 422, "validation_error"),
        (b"", JSON, 422, "validation_error"),
        (json.dumps([body]).encode(), JSON, 422, "validation_error"),
        (b'{"amount_cents": 5, "email": "\xff\xfe"}', JSON, 422, "validation_error"),
        (b'{"description": ' + b"[" * 5000 + b"]" * 5000 + b"}", JSON, 422, "validation_error"),
    ]  # fmt: skip
    for content, headers, status, code in cases:
        response = authed_api.post("/v1/payments", content=content, headers=headers)
        assert_error(response, status, code)
    assert stored_count(db, body["email"]) == 0
    at_limit = json.dumps({**body, "pad": ""}).encode()
    at_limit = at_limit[:-2] + b"x" * (16 * KiB - len(at_limit)) + at_limit[-2:]
    assert len(at_limit) == 16 * KiB
    created = authed_api.post("/v1/payments", content=at_limit, headers=JSON)
    assert created.status_code == 201, created.text[:300]
    charset = payment_body()
    charset_json = {"Content-Type": "application/json; charset=utf-8"}
    created = authed_api.post("/v1/payments", content=json.dumps(charset).encode(),
                              headers=charset_json)  # fmt: skip
    assert created.status_code == 201, created.text[:300]
    assert stored_count(db, body["email"]) == 1 and stored_count(db, charset["email"]) == 1


@pytest.mark.rules("api-key", "api-key-first", "error-401")
def test_the_api_key_is_required_and_checked_before_the_body(api, app_secret, db):
    body = payment_body()
    other_case = app_secret.swapcase() if app_secret.swapcase() != app_secret else app_secret + "A"
    wrong = (None, "", "Bearer", f"Bearer {app_secret}x", f"Bearer {app_secret[:-1]}",
             f"Bearer  {app_secret}", f"Basic {app_secret}", f"Token {app_secret}", app_secret,
             f"Bearer {other_case}")  # fmt: skip
    for authorization in wrong:
        headers = {} if authorization is None else {"Authorization": authorization}
        assert_error(api.post("/v1/payments", json=body, headers=headers), 401, "unauthorized")
        broken = api.post("/v1/payments", content=b"{broken" * 4000, headers=headers)
        assert_error(broken, 401, "unauthorized")
        assert_error(api.get(f"/v1/payments/{uuid.uuid4()}", headers=headers), 401,
                     "unauthorized")  # fmt: skip
    assert stored_count(db, body["email"]) == 0
    for scheme in ("bearer", "BEARER", "BeArEr"):
        headers = {"Authorization": f"{scheme} {app_secret}"}
        created = api.post("/v1/payments", json=payment_body(), headers=headers)
        assert created.status_code == 201, (scheme, created.text[:300])
        read = api.get(f"/v1/payments/{created.json()['id']}", headers=headers)
        assert read.status_code == 200, (scheme, read.text[:300])
        assert_error(api.get(f"/v1/payments/{created.json()['id']}"), 401, "unauthorized")


@pytest.mark.rules("payment-id-404", "exact-paths", "error-404", "error-405", "error-body",
                   "request-id-every-answer")  # fmt: skip
def test_ids_and_paths_that_match_nothing_are_404_and_wrong_methods_405(authed_api):
    _, response = create(authed_api)
    payment_id = response.json()["id"]
    for raw in ("abc", "1", payment_id.upper(), payment_id.replace("-", ""), f"{{{payment_id}}}",
                str(uuid.uuid4()), str(uuid.uuid1()), payment_id + "0"):  # fmt: skip
        assert_error(authed_api.get(f"/v1/payments/{raw}"), 404, "not_found")
    for path in ("/v1/payments/", f"/v1/payments/{payment_id}/", "/health/", "/v1/payment",
                 f"/v1/nowhere-{uuid.uuid4().hex}", "/", "/V1/PAYMENTS"):  # fmt: skip
        assert_error(authed_api.get(path), 404, "not_found")
    for method, path in (("DELETE", f"/v1/payments/{payment_id}"), ("PUT", "/v1/payments"),
                         ("GET", "/v1/payments"), ("POST", "/health"),
                         ("PATCH", f"/v1/payments/{payment_id}")):  # fmt: skip
        assert_error(authed_api.request(method, path), 405, "method_not_allowed")
    assert authed_api.get(f"/v1/payments/{payment_id}").status_code == 200
