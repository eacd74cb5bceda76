"""Patients as stored and served: fields, validation, listing, search, PATCH, DELETE, path ids."""

from __future__ import annotations

import pytest
from patients_api import assert_error, create, patient_body, stored_row

# not a whole number from 1 to 2**63 - 1: each names nothing
MALFORMED_IDS = ["abc", "0", "-1", "1.5", "1e3", "9223372036854775808", "%201", "0x10"]


def summary(patient):
    return {k: patient[k] for k in ("id", "name", "date_of_birth")}


def names_count(db, name):
    return int(db.scalar("SELECT count(*) FROM patients WHERE name = %s", (name,)))


@pytest.mark.rules("health")
def test_health_needs_no_token(api):
    response = api.get("/health")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


@pytest.mark.rules("db-table")
def test_the_table_holds_the_stated_columns(authed_api, db, unique):
    create(authed_api, patient_body(unique))  # the server has started and made its schema
    columns = db.columns("patients")
    text = {"text", "character varying"}
    assert columns.get("id") in {"integer", "bigint"}, columns
    assert columns.get("name") in text and columns.get("date_of_birth") == "date", columns
    assert columns.get("national_id") == "text" and columns.get("notes") == "text", columns
    assert columns.get("national_id_index") in text | {"character"}, columns


@pytest.mark.rules("create", "get", "strings-verbatim", "ids-server", "unknown-fields")
def test_create_answers_201_with_the_patient_and_get_reads_it(authed_api, db, unique):
    for name, notes in (("Robert'); DROP TABLE patients;--", "%_\\ 'x'"),
                        ("\u00e9t\u00e9 \u2603 \U0001f680", "  spaced  \n line"),
                        ("  spaced  ", "")):  # fmt: skip
        body = patient_body(unique, name=name, notes=notes)
        response = authed_api.post(
            "/v1/patients", json={**body, "id": 987654, "national_id_index": "00" * 32}
        )
        assert response.status_code == 201, response.text
        patient = response.json()
        assert isinstance(patient["id"], int) and patient["id"] >= 1 and patient["id"] != 987654
        assert patient == {**body, "id": patient["id"]}
        assert authed_api.get(f"/v1/patients/{patient['id']}").json() == patient
        row = stored_row(db, patient["id"])
        assert row is not None and row["name"] == name and row["national_id_index"] != "00" * 32


@pytest.mark.rules("notes-default")
def test_notes_default_to_the_empty_string(authed_api, unique):
    patient = create(authed_api, patient_body(unique, notes=...))
    assert patient["notes"] == ""
    assert authed_api.get(f"/v1/patients/{patient['id']}").json()["notes"] == ""


@pytest.mark.rules("field-rules", "strings-nul", "error-422", "refused-changes-nothing")
def test_fields_out_of_their_rules_are_422_and_store_nothing(authed_api, db, unique):
    longest = patient_body(unique, name="\u00e9" * 200, national_id="\u00e9" * 64,
                           notes="\u00e9" * 4000)  # fmt: skip
    assert create(authed_api, longest)["notes"] == "\u00e9" * 4000
    name = unique("refused")
    for change in ({"name": ""}, {"name": "x" * 201}, {"name": ...}, {"name": None}, {"name": 5},
                   {"name": "a\u0000b"}, {"national_id": ""}, {"national_id": "x" * 65},
                   {"national_id": ...}, {"national_id": 12345}, {"national_id": "a\u0000"},
                   {"notes": "x" * 4001}, {"notes": None}, {"notes": ["x"]},
                   {"notes": "\u0000"}, {"date_of_birth": ...},
                   {"date_of_birth": 19991231}):  # fmt: skip
        body = patient_body(unique, **change)
        if "name" not in change:
            body["name"] = name
        assert_error(authed_api.post("/v1/patients", json=body), 422, "validation_error")
    assert names_count(db, name) == 0


@pytest.mark.rules("date-format", "error-422")
def test_date_of_birth_is_a_real_date_written_yyyy_mm_dd(authed_api, db, unique):
    for good in ("0001-01-01", "9999-12-31", "2024-02-29", "2000-02-29"):
        patient = create(authed_api, patient_body(unique, date_of_birth=good))
        assert authed_api.get(f"/v1/patients/{patient['id']}").json()["date_of_birth"] == good
        row = stored_row(db, patient["id"])
        assert row is not None and row["date_of_birth"] == good
    name = unique("baddate")
    for bad in ("2023-02-29", "2023-13-01", "2023-00-10", "2023-04-31", "0000-01-01",
                "20230101", "2023-1-01", "2023-01-1", "2023-W01-1", "2023-01-01T00:00:00",
                "2023-001", " 2023-01-01", "2023-01-01 ", "\uff12023-01-01", "", "23-01-01",
                "+2023-01-01"):  # fmt: skip
        body = patient_body(unique, name=name, date_of_birth=bad)
        assert_error(authed_api.post("/v1/patients", json=body), 422, "validation_error")
    assert names_count(db, name) == 0


