"""Uploads: the stored file and row, the type allowlist judged by content, size limits, the form."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from documents_api import (
    MIB,
    ascii_pdf,
    assert_error,
    assert_stored,
    document_count,
    multipart,
    once,
    part,
    pdf,
    png,
    row,
    stored_files,
    text,
    upload,
    upload_once,
    uploaded,
)


@pytest.mark.rules("upload", "stored-file", "stored-name", "documents-table", "document-shape")
def test_an_upload_stores_the_exact_bytes_under_a_generated_name(authed_api, db, server, unique):
    content = png()
    name = unique("scan").replace("-", "_") + ".png"
    document = uploaded(authed_api, name, content, "image/png")
    assert document["filename"] == name and document["content_type"] == "image/png"
    assert document["size"] == len(content)
    created = dt.datetime.fromisoformat(document["created_at"].replace("Z", "+00:00"))
    assert abs((dt.datetime.now(dt.UTC) - created).total_seconds()) < 120
    path = assert_stored(db, server, document, content)
    assert path.name != name and name.removesuffix(".png") not in path.name
    assert "stored_name" not in document
    assert authed_api.get(f"/v1/documents/{document['id']}").json() == document
    columns = db.columns("documents")
    for column in ("id", "filename", "content_type", "size", "sha256", "stored_name", "created_at"):
        assert column in columns, columns


@pytest.mark.rules("stored-name")
def test_the_same_content_twice_gets_two_documents_and_two_files(authed_api, db, server):
    content = text()
    first = uploaded(authed_api, "same.txt", content, "text/plain")
    second = uploaded(authed_api, "same.txt", content, "text/plain")
    assert first["id"] != second["id"]
    one, two = assert_stored(db, server, first, content), assert_stored(db, server, second, content)
    assert one.name != two.name


@pytest.mark.rules("type-allowlist", "type-detection", "download-type")
def test_png_pdf_and_text_are_stored_when_the_declared_type_matches_the_content(
    authed_api, db, server
):
    cases = [
        (png(), "image/png", "image/png", "image/png"),
        (pdf(), "Application/PDF", "application/pdf", "application/pdf"),
        (ascii_pdf(), "application/pdf", "application/pdf", "application/pdf"),
        (text(), "text/plain; charset=utf-8", "text/plain", "text/plain; charset=utf-8"),
        ("\ufeffBOM ünïcode\n".encode(), "TEXT/PLAIN", "text/plain", "text/plain; charset=utf-8"),
    ]  # fmt: skip
    for content, declared, kind, served in cases:
        document = uploaded(authed_api, "file.bin", content, declared)
        assert document["content_type"] == kind
        assert_stored(db, server, document, content)
        download = authed_api.get(f"/v1/documents/{document['id']}/content")
        assert download.status_code == 200
        assert download.headers["content-type"] == served
        assert download.content == content


@pytest.mark.rules("type-allowlist", "type-detection", "type-mismatch", "refused-stores-nothing")
def test_a_declared_type_that_is_refused_or_differs_from_the_content_is_415(authed_api, db, server):
    html = b"<!doctype html><script>alert(document.cookie)</script>"
    cases = [
        (html, "text/html"),                    # not an accepted type
        (png(), "text/plain"),                  # a PNG declared as text
        (pdf(), "text/plain"),
        (ascii_pdf(), "text/plain"),            # UTF-8 by its bytes, but a PDF first
        (pdf(), "image/png"),
        (text(), "application/pdf"),
        (html, "image/png"),
        (b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff", "image/gif"),
        (b"\xff\xd8\xff\xe0 not utf-8", "text/plain"),   # no accepted type
        (b"text with a \x00 NUL", "text/plain"),
        (png(), None),                          # no declared type
        (png(), "application/octet-stream"),
    ]  # fmt: skip
    before, files = document_count(db), stored_files(server)
    for content, declared in cases:
        assert_error(upload(authed_api, "x.bin", content, declared), 415, "unsupported_media_type")
    assert document_count(db) == before and stored_files(server) == files


@pytest.mark.rules("file-size", "empty-file", "refused-stores-nothing")
def test_a_file_of_exactly_1_mib_is_stored_and_one_byte_more_is_413(
    authed_api, auth_headers, client_factory, db, server
):
    at_limit = b"a" * (MIB - 5) + b"end.\n"
    document = uploaded(authed_api, "big.txt", at_limit, "text/plain")
    assert document["size"] == MIB
    assert_stored(db, server, document, at_limit)
    before, files = document_count(db), stored_files(server)
    over = upload_once(client_factory, auth_headers, "big.txt", at_limit + b"!", "text/plain")
    assert_error(over, 413, "payload_too_large")
    over = upload_once(
        client_factory, auth_headers, "big.png", png() + os.urandom(MIB), "image/png"
    )
    assert_error(over, 413, "payload_too_large")
    assert_error(upload(authed_api, "empty.txt", b"", "text/plain"), 422, "validation_error")
    assert document_count(db) == before and stored_files(server) == files


@pytest.mark.rules("body-size", "refused-stores-nothing")
def test_a_body_over_2_mib_is_413_with_or_without_content_length(
    authed_api, auth_headers, client_factory, db, server
):
    before, files = document_count(db), stored_files(server)
    padding = part("notes", None, b"n" * (2 * MIB), None)
    body, media = multipart(part("file", "small.txt", text(), "text/plain"), padding)
    headers = {"Content-Type": media}
    response = once(client_factory, auth_headers, "POST", "/v1/documents", content=body,
                    headers=headers)  # fmt: skip
    assert_error(response, 413, "payload_too_large")

    def chunks():
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    chunked = once(client_factory, auth_headers, "POST", "/v1/documents", content=chunks(),
                   headers=headers, extensions={"deadline": 20})  # fmt: skip
    assert_error(chunked, 413, "payload_too_large")
    assert document_count(db) == before and stored_files(server) == files
    # a body of exactly 2 MiB is read (its file is stored), with or without Content-Length
    file_part = part("file", "exact.txt", b"two mebibytes in all\n", "text/plain")
    bare, _ = multipart(file_part, part("notes", None, b"", None))
    padding = part("notes", None, b"n" * (2 * MIB - len(bare)), None)
    exact, media = multipart(file_part, padding)  # boundaries are all of one length
    assert len(exact) == 2 * MIB
    headers = {"Content-Type": media}
    response = authed_api.post("/v1/documents", content=exact, headers=headers)
    assert response.status_code == 201, response.text
    response = authed_api.post("/v1/documents", content=iter([exact[:MIB], exact[MIB:]]),
                               headers=headers)  # fmt: skip
    assert response.status_code == 201, response.text
    # the same text under the limit, sent chunked, is stored
    small, media = multipart(part("file", "small.txt", b"chunked text\n", "text/plain"))
    response = authed_api.post("/v1/documents", content=iter([small[:40], small[40:]]),
                               headers={"Content-Type": media})  # fmt: skip
    assert response.status_code == 201, response.text


@pytest.mark.rules("form-shape", "refused-stores-nothing")
def test_the_body_must_hold_exactly_one_file_part_with_a_filename(authed_api, db, server):
    content = text()
    before, files = document_count(db), stored_files(server)
    refused = [
        multipart(part("document", "a.txt", content, "text/plain")),               # no file part
        multipart(part("file", None, content, "text/plain")),                     # no filename
        multipart(part("file", "a.txt", content, "text/plain"),
                  part("file", "b.txt", content, "text/plain")),                  # two files
        multipart(part("title", None, b"just a field", None)),
        (b"--nope\r\nthis is not multipart at all", "multipart/form-data; boundary=other"),
        (b"--x--\r\n", "multipart/form-data; boundary=x"),                        # no parts
        (multipart(part("file", "a.txt", content, "text/plain"))[0], "multipart/form-data"),
    ]  # fmt: skip
    for body, media in refused:
        response = authed_api.post("/v1/documents", content=body, headers={"Content-Type": media})
        assert_error(response, 422, "validation_error")
    assert document_count(db) == before and stored_files(server) == files
    # parts with other names are ignored, however large (within the body's 2 MiB)
    response = upload(authed_api, "kept.txt", content, "text/plain",
                      part("title", None, b"t" * (MIB + MIB // 2), None),
                      part("attachment", "other.txt", b"ignored too", "text/plain"))  # fmt: skip
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == "kept.txt"
    assert row(db, response.json()["id"])["size"] == len(content)


@pytest.mark.rules("request-type", "refused-stores-nothing")
def test_a_create_of_another_or_no_content_type_is_415(authed_api, db, server):
    before, files = document_count(db), stored_files(server)
    body, _ = multipart(part("file", "a.txt", text(), "text/plain"))
    for media in ("text/plain", "application/octet-stream", "image/png",
                  "application/x-www-form-urlencoded", ""):  # fmt: skip
        response = authed_api.post("/v1/documents", content=body, headers={"Content-Type": media})
        assert_error(response, 415, "unsupported_media_type")
    assert document_count(db) == before and stored_files(server) == files
    # the media type's letter case does not matter
    body, media = multipart(part("file", "a.txt", b"case\n", "text/plain"))
    mixed_case = media.replace("multipart/form-data", "Multipart/Form-Data")
    response = authed_api.post("/v1/documents", content=body, headers={"Content-Type": mixed_case})
    assert response.status_code == 201, response.text
