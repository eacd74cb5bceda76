"""Creating, rendering, storing and reading print jobs."""

from __future__ import annotations

import re
import time

import pytest
from jobs_api import JOB_FIELDS, JOBS, assert_error, assert_stored_whole, stored_jobs

RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


@pytest.mark.rules("health")
def test_health_answers_ok(api):
    response = api.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.rules("create-201", "page-text", "pages-rows", "get-job")
def test_a_job_is_answered_201_and_stored_with_its_pages(authed_api, api, db, unique):
    document = unique("Quarterly report")
    response = authed_api.post(JOBS, json={"document": document, "pages": 3})
    assert response.status_code == 201, response.text
    job = response.json()
    assert set(job) >= JOB_FIELDS
    assert job["document"] == document and job["pages"] == 3
    assert isinstance(job["id"], int) and job["id"] >= 1
    assert RFC3339.fullmatch(job["created_at"]), job
    assert assert_stored_whole(db, document, 3) == job["id"]
    again = api.get(f"{JOBS}/{job['id']}")
    assert again.status_code == 200
    assert {k: again.json()[k] for k in JOB_FIELDS} == {k: job[k] for k in JOB_FIELDS}


@pytest.mark.rules("render-time")
@pytest.mark.parametrize("pages", [1, 10])
def test_rendering_takes_100_ms_per_page(authed_api, db, unique, pages):
    document = unique("timed")
    started = time.monotonic()
    response = authed_api.post(JOBS, json={"document": document, "pages": pages})
    elapsed = time.monotonic() - started
    assert response.status_code == 201, response.text
    assert elapsed >= pages * 0.1, f"{pages} pages answered after {elapsed:.3f} s"
    assert_stored_whole(db, document, pages)


@pytest.mark.rules("unknown-fields")
def test_unknown_fields_are_ignored(authed_api, db, unique):
    document = unique("extra")
    body = {"document": document, "pages": 2, "id": 987654321, "created_at": "2001-01-01T00:00:00Z",
            "status": "printed"}  # fmt: skip
    response = authed_api.post(JOBS, json=body)
    assert response.status_code == 201, response.text
    job = response.json()
    assert job["id"] != 987654321 and not job["created_at"].startswith("2001")
    assert assert_stored_whole(db, document, 2) == job["id"]


@pytest.mark.rules("list-order", "list-paging", "list-total")
def test_the_list_is_newest_first_with_limit_offset_and_total(authed_api, api, db, unique):
    made = []
    for n in range(3):
        response = authed_api.post(JOBS, json={"document": unique(f"list{n}"), "pages": 1})
        assert response.status_code == 201, response.text
        made.append(response.json())
    newest_first = [job["id"] for job in reversed(made)]
    page = api.get(JOBS, params={"limit": 2}).json()
    assert page["limit"] == 2 and page["offset"] == 0
    assert [job["id"] for job in page["items"]] == newest_first[:2]
    assert page["total"] == db.scalar("SELECT count(*) FROM print_jobs")
    second = api.get(JOBS, params={"limit": 2, "offset": 1}).json()
    assert [job["id"] for job in second["items"]] == newest_first[1:3]
    assert second["offset"] == 1
    assert {k: page["items"][0][k] for k in JOB_FIELDS} == {k: made[-1][k] for k in JOB_FIELDS}
    default = api.get(JOBS).json()
    assert default["limit"] == 20 and default["offset"] == 0
    assert len(default["items"]) == min(20, default["total"])
    ids = [job["id"] for job in default["items"]]
    assert ids == sorted(ids, reverse=True)
    beyond = api.get(JOBS, params={"offset": default["total"] + 5}).json()
    assert beyond["items"] == [] and beyond["total"] >= default["total"]


@pytest.mark.rules("list-params")
@pytest.mark.parametrize(
    "params",
    [{"limit": 0}, {"limit": 101}, {"limit": "abc"}, {"limit": "1.5"}, {"offset": -1},
     {"offset": "x"}, {"offset": "9223372036854775808"}],
)  # fmt: skip
def test_a_limit_or_offset_out_of_range_is_422(api, params):
    assert_error(api.get(JOBS, params=params), 422, "validation_error")


@pytest.mark.rules("list-params")
def test_the_largest_limit_and_offset_are_accepted(api):
    response = api.get(JOBS, params={"limit": 100})
    assert response.status_code == 200 and response.json()["limit"] == 100
    response = api.get(JOBS, params={"offset": 2**63 - 1})
    assert response.status_code == 200, response.text
    assert response.json()["items"] == [] and response.json()["offset"] == 2**63 - 1


@pytest.mark.rules("not-found", "malformed-path-id")
@pytest.mark.parametrize("bad_id", ["abc", "1.5", "0", "-1", "9223372036854775808", "1e3"])
def test_an_unknown_or_malformed_id_names_no_job(api, db, bad_id):
    missing = int(db.scalar("SELECT coalesce(max(id), 0) FROM print_jobs")) + 100_000
    assert_error(api.get(f"{JOBS}/{missing}"), 404, "not_found")
    response = api.get(f"{JOBS}/{bad_id}")
    assert response.status_code in (404, 422), response.text
    assert_error(response, response.status_code,
                 "not_found" if response.status_code == 404 else "validation_error")  # fmt: skip


@pytest.mark.rules("auth-required", "error-401", "refused-stores-nothing")
def test_a_create_without_a_valid_token_is_401_and_stores_nothing(client_factory, app_secret, db,
                                                                   unique):  # fmt: skip
    document = unique("unauthorized")
    for header in (None, "", f"Bearer {app_secret}x", f"Bearer x{app_secret}", "Bearer",
                   f"Basic {app_secret}", app_secret, f"Token {app_secret}"):  # fmt: skip
        headers = {} if header is None else {"Authorization": header}
        with client_factory(headers=headers) as client:
            for body in ({"document": document, "pages": 1}, {"pages": "x"}):
                assert_error(client.post(JOBS, json=body), 401, "unauthorized")
    assert stored_jobs(db, document) == []


@pytest.mark.rules("bearer-case")
def test_the_bearer_scheme_word_is_case_insensitive(client_factory, app_secret, db, unique):
    for scheme in ("bearer", "BEARER"):
        document = unique(scheme)
        with client_factory(headers={"Authorization": f"{scheme} {app_secret}"}) as client:
            response = client.post(JOBS, json={"document": document, "pages": 1})
        assert response.status_code == 201, response.text
        assert_stored_whole(db, document, 1)