@pytest.mark.rules("list", "list-paging", "list-order")
def test_list_answers_summaries_newest_first_with_paging(authed_api, unique):
    name = unique("paged")
    made = [create(authed_api, patient_body(unique, name=name)) for _ in range(5)]
    expected = [summary(p) for p in reversed(made)]
    body = authed_api.get("/v1/patients", params={"name": name}).json()
    assert body == {"items": expected, "total": 5}
    page = authed_api.get("/v1/patients", params={"name": name, "limit": 2, "offset": 1}).json()
    assert page == {"items": expected[1:3], "total": 5}
    past = authed_api.get("/v1/patients", params={"name": name, "offset": 5}).json()
    assert past == {"items": [], "total": 5}
    huge = authed_api.get("/v1/patients", params={"name": name, "offset": 10**30}).json()
    assert huge == {"items": [], "total": 5}
    everyone = authed_api.get("/v1/patients").json()
    assert len(everyone["items"]) == min(20, everyone["total"]) and everyone["total"] >= 5
    ids = [p["id"] for p in everyone["items"]]
    assert ids == sorted(ids, reverse=True)
    assert set(everyone["items"][0]) == {"id", "name", "date_of_birth"}
    hundred = authed_api.get("/v1/patients", params={"limit": 100}).json()
    assert len(hundred["items"]) == min(100, hundred["total"])


@pytest.mark.rules("list-paging", "error-422", "query-utf8", "unknown-query")
def test_limit_and_offset_out_of_their_rules_are_422(authed_api):
    for params in ({"limit": "0"}, {"limit": "101"}, {"limit": "-1"}, {"limit": "1.0"},
                   {"limit": "abc"}, {"limit": ""}, {"limit": " 5"}, {"limit": "+5"},
                   {"offset": "-1"}, {"offset": "1e3"}, {"offset": "x"}):  # fmt: skip
        assert_error(authed_api.get("/v1/patients", params=params), 422, "validation_error")
    assert_error(authed_api.get("/v1/patients?limit=%FF"), 422, "validation_error")
    assert_error(authed_api.get("/v1/patients?offset=%C3"), 422, "validation_error")
    ok = authed_api.get("/v1/patients", params={"limit": "1", "sort": "'; DROP", "page": "x"})
    assert ok.status_code == 200 and len(ok.json()["items"]) <= 1


@pytest.mark.rules("list-name", "query-utf8")
def test_the_name_filter_matches_the_exact_name_only(authed_api, unique):
    name = unique("Exact Name")
    mine = create(authed_api, patient_body(unique, name=name))
    create(authed_api, patient_body(unique, name=name + " "))
    create(authed_api, patient_body(unique, name=name.upper()))
    for value, expected in ((name, [summary(mine)]), (name.lower(), []), (name[:-1], []),
                            (name[:-3] + "%", []), ("' OR '1'='1", []), (name + "\u0000", []),
                            ("\u0000", [])):  # fmt: skip
        body = authed_api.get("/v1/patients", params={"name": value}).json()
        assert body["items"] == expected and body["total"] == len(expected), value
    raw = authed_api.get("/v1/patients?name=%FF%FE")
    if raw.status_code == 422:
        assert_error(raw, 422, "validation_error")
    else:
        assert raw.status_code == 200 and raw.json() == {"items": [], "total": 0}


@pytest.mark.rules("search", "error-422", "search-order")
def test_search_finds_every_patient_with_the_national_id(authed_api, unique):
    national_id = unique("SSN")
    first = create(authed_api, patient_body(unique, national_id=national_id))
    second = create(authed_api, patient_body(unique, national_id=national_id))
    create(authed_api, patient_body(unique, national_id=national_id.upper()))
    found = authed_api.post("/v1/patients/search", json={"national_id": national_id})
    assert found.status_code == 200, found.text
    assert found.json() == {"items": [summary(second), summary(first)]}
    for other in (national_id + " ", national_id[:-1], national_id.lower() + "x"):
        none = authed_api.post("/v1/patients/search", json={"national_id": other})
        assert none.status_code == 200 and none.json() == {"items": []}
    for bad in ({}, {"national_id": ""}, {"national_id": "x" * 65}, {"national_id": 5},
                {"national_id": None}, {"national_id": "a\u0000"}):  # fmt: skip
        response = authed_api.post("/v1/patients/search", json=bad)
        assert_error(response, 422, "validation_error")


