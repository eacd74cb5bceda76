"""Text documents from JSON, reading, renaming, deleting, ids, the token and the checks' order."""

from __future__ import annotations

import json
import uuid

import pytest
from documents_api import (
    MIB,
    assert_error,
    assert_stored,
    create_text,
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
    uploads_dir,
)


@pytest.mark.rules("auth", "health", "refused-stores-nothing")
def test_every_v1_request_needs_the_bearer_token(api, authed_api, app_secret, db, server):
    document = create_text(authed_api, "secret.txt", "classified\n")
    doc = f"/v1/documents/{document['id']}"
    before, files = document_count(db), stored_files(server)
    wrong = ["", "Bearer", f"Bearer {app_secret}x", f"Bearer {app_secret[:-1]}",
             f"Basic {app_secret}", app_secret, f"Token {app_secret}"]  # fmt: skip
    for value in wrong:
        headers = {"Authorization": value} if value else {}
        assert_error(upload(api, "a.txt", text(), "text/plain", headers=headers), 401,
                     "unauthorized")  # fmt: skip
        assert_error(api.get(doc, headers=headers), 401, "unauthorized")
        assert_error(api.get(f"{doc}/content", headers=headers), 401, "unauthorized")
        assert_error(api.patch(doc, json={"filename": "x.txt"}, headers=headers), 401,
                     "unauthorized")  # fmt: skip
        assert_error(api.delete(doc, headers=headers), 401, "unauthorized")
    assert document_count(db) == before and stored_files(server) == files
    assert row(db, document["id"])["filename"] == "secret.txt"
    lower = {"Authorization": f"bearer {app_secret}"}
    assert api.get(doc, headers=lower).status_code == 200
    assert api.get("/health").json() == {"status": "ok"}


@pytest.mark.rules("json-text", "stored-file", "document-shape")
def test_a_json_text_becomes_a_text_document_of_its_utf8_bytes(authed_api, db, server):
    body_text = f"Grüße, {uuid.uuid4()} ☕\r\nline two\n"
    response = authed_api.post("/v1/documents", json={
        "filename": "notes/greeting.txt", "text": body_text, "content_type": "text/html",
        "size": 1, "stored_name": "../../x", "id": str(uuid.uuid4()),
    })  # fmt: skip
    assert response.status_code == 201, response.text
    document = response.json()
    assert document["filename"] == "greeting.txt" and document["content_type"] == "text/plain"
    assert document["size"] == len(body_text.encode())
    assert_stored(db, server, document, body_text.encode("utf-8"))
    download = authed_api.get(f"/v1/documents/{document['id']}/content")
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert download.content == body_text.encode("utf-8")


