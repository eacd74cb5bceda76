"""Encryption at rest: the stored form, the keys of DATA_KEYS (or derived from APP_SECRET), the
blind index, values that cannot be read, rotation, and what never reaches the output."""

from __future__ import annotations

import pytest
from patients_api import (
    assert_error,
    create,
    data_keys,
    derived_key,
    expected_rotation,
    index_of,
    instance,
    key_id_of,
    leaks,
    new_key,
    open_value,
    patient_body,
    rotate,
    stored_row,
)


@pytest.mark.rules("stored-form", "k0-derived", "encrypted-fields", "db-table")
def test_sensitive_fields_are_stored_as_fernet_tokens_under_the_derived_k0(
    authed_api, db, unique, app_secret
):
    body = patient_body(unique, notes="Diabetic; \u00e9t\u00e9 \u2603 'quoted'")
    patient = create(authed_api, body)
    row = stored_row(db, patient["id"])
    assert row is not None
    keys = {"k0": derived_key(app_secret)}
    for field in ("national_id", "notes"):
        assert body[field] not in row[field], (field, row[field][:80])
        assert key_id_of(row[field]) == "k0", row[field][:40]
        assert open_value(row[field], keys) == body[field], field
    assert row["name"] == body["name"] and row["date_of_birth"] == "1815-12-10"
    # an empty notes is encrypted like any other value
    empty = create(authed_api, patient_body(unique, notes=...))
    stored = stored_row(db, empty["id"])
    assert stored is not None and open_value(stored["notes"], keys) == ""


@pytest.mark.rules("fresh-token")
def test_the_same_value_stored_twice_is_stored_as_two_different_texts(authed_api, db, unique):
    body = patient_body(unique)
    first, second = create(authed_api, body), create(authed_api, body)
    one, two = stored_row(db, first["id"]), stored_row(db, second["id"])
    assert one is not None and two is not None
    assert one["national_id"] != two["national_id"]
    assert one["notes"] != two["notes"]
    assert one["national_id"] != one["notes"]


@pytest.mark.rules("blind-index", "search")
def test_national_id_index_is_the_keyed_hmac_of_the_national_id(authed_api, db, unique, app_secret):
    national_id = unique("Z\u00fcrich-")
    patient = create(authed_api, patient_body(unique, national_id=national_id))
    row = stored_row(db, patient["id"])
    assert row is not None and row["national_id_index"] == index_of(app_secret, national_id)
    changed = unique("NEW")
    response = authed_api.patch(f"/v1/patients/{patient['id']}", json={"national_id": changed})
    assert response.status_code == 200, response.text
    row = stored_row(db, patient["id"])
    assert row is not None and row["national_id_index"] == index_of(app_secret, changed)
    found = authed_api.post("/v1/patients/search", json={"national_id": changed}).json()["items"]
    assert [p["id"] for p in found] == [patient["id"]]
    old = authed_api.post("/v1/patients/search", json={"national_id": national_id}).json()
    assert old["items"] == []


@pytest.mark.rules("first-key-encrypts", "keys-from-env", "stored-form")
def test_new_values_are_encrypted_under_the_first_key_of_data_keys(
    server, client_factory, auth_headers, db, unique, app_secret
):
    first, second = (unique("kf")[-32:], new_key()), (unique("ks")[-32:], new_key())
    with instance(server, client_factory, auth_headers, data_keys(first, second)) as other:
        body = patient_body(unique)
        patient = create(other, body)
        assert other.get(f"/v1/patients/{patient['id']}").json() == patient
    row = stored_row(db, patient["id"])
    assert row is not None
    for field in ("national_id", "notes"):
        assert key_id_of(row[field]) == first[0], row[field][:40]
        assert open_value(row[field], dict([first])) == body[field]
    # the index does not depend on the data keys
    assert row["national_id_index"] == index_of(app_secret, body["national_id"])


@pytest.mark.rules("empty-data-keys", "k0-derived")
def test_an_empty_data_keys_means_the_derived_k0(
    server, client_factory, auth_headers, authed_api, db, unique, app_secret
):
    mine = create(authed_api, patient_body(unique))
    with instance(server, client_factory, auth_headers, "") as other:
        assert other.get(f"/v1/patients/{mine['id']}").json() == mine
        theirs = create(other, patient_body(unique))
    row = stored_row(db, theirs["id"])
    assert row is not None and key_id_of(row["notes"]) == "k0"
    assert open_value(row["notes"], {"k0": derived_key(app_secret)}) == theirs["notes"]


