"""Uploads: the object in the store under users/<sub>/<id>, the metadata in PostgreSQL, and the
refusals (name, Content-Type, size, their order) that store nothing anywhere."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

import pytest
from files_api import (
    UUID_PATTERN,
    MiB,
    assert_error,
    people,  # noqa: F401 - a fixture
    rows_of,
    user_objects,
)


@pytest.mark.rules("upload-201", "object-key", "object-bytes", "get-file", "table")
def test_an_upload_stores_the_bytes_under_the_users_key_and_the_metadata(people, peers, db):
    user = people.make()
    body = bytes(range(256)) * 40 + b"\x00end"
    response = user.upload(body, name="Q1_report-2026.v2.pdf", content_type="application/pdf")
    assert response.status_code == 201, response.text
    made = response.json()
    assert re.fullmatch(UUID_PATTERN, made["id"]), made
    assert made["name"] == "Q1_report-2026.v2.pdf"
    assert made["content_type"] == "application/pdf"
    assert made["size"] == len(body)
    assert made["sha256"] == hashlib.sha256(body).hexdigest()
    assert made["object_key"] == f"users/{user.sub}/{made['id']}"
    assert abs(datetime.fromisoformat(made["created_at"]).timestamp()
               - float(db.scalar("SELECT extract(epoch FROM now())"))) < 60  # fmt: skip
    stored = peers.s3.get(made["object_key"])
    assert stored.body == body
    assert stored.header("Content-Type") == "application/pdf"
    assert user_objects(peers, user) == {made["object_key"]: len(body)}
    assert user.client.get(f"/v1/files/{made['id']}").json() == made
    row = db.execute(
        "SELECT id::text, owner, name, content_type, size, object_key FROM files WHERE id::text = %s",
        (made["id"],),
    ).fetchone()
    assert row == (made["id"], user.sub, made["name"], "application/pdf", len(body),
                   made["object_key"])  # fmt: skip


@pytest.mark.rules("content-type", "object-bytes", "json-as-is")
def test_the_four_types_are_accepted_with_parameters_and_kept_as_sent(people, peers):
    user = people.make()
    for content_type, body in (
        ("text/csv", b"a,b\r\n1,2\r\n"),
        ("text/plain; charset=utf-8", "Gr\u00fc\u00dfe\n".encode()),
        ("Application/JSON", b'{"total": 1.50,  "note": "kept as sent"}'),
        ("application/pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"),
        ("TEXT/CSV;charset=UTF-8", b"x\n"),
        ("application/json", b"not json at all {"),
    ):
        made = user.file(body, name="f.bin", content_type=content_type)
        assert made["content_type"] == content_type, made
        stored = peers.s3.get(made["object_key"])
        assert stored.body == body, content_type
        assert stored.header("Content-Type") == content_type


@pytest.mark.rules("content-type", "refused-nothing")
def test_other_content_types_are_415_and_store_nothing(people, peers, db):
    user = people.make()
    for content_type in ("image/png", "text/html", "application/octet-stream",
                         "application/x-csv", "text/csvx", "multipart/form-data; boundary=x",
                         None):  # fmt: skip
        headers = {"X-File-Name": "r.csv"}
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = user.client.post("/v1/files", content=b"a,b\n", headers=headers)
        assert response.status_code == 415, (content_type, response.status_code, response.text)
        assert_error(response, 415, "unsupported_media_type")
    assert rows_of(db, user) == 0
    assert user_objects(peers, user) == {}


@pytest.mark.rules("name-rules", "refused-nothing")
def test_invalid_file_names_are_422_and_store_nothing(people, peers, db):
    user = people.make()
    for name in ("../x", ".env", "a/b", "a b", "a\\b", "-x", "_x", "r\u00e9port.csv", "x" * 201,
                 "a:b", "a%2Fb", ""):  # fmt: skip
        response = user.client.post(
            "/v1/files", content=b"a\n",
            headers={"Content-Type": "text/csv", "X-File-Name": name.encode()},
        )  # fmt: skip
        assert response.status_code == 422, (name, response.status_code, response.text)
        assert_error(response, 422, "validation_error")
    assert_error(user.client.post("/v1/files", content=b"a\n",
                                  headers={"Content-Type": "text/csv"}), 422, "validation_error")  # fmt: skip
    assert rows_of(db, user) == 0
    assert user_objects(peers, user) == {}
    for name in ("a", "9", "x" * 200, "A.b-c_d.tar.gz", "Z..", "0-_."):
        assert user.file(b"ok\n", name=name)["name"] == name


@pytest.mark.rules("body-size", "empty-body", "refused-nothing")
def test_body_size_limits(people, peers, db):
    user = people.make()
    exactly = b"x" * MiB
    made = user.file(exactly, name="big.txt", content_type="text/plain")
    assert made["size"] == MiB
    assert peers.s3.get(made["object_key"]).body == exactly
    over = b"y" * (MiB + 1)
    assert_error(user.upload(over, name="over.txt", content_type="text/plain"),
                 413, "payload_too_large")  # fmt: skip

    def chunked():
        yield b"z" * MiB
        yield b"z"

    response = user.client.post(
        "/v1/files", content=chunked(), headers={"Content-Type": "text/plain", "X-File-Name": "c.txt"}
    )
    assert_error(response, 413, "payload_too_large")
    # far over the limit: the answer still arrives, with or without a Content-Length
    huge = b"h" * (8 * MiB)
    assert_error(user.upload(huge, name="huge.txt", content_type="text/plain"),
                 413, "payload_too_large")  # fmt: skip
    response = user.client.post(
        "/v1/files", content=iter([huge]),
        headers={"Content-Type": "text/plain", "X-File-Name": "huge.txt"},
    )  # fmt: skip
    assert_error(response, 413, "payload_too_large")
    assert_error(user.upload(b"", name="empty.txt", content_type="text/plain"),
                 422, "validation_error")  # fmt: skip
    assert rows_of(db, user) == 1
    assert user_objects(peers, user) == {made["object_key"]: MiB}


@pytest.mark.rules("fault-order", "auth-401")
def test_faults_are_decided_in_the_stated_order(people):
    user = people.make()
    over = b"q" * (MiB + 1)
    anonymous = people.client("Bearer nope")
    bad_all = {"Content-Type": "image/png", "X-File-Name": "../bad"}
    assert_error(anonymous.post("/v1/files", content=over, headers=bad_all), 401, "unauthorized")
    assert_error(user.client.post("/v1/files", content=over, headers=bad_all),
                 413, "payload_too_large")  # fmt: skip
    assert_error(user.client.post("/v1/files", content=b"", headers=bad_all),
                 415, "unsupported_media_type")  # fmt: skip
    assert_error(user.client.post("/v1/files", content=b"",
                                  headers={"Content-Type": "text/csv", "X-File-Name": "../bad"}),
                 422, "validation_error")  # fmt: skip


@pytest.mark.rules("list", "get-file")
def test_the_list_holds_the_users_own_files_newest_first_at_most_100(people):
    user = people.make()
    other = people.make()
    foreign = other.file(name="other.csv")
    made = [user.file(f"n,{i}\n".encode(), name=f"r{i}.csv") for i in range(101)]
    items = user.listed()
    assert len(items) == 100
    assert items == list(reversed(made))[:100]
    assert foreign["id"] not in {i["id"] for i in items}
    assert other.listed() == [foreign]
    assert people.make().listed() == []


@pytest.mark.rules("malformed-id", "get-file")
def test_malformed_and_unknown_ids_are_404(people):
    user = people.make()
    made = user.file()
    for raw in (made["id"].upper(), made["id"].replace("-", ""), "{" + made["id"] + "}",
                made["id"] + "0", "1", "abc", "00000000-0000-4000-8000-000000000000",
                "%20" + made["id"]):  # fmt: skip
        for suffix in ("", "/download"):
            assert_error(user.client.get(f"/v1/files/{raw}{suffix}"), 404, "not_found")
        assert_error(user.client.delete(f"/v1/files/{raw}"), 404, "not_found")
    assert user.client.get(f"/v1/files/{made['id']}").json() == made