@pytest.mark.rules("search-unreadable", "blind-index")
def test_search_uses_the_index_so_patients_under_unknown_keys_are_found(
    authed_api, db, unique, app_secret
):
    from patients_api import index_of

    national_id = unique("IDX")
    patient = create(authed_api, patient_body(unique, national_id=national_id))
    # values that no key decrypts: only the index can find this patient now
    db.execute(
        "UPDATE patients SET national_id = %s, notes = %s WHERE id = %s",
        ("kz:gAAAAABnotatoken", "kz:gAAAAABnotatokeneither", patient["id"]),
    )
    found = authed_api.post("/v1/patients/search", json={"national_id": national_id})
    assert found.status_code == 200, found.text
    assert found.json() == {"items": [summary(patient)]}
    # the index alone decides: a row whose index names another id is found by that id
    other = unique("OTHER")
    db.execute(
        "UPDATE patients SET national_id_index = %s WHERE id = %s",
        (index_of(app_secret, other), patient["id"]),
    )
    moved = authed_api.post("/v1/patients/search", json={"national_id": other}).json()
    assert moved == {"items": [summary(patient)]}
    assert authed_api.delete(f"/v1/patients/{patient['id']}").status_code == 204


@pytest.mark.rules("patch", "patch-encrypts-first")
def test_patch_changes_only_the_fields_sent(authed_api, db, unique):
    patient = create(authed_api, patient_body(unique))
    pid = patient["id"]
    before = stored_row(db, pid)
    same = authed_api.patch(f"/v1/patients/{pid}", json={})
    assert same.status_code == 200 and same.json() == patient
    assert stored_row(db, pid) == before
    steps = [{"name": unique("Renamed")}, {"date_of_birth": "1990-01-31"},
             {"national_id": unique("NEWNI")}, {"notes": ""},
             {"notes": unique("n"), "name": unique("Both"), "id": 5,
              "national_id_index": "x"}]  # fmt: skip
    current = dict(patient)
    for change in steps:
        response = authed_api.patch(f"/v1/patients/{pid}", json=change)
        assert response.status_code == 200, response.text
        current.update({k: v for k, v in change.items() if k in current and k != "id"})
        assert response.json() == current
        assert authed_api.get(f"/v1/patients/{pid}").json() == current
    row = stored_row(db, pid)
    assert row is not None and row["name"] == current["name"]
    assert row["date_of_birth"] == "1990-01-31"


@pytest.mark.rules("patch", "field-rules", "error-422", "refused-changes-nothing")
def test_patch_refuses_null_and_invalid_values_and_changes_nothing(authed_api, db, unique):
    patient = create(authed_api, patient_body(unique))
    pid = patient["id"]
    before = stored_row(db, pid)
    for change in ({"name": None}, {"notes": None}, {"national_id": None},
                   {"date_of_birth": None}, {"name": ""}, {"national_id": "x" * 65},
                   {"date_of_birth": "2023-02-30"}, {"notes": 7},
                   {"name": unique("ok"), "notes": None}):  # fmt: skip
        response = authed_api.patch(f"/v1/patients/{pid}", json=change)
        assert_error(response, 422, "validation_error")
    assert stored_row(db, pid) == before
    assert authed_api.get(f"/v1/patients/{pid}").json() == patient


@pytest.mark.rules("delete", "not-found", "error-404")
def test_delete_removes_the_patient_then_it_is_404(authed_api, db, unique):
    patient = create(authed_api, patient_body(unique))
    pid = patient["id"]
    response = authed_api.delete(f"/v1/patients/{pid}")
    assert response.status_code == 204 and response.content == b""
    assert stored_row(db, pid) is None
    assert_error(authed_api.get(f"/v1/patients/{pid}"), 404, "not_found")
    assert_error(authed_api.delete(f"/v1/patients/{pid}"), 404, "not_found")
    assert_error(authed_api.patch(f"/v1/patients/{pid}", json={"name": "x"}), 404, "not_found")


@pytest.mark.rules("path-id", "error-404", "refused-changes-nothing")
def test_path_ids_that_are_not_whole_numbers_in_range_are_404(authed_api, db, unique):
    patient = create(authed_api, patient_body(unique))
    before = db.scalar("SELECT count(*) FROM patients")
    for raw in MALFORMED_IDS + ["9223372036854775807"]:
        assert_error(authed_api.get(f"/v1/patients/{raw}"), 404, "not_found")
        assert_error(authed_api.patch(f"/v1/patients/{raw}", json={"name": "x"}), 404,
                     "not_found")  # fmt: skip
        assert_error(authed_api.delete(f"/v1/patients/{raw}"), 404, "not_found")
    assert db.scalar("SELECT count(*) FROM patients") == before
    assert authed_api.get(f"/v1/patients/{patient['id']}").json() == patient
    # 1 is the smallest id in range: once a patient holds it, it is found (or 409), never 404
    if db.scalar("SELECT count(*) FROM patients WHERE id = 1") == 0:
        db.execute("UPDATE patients SET id = 1 WHERE id = %s", (patient["id"],))
    assert authed_api.get("/v1/patients/1").status_code in (200, 409)