@pytest.mark.rules("every-key-decrypts", "patch-encrypts-first", "cannot-read-409")
def test_an_instance_reads_values_under_every_listed_key(
    server, client_factory, auth_headers, authed_api, db, unique, app_secret
):
    old = create(authed_api, patient_body(unique))  # under k0
    newer = (unique("kn")[-32:], new_key())
    keys = data_keys(newer, ("k0", derived_key(app_secret)))
    with instance(server, client_factory, auth_headers, keys) as other:
        assert other.get(f"/v1/patients/{old['id']}").json() == old
        notes = unique("changed notes")
        response = other.patch(f"/v1/patients/{old['id']}", json={"notes": notes})
        assert response.status_code == 200, response.text
        assert response.json() == {**old, "notes": notes}
        assert other.get(f"/v1/patients/{old['id']}").json() == {**old, "notes": notes}
    row = stored_row(db, old["id"])
    assert row is not None and key_id_of(row["notes"]) == newer[0]
    assert open_value(row["notes"], dict([newer])) == notes
    # the main instance, with k0 alone, can no longer read the notes
    assert_error(authed_api.get(f"/v1/patients/{old['id']}"), 409, "key_unavailable")


@pytest.mark.rules("cannot-read-409", "no-ciphertext-in-answers", "delete", "search-unreadable",
                   "refused-changes-nothing")  # fmt: skip
def test_a_patient_under_an_unknown_key_is_409_and_never_shows_its_stored_text(
    server, client_factory, auth_headers, authed_api, db, unique
):
    foreign = (unique("kx")[-32:], new_key())
    body = patient_body(unique)
    with instance(server, client_factory, auth_headers, data_keys(foreign)) as other:
        patient = create(other, body)
    row = stored_row(db, patient["id"])
    assert row is not None
    shown = (row["national_id"], row["notes"], row["national_id"].partition(":")[2][:40],
             foreign[1], body["national_id"], body["notes"])  # fmt: skip
    for response in (
        authed_api.get(f"/v1/patients/{patient['id']}"),
        authed_api.patch(f"/v1/patients/{patient['id']}", json={"name": unique("renamed")}),
        authed_api.patch(f"/v1/patients/{patient['id']}", json={"notes": "x", "national_id": "y"}),
        authed_api.patch(f"/v1/patients/{patient['id']}", json={}),
    ):
        assert_error(response, 409, "key_unavailable")
        assert leaks(response, *shown) == [], response.text[:300]
        assert foreign[0] not in response.text
    assert stored_row(db, patient["id"]) == row
    # lists and searches still show its summary
    summary = {k: patient[k] for k in ("id", "name", "date_of_birth")}
    listed = authed_api.get("/v1/patients", params={"name": body["name"]}).json()["items"]
    assert listed == [summary]
    found = authed_api.post("/v1/patients/search", json={"national_id": body["national_id"]})
    assert found.status_code == 200 and found.json()["items"] == [summary]
    # a token altered in the database cannot be read either
    mine = create(authed_api, patient_body(unique))
    stored = stored_row(db, mine["id"])
    assert stored is not None
    altered = altered_token(stored["notes"])
    db.execute("UPDATE patients SET notes = %s WHERE id = %s", (altered, mine["id"]))
    assert_error(authed_api.get(f"/v1/patients/{mine['id']}"), 409, "key_unavailable")
    # DELETE works whatever the keys
    for pid in (patient["id"], mine["id"]):
        assert authed_api.delete(f"/v1/patients/{pid}").status_code == 204
        assert stored_row(db, pid) is None


@pytest.mark.rules("rotation", "rotation-count", "rotation-batches", "first-key-encrypts",
                   "every-key-decrypts")  # fmt: skip
def test_rotation_moves_every_value_under_other_listed_keys_to_the_first(
    server, client_factory, auth_headers, authed_api, db, unique, app_secret
):
    k0 = ("k0", derived_key(app_secret))
    middle = (unique("km")[-32:], new_key())
    newest = (unique("kr")[-32:], new_key())
    under_k0 = [create(authed_api, patient_body(unique, name=f"old {i}")) for i in range(12)]
    with instance(server, client_factory, auth_headers, data_keys(middle)) as other:
        # more patients than a batch of a hundred, so a rotation must go past its first batch
        under_middle = [create(other, patient_body(unique, name=f"mid {i}")) for i in range(110)]
    ours = under_k0 + under_middle
    keys = [newest, middle, k0]
    expected = expected_rotation(db, keys)
    assert expected[0] >= 2 * len(ours)
    with instance(server, client_factory, auth_headers, data_keys(*keys)) as rotator:
        answer = rotate(rotator)
        assert answer == {"rotated": expected[0], "unreadable": expected[1]}
        # a second rotation has nothing left to move
        assert rotate(rotator)["rotated"] == 0
    for pid, field in expected[2]:
        row = stored_row(db, pid)
        if row is not None:
            assert key_id_of(row[field]) == newest[0], (pid, field, row[field][:40])
    for patient in ours:
        row = stored_row(db, patient["id"])
        assert row is not None
        assert open_value(row["national_id"], dict([newest])) == patient["national_id"]
        assert open_value(row["notes"], dict([newest])) == patient["notes"]
    with instance(server, client_factory, auth_headers, data_keys(newest)) as reader:
        for patient in ours[::7]:
            assert reader.get(f"/v1/patients/{patient['id']}").json() == patient
    # and back under k0, so that the main instance reads them again
    with instance(server, client_factory, auth_headers, data_keys(k0, newest)) as back:
        assert rotate(back)["rotated"] >= 2 * len(ours)
    for patient in ours[::11]:
        assert authed_api.get(f"/v1/patients/{patient['id']}").json() == patient