@pytest.mark.rules("json-text", "json-size", "refused-stores-nothing")
def test_a_json_create_that_is_not_a_string_pair_or_not_a_usable_text_is_refused(
    authed_api, auth_headers, client_factory, db, server
):
    before, files = document_count(db), stored_files(server)
    for body in (b"{not json", b"[]", b'"text"', b'{"filename": "a.txt"}', b'{"text": "hi"}',
                 b'{"filename": 5, "text": "hi"}', b'{"filename": "a.txt", "text": ["hi"]}',
                 b'{"filename": "a.txt", "text": null}', b'{"filename": "a.txt", "text": ""}',
                 b'{"filename": "a.txt", "text": "a\\u0000b"}',
                 b'{"filename": "a.txt", "text": "a\\ud800b"}'):  # fmt: skip
        response = authed_api.post("/v1/documents", content=body,
                                   headers={"Content-Type": "application/json"})  # fmt: skip
        assert_error(response, 422, "validation_error")
    over = {"filename": "big.txt", "text": "é" * (MIB // 2) + "x"}
    assert_error(post_json(client_factory(headers=auth_headers), over), 413, "payload_too_large")
    assert document_count(db) == before and stored_files(server) == files
    at_limit = post_json(authed_api, {"filename": "limit.txt", "text": "é" * (MIB // 2)})
    assert at_limit.status_code == 201, at_limit.text
    assert at_limit.json()["size"] == MIB


def post_json(api, body: dict) -> object:
    """POST the body as UTF-8 JSON with its non-ASCII characters unescaped."""
    data = json.dumps(body, ensure_ascii=False).encode()
    return api.post("/v1/documents", content=data, headers={"Content-Type": "application/json"})


@pytest.mark.rules("read", "rename", "stored-file")
def test_a_rename_changes_only_the_name(authed_api, db, server):
    content = pdf()
    document = uploaded(authed_api, "draft.pdf", content, "application/pdf")
    stored_before = row(db, document["id"])
    response = authed_api.patch(f"/v1/documents/{document['id']}", json={
        "filename": "final/Contract v2 ✓.pdf", "content_type": "text/html", "size": 3,
        "sha256": "0" * 64, "id": str(uuid.uuid4()),
    })  # fmt: skip
    assert response.status_code == 200, response.text
    renamed = response.json()
    assert renamed == {**document, "filename": "Contract v2 ✓.pdf"}
    assert authed_api.get(f"/v1/documents/{document['id']}").json() == renamed
    stored_after = row(db, document["id"])
    assert stored_after == {**stored_before, "filename": "Contract v2 ✓.pdf"}
    assert_stored(db, server, renamed, content)
    download = authed_api.get(f"/v1/documents/{document['id']}/content")
    assert download.headers["content-type"] == "application/pdf"
    assert download.headers["content-disposition"] == (
        "attachment; filename=\"Contract v2 _.pdf\"; filename*=UTF-8''Contract%20v2%20%E2%9C%93.pdf"
    )
    plain = authed_api.patch(f"/v1/documents/{document['id']}", content=b'{"filename": "x.pdf"}',
                             headers={"Content-Type": "text/plain"})  # fmt: skip
    assert plain.status_code == 200 and plain.json()["filename"] == "x.pdf"


@pytest.mark.rules("rename", "name-rules")
def test_a_rename_refuses_bad_names_and_bodies_and_keeps_the_old_name(authed_api, db):
    document = create_text(authed_api, "keep.txt", "keep\n")
    doc = f"/v1/documents/{document['id']}"
    for body in ({"filename": "evil.txt\r\nSet-Cookie: session=1"}, {"filename": "a\nb.txt"},
                 {"filename": ""}, {"filename": ".."}, {"filename": "dir/"}, {"filename": 7},
                 {"name": "x.txt"}, ["x.txt"], {"filename": "x" * 256}):  # fmt: skip
        assert_error(authed_api.patch(doc, json=body), 422, "validation_error")
    broken = authed_api.patch(doc, content=b"{broken", headers={"Content-Type": "application/json"})
    assert_error(broken, 422, "validation_error")
    assert row(db, document["id"])["filename"] == "keep.txt"
    missing = f"/v1/documents/{uuid.uuid4()}"
    assert_error(authed_api.patch(missing, json={"filename": "x.txt"}), 404, "not_found")
    assert_error(authed_api.patch(missing, json={"filename": ""}), 404, "not_found")


@pytest.mark.rules("delete")
def test_a_delete_removes_the_row_and_the_file(authed_api, db, server):
    content = png()
    document = uploaded(authed_api, "gone.png", content, "image/png")
    path = assert_stored(db, server, document, content)
    doc = f"/v1/documents/{document['id']}"
    response = authed_api.delete(doc)
    assert response.status_code == 204 and response.content == b""
    assert row(db, document["id"]) is None
    assert not path.exists(), "the file is still on disk"
    for method, url in (("GET", doc), ("GET", f"{doc}/content"), ("DELETE", doc)):
        assert_error(authed_api.request(method, url), 404, "not_found")


@pytest.mark.rules("ids", "read")
def test_ids_are_hyphenated_uuids_in_any_case_and_anything_else_is_404(authed_api):
    document = create_text(authed_api, "id.txt", "id\n")
    doc_id = document["id"]
    upper = authed_api.get(f"/v1/documents/{doc_id.upper()}")
    assert upper.status_code == 200 and upper.json() == document
    assert authed_api.get(f"/v1/documents/{doc_id.upper()}/content").content == b"id\n"
    for other in ("abc", "1", "0", doc_id.replace("-", ""), f"{{{doc_id}}}", f"urn:uuid:{doc_id}",
                  doc_id + "0", doc_id[:-1], str(uuid.uuid4()), " " + doc_id):  # fmt: skip
        for url in (f"/v1/documents/{other}", f"/v1/documents/{other}/content"):
            assert_error(authed_api.get(url), 404, "not_found")
        assert_error(authed_api.delete(f"/v1/documents/{other}"), 404, "not_found")
    for url in (f"/v1/documents/{doc_id[:8]}%2F{doc_id[9:]}", "/v1/documents/a%2Fb/content"):
        assert_error(authed_api.get(url), 404, "not_found")
    assert authed_api.get(f"/v1/documents/{doc_id}").status_code == 200


@pytest.mark.rules("check-order", "refused-stores-nothing")
def test_a_create_answers_the_first_check_that_fails(
    authed_api, auth_headers, client_factory, db, server
):
    before, files = document_count(db), stored_files(server)
    big = b"a" * (2 * 1_048_576 + 10)
    plain = {"Content-Type": "text/plain"}
    # the token before anything; the request's type before the body's size
    response = once(client_factory, None, "POST", "/v1/documents", content=big, headers=plain)
    assert_error(response, 401, "unauthorized")
    response = once(client_factory, auth_headers, "POST", "/v1/documents", content=big,
                    headers=plain)  # fmt: skip
    assert_error(response, 415, "unsupported_media_type")
    # the body's size before its shape
    body, media = multipart(part("other", None, big, None))
    response = once(client_factory, auth_headers, "POST", "/v1/documents", content=body,
                    headers={"Content-Type": media})  # fmt: skip
    assert_error(response, 413, "payload_too_large")
    # the form before the content; the content's size before the name and the type
    body, media = multipart(
        part("file", "a.txt", b"", "image/gif"), part("file", "b.txt", b"x", None)
    )
    assert_error(authed_api.post("/v1/documents", content=body, headers={"Content-Type": media}),
                 422, "validation_error")  # fmt: skip
    over = upload_once(client_factory, auth_headers, "..", png() + b"x" * 1_048_576, "image/gif")
    assert_error(over, 413, "payload_too_large")
    assert_error(upload(authed_api, "..", b"", "image/gif"), 422, "validation_error")
    # the name before the type
    assert_error(upload(authed_api, "a\tb.png", b"not a png", "image/gif"), 422, "validation_error")
    response = authed_api.post("/v1/documents", json={"filename": "..", "text": ""})
    assert_error(response, 422, "validation_error")
    response = post_json(client_factory(headers=auth_headers),
                         {"filename": "..", "text": "x" * 1_048_577})  # fmt: skip
    assert_error(response, 413, "payload_too_large")
    assert document_count(db) == before and stored_files(server) == files
    assert uploads_dir(server).is_dir()


@pytest.mark.rules("earlier-files", "stored-file")
def test_documents_and_their_files_survive_a_restart(authed_api, db, server):
    content = png()
    document = uploaded(authed_api, "kept.png", content, "image/png")
    server.restart()
    assert_stored(db, server, document, content)
    download = authed_api.get(f"/v1/documents/{document['id']}/content")
    assert download.status_code == 200 and download.content == content
    later = create_text(authed_api, "after.txt", "after the restart\n")
    assert_stored(db, server, later, b"after the restart\n")
