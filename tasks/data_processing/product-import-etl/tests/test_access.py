"""Bearer token, Content-Type, unknown ids."""

from __future__ import annotations

import pytest
from imports_api import (
    CSV,
    HEADER,
    assert_error,
    counts,
    imported,
    new_prefix,
    post_import,
    stored_count,
)


@pytest.mark.rules("auth", "refused-changes-nothing")
def test_every_v1_request_needs_the_bearer_token(api, app_secret, db):
    p = new_prefix()
    body = f"{HEADER}\n{p}-1,Lamp,1,1,\n"
    wrong = ["", "Bearer", f"Bearer {app_secret}x", f"Bearer {app_secret[:-1]}",
             f"Basic {app_secret}", app_secret, f"Token {app_secret}"]  # fmt: skip
    for value in wrong:
        headers = {"Content-Type": CSV, **({"Authorization": value} if value else {})}
        assert_error(api.post("/v1/imports", content=body, headers=headers), 401, "unauthorized")
        for path in ("/v1/imports/1", f"/v1/products/{p}-1"):
            extra = {"Authorization": value} if value else {}
            assert_error(api.get(path, headers=extra), 401, "unauthorized")
    assert stored_count(db, p) == 0
    lower = {"Authorization": f"bearer {app_secret}", "Content-Type": CSV}
    response = api.post("/v1/imports", content=body, headers=lower)
    assert response.status_code == 201, response.text
    assert api.get(f"/v1/products/{p}-1", headers=lower).status_code == 200
    assert api.get("/health").json() == {"status": "ok"}


@pytest.mark.rules("content-type", "error-415", "refused-changes-nothing")
def test_the_content_type_chooses_the_format_and_others_are_415(authed_api, db):
    p = new_prefix()
    body = f"{HEADER}\n{p}-1,Lamp,1,1,\n"
    for content_type in ("text/plain", "application/csv", "text/csv; charset=latin-1",
                         "application/octet-stream", "multipart/form-data; boundary=x"):
        assert_error(post_import(authed_api, body, content_type), 415, "unsupported_media_type")
    missing = authed_api.post("/v1/imports", content=body.encode(), headers={"Content-Type": ""})
    assert_error(missing, 415, "unsupported_media_type")
    assert stored_count(db, p) == 0
    for i, content_type in enumerate(("Text/CSV", "text/csv; charset=UTF-8",
                                      'text/csv;charset="utf-8"')):  # fmt: skip
        report = imported(authed_api, f"{HEADER}\n{p}-{i},Lamp,1,1,\n", content_type)
        assert report["format"] == "csv" and counts(report)[1] == 1


@pytest.mark.rules("get-import", "error-404")
def test_an_id_that_is_no_import_is_404(authed_api):
    report = imported(authed_api, f"{HEADER}\n{new_prefix()}-1,Lamp,1,1,\n")
    for bad in ("abc", "0", "-1", "1.5", str(report["id"] + 10**6), "9223372036854775808",
                "99999999999999999999999"):  # fmt: skip
        assert_error(authed_api.get(f"/v1/imports/{bad}"), 404, "not_found")
