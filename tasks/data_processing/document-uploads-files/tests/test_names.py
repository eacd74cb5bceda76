"""File names: never a path on disk, cut after the last slash, checked, and encoded in the
download's Content-Disposition exactly as stated."""

from __future__ import annotations

import json
import uuid

import pytest
from documents_api import (
    assert_error,
    assert_stored,
    create_text,
    document_count,
    png,
    stored_files,
    text,
    upload,
    uploaded,
    uploads_dir,
)


@pytest.mark.rules("name-cut", "stored-name", "stored-file")
def test_a_client_file_name_never_becomes_a_path_on_disk(authed_api, db, server):
    folder = uploads_dir(server)
    marker = f"evil-{uuid.uuid4().hex}.txt"
    for given in (f"../../{marker}", f"../{marker}", f"/tmp/{marker}", f"a/b/../../{marker}"):
        content = text()
        document = uploaded(authed_api, given, content, "text/plain")
        assert document["filename"] == marker
        path = assert_stored(db, server, document, content)
        assert path.parent == folder and path.name != marker
    for place in (folder, folder.parent, folder.parent.parent):
        assert not (place / marker).exists(), place / marker
    reports = uploaded(authed_api, "reports/2026/q1.txt", text(), "text/plain")
    assert reports["filename"] == "q1.txt"
    windows = uploaded(authed_api, "C:\\\\Users\\\\me\\\\notes.txt", text(), "text/plain")
    assert windows["filename"] == "notes.txt"


@pytest.mark.rules("name-rules", "name-cut", "refused-stores-nothing")
def test_names_that_are_empty_dots_too_long_or_hold_control_characters_are_422(
    authed_api, db, server
):
    before, files = document_count(db), stored_files(server)
    for given in ("", "dir/", ".", "..", "a/..", "tab\there.txt", "bell\x07.txt", "del\x7f.txt",
                  "x" * 256, "é" * 256):  # fmt: skip
        assert_error(upload(authed_api, given, text(), "text/plain"), 422, "validation_error")
    for given in ("line\r\nX-Injected: 1.txt", "nul\x00.txt", "\n", "a\ud800.txt", "../.."):
        body = json.dumps({"filename": given, "text": "hi"}).encode()  # \ud800 as an escape
        response = authed_api.post("/v1/documents", content=body,
                                   headers={"Content-Type": "application/json"})  # fmt: skip
        assert_error(response, 422, "validation_error")
    assert document_count(db) == before and stored_files(server) == files
    for given in ("x" * 255, "é" * 255, " spaced  name .TXT ", "..hidden", "a;b=c.txt", "a"):
        assert uploaded(authed_api, given, text(), "text/plain")["filename"] == given


def disposition(authed_api, doc_id: str) -> str:
    response = authed_api.get(f"/v1/documents/{doc_id}/content")
    assert response.status_code == 200, response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    return response.headers["content-disposition"]


@pytest.mark.rules("disposition", "attachment")
def test_the_download_names_the_file_as_rfc_6266_with_filename_star(authed_api):
    cases = {
        "report.pdf": "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf",
        'résumé "final".txt':
            "attachment; filename=\"r_sum_ _final_.txt\"; "
            "filename*=UTF-8''r%C3%A9sum%C3%A9%20%22final%22.txt",
        "a;b=c,d'e(f)*.txt":
            "attachment; filename=\"a;b=c,d'e(f)*.txt\"; "
            "filename*=UTF-8''a%3Bb%3Dc%2Cd%27e%28f%29%2A.txt",
        "back\\slash.txt":  # only through JSON: an upload's name is cut at the backslash
            "attachment; filename=\"slash.txt\"; filename*=UTF-8''slash.txt",
        "日本 ☕ 😀.txt":
            "attachment; filename=\"__ _ _.txt\"; "
            "filename*=UTF-8''%E6%97%A5%E6%9C%AC%20%E2%98%95%20%F0%9F%98%80.txt",
        "!#$&+-.^_`|~%{}@[]<>?=.txt":
            "attachment; filename=\"!#$&+-.^_`|~%{}@[]<>?=.txt\"; "
            "filename*=UTF-8''!#$&+-.^_`|~%25%7B%7D%40%5B%5D%3C%3E%3F%3D.txt",
    }  # fmt: skip
    for name, expected in cases.items():
        document = create_text(authed_api, name, "hello\n")
        assert disposition(authed_api, document["id"]) == expected, name
    uploaded_doc = uploaded(authed_api, 'say "hi" ü.png', png(), "image/png")
    assert uploaded_doc["filename"] == 'say "hi" ü.png'
    assert disposition(authed_api, uploaded_doc["id"]) == (
        "attachment; filename=\"say _hi_ _.png\"; filename*=UTF-8''say%20%22hi%22%20%C3%BC.png"
    )


@pytest.mark.rules("attachment", "download-type", "download-body", "type-detection")
def test_html_is_stored_as_text_and_never_served_as_html_or_inline(authed_api, db, server):
    page = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
    document = uploaded(authed_api, "page.html", page, "text/plain")
    assert document["content_type"] == "text/plain"
    assert_stored(db, server, document, page)
    response = authed_api.get(f"/v1/documents/{document['id']}/content")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["content-disposition"].startswith("attachment; ")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-length"] == str(len(page))
    assert response.content == page
    assert_error(upload(authed_api, "page.html", page, "text/html"), 415, "unsupported_media_type")