@pytest.mark.rules("rotation", "rotation-count", "rotation-unreadable")
def test_rotation_leaves_values_it_cannot_read_and_counts_them(
    server, client_factory, auth_headers, db, unique
):
    old, new, gone = ((unique(p)[-32:], new_key()) for p in ("ko", "kn", "kg"))
    with instance(server, client_factory, auth_headers, data_keys(gone)) as other:
        lost = create(other, patient_body(unique))
    with instance(server, client_factory, auth_headers, data_keys(old)) as other:
        kept = create(other, patient_body(unique))
    broken = create_altered(server, client_factory, auth_headers, db, unique, old)
    lost_row, broken_row = stored_row(db, lost["id"]), stored_row(db, broken)
    keys = [new, old]
    rotated, unreadable, _ = expected_rotation(db, keys)
    assert unreadable >= 3
    with instance(server, client_factory, auth_headers, data_keys(*keys)) as rotator:
        assert rotate(rotator) == {"rotated": rotated, "unreadable": unreadable}
        assert rotator.get(f"/v1/patients/{kept['id']}").json() == kept
        assert_error(rotator.get(f"/v1/patients/{lost['id']}"), 409, "key_unavailable")
    assert stored_row(db, lost["id"]) == lost_row
    row = stored_row(db, broken)
    assert row is not None and broken_row is not None
    # the altered notes stayed as stored; its readable national id moved to the new key
    assert row["notes"] == broken_row["notes"]
    assert key_id_of(row["national_id"]) == new[0]
    kept_row = stored_row(db, kept["id"])
    assert kept_row is not None and key_id_of(kept_row["notes"]) == new[0]


def altered_token(stored: str) -> str:
    """The stored text with the end of its token changed: it no longer decrypts."""
    tail = "AAAAAA" if not stored.endswith("AAAAAA") else "BBBBBB"
    return stored[:-6] + tail


def create_altered(server, client_factory, auth_headers, db, unique, key) -> int:
    """A patient stored under `key` whose notes token was then altered (it no longer decrypts)."""
    with instance(server, client_factory, auth_headers, data_keys(key)) as other:
        patient = create(other, patient_body(unique))
    stored = stored_row(db, patient["id"])
    assert stored is not None
    altered = altered_token(stored["notes"])
    db.execute("UPDATE patients SET notes = %s WHERE id = %s", (altered, patient["id"]))
    return int(patient["id"])


@pytest.mark.rules("output-clean")
def test_sensitive_values_never_reach_the_output(server, authed_api, api, unique, app_secret):
    body = patient_body(unique)
    patient = create(authed_api, body)
    pid = patient["id"]
    changed = {"national_id": unique("NX"), "notes": unique("secret note")}
    invalid = {"national_id": unique("BADNI") + "x" * 70, "notes": unique("BADNOTE") + "\u0000"}
    sent = [body["national_id"], body["notes"], *changed.values(), *invalid.values()]
    assert authed_api.get(f"/v1/patients/{pid}").status_code == 200
    assert authed_api.patch(f"/v1/patients/{pid}", json=changed).status_code == 200
    authed_api.post("/v1/patients/search", json={"national_id": body["national_id"]})
    authed_api.post("/v1/patients/search", json={"national_id": changed["national_id"]})
    response = authed_api.post("/v1/patients", json=patient_body(unique, **invalid))
    assert_error(response, 422, "validation_error")
    api.get(f"/v1/patients/{pid}", headers={"Authorization": "Bearer wrong"})
    assert authed_api.delete(f"/v1/patients/{pid}").status_code == 204
    output = server.output()
    for value in sent:
        assert value.rstrip("\x00") not in output, f"the output shows a sent value: {value[:30]}"
    assert app_secret not in output
    assert derived_key(app_secret) not in output
