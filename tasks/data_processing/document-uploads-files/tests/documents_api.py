"""What the document tests share: multipart bodies built byte by byte, sample contents of each
type, the submission's uploads folder (read through /proc, as root or the submission's user),
the stored row of a document, the error body check."""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIB = 1_048_576
STORED_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


def png() -> bytes:
    """PNG bytes no other test sends (the signature, then an IHDR chunk and a unique tail)."""
    return (
        PNG_SIGNATURE
        + b"\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
        + os.urandom(24)
    )


def pdf() -> bytes:
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj <<>> endobj\n" + os.urandom(16) + b"\n%%EOF\n"


def ascii_pdf() -> bytes:
    """A PDF whose bytes are all ASCII (valid UTF-8 too): its signature decides its type."""
    return f"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {uuid.uuid4()}\n%%EOF\n".encode()


def text() -> bytes:
    return f"Minutes of {uuid.uuid4()}\nAll agreed. Café ☕\n".encode()


def part(name: str, filename: str | None, content: bytes, content_type: str | None) -> bytes:
    """One part; `"` in the filename written as `\\"`, every other character as itself (UTF-8)."""
    disposition = f'form-data; name="{name}"'
    if filename is not None:
        disposition += '; filename="' + filename.replace('"', '\\"') + '"'
    head = f"Content-Disposition: {disposition}\r\n"
    if content_type is not None:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode("utf-8") + b"\r\n" + content


def multipart(*parts: bytes) -> tuple[bytes, str]:
    """(body, Content-Type) of a multipart/form-data body of the given parts."""
    boundary = "bb" + uuid.uuid4().hex
    body = b"".join(b"--" + boundary.encode() + b"\r\n" + p + b"\r\n" for p in parts)
    return body + b"--" + boundary.encode() + b"--\r\n", f"multipart/form-data; boundary={boundary}"


def upload(
    api: httpx.Client, filename: str | None, content: bytes, content_type: str | None,
    *extra: bytes, headers: dict[str, str] | None = None,
) -> httpx.Response:  # fmt: skip
    """POST one `file` part (plus any other parts) to /v1/documents."""
    body, media = multipart(part("file", filename, content, content_type), *extra)
    return api.post(
        "/v1/documents", content=body, headers={"Content-Type": media, **(headers or {})}
    )


def once(client_factory: Any, auth: dict[str, str] | None, method: str, url: str,
         **kwargs: Any) -> httpx.Response:  # fmt: skip
    """One request on a connection of its own: a server may answer a refusal before it has read
    the whole body, and what it does with the rest is no concern of these tests."""
    client = client_factory(headers=auth)
    try:
        return client.request(method, url, **kwargs)
    finally:
        client.close()


def upload_once(client_factory: Any, headers: dict[str, str], filename: str, content: bytes,
                content_type: str) -> httpx.Response:  # fmt: skip
    body, media = multipart(part("file", filename, content, content_type))
    return once(client_factory, headers, "POST", "/v1/documents", content=body,
                headers={"Content-Type": media})  # fmt: skip


def uploaded(api: httpx.Client, filename: str, content: bytes, content_type: str) -> dict[str, Any]:
    """The document of a successful upload (201)."""
    response = upload(api, filename, content, content_type)
    assert response.status_code == 201, response.text
    return response.json()


def create_text(api: httpx.Client, filename: str, body_text: str) -> dict[str, Any]:
    response = api.post("/v1/documents", json={"filename": filename, "text": body_text})
    assert response.status_code == 201, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    """The response has `status` and the body {"error": {"code": code, "message": <text>}}."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    error = response.json()["error"]
    assert error["code"] == code and isinstance(error["message"], str), response.text


def uploads_dir(server: Any) -> Path:
    """The submission's uploads folder: `uploads` in the working directory of one of the
    processes start.sh started (the harness starts start.sh in the workspace), as seen through
    /proc, which reaches the folder in the submission's own mount namespace."""
    found = []
    for process in sorted(server.processes(), key=lambda p: p["pid"]):
        folder = Path(f"/proc/{process['pid']}/cwd") / "uploads"
        try:
            if folder.is_dir():
                found.append(folder)
        except OSError:
            continue
    assert found, "no uploads folder in the working directory of the server's processes"
    return found[0]


def stored_files(server: Any) -> set[str]:
    return {p.name for p in uploads_dir(server).iterdir()}


def row(db: Any, doc_id: str) -> dict[str, Any] | None:
    """The documents row of an id, as a dict (None when there is none)."""
    cur = db.execute(
        "SELECT id::text, filename, content_type, size, sha256, stored_name, created_at"
        " FROM documents WHERE id = %s::uuid", (doc_id,),
    )  # fmt: skip
    found = cur.fetchone()
    if found is None:
        return None
    names = ("id", "filename", "content_type", "size", "sha256", "stored_name", "created_at")
    return dict(zip(names, found, strict=True))


def document_count(db: Any) -> int:
    return int(db.scalar("SELECT count(*) FROM documents"))


def assert_stored(db: Any, server: Any, document: dict[str, Any], content: bytes) -> Path:
    """The row matches the answer and the bytes, and the file under its stored name holds
    exactly the bytes; the file's path."""
    stored = row(db, document["id"])
    assert stored is not None, document
    assert stored["filename"] == document["filename"]
    assert stored["content_type"] == document["content_type"]
    assert stored["size"] == document["size"] == len(content)
    assert stored["sha256"] == document["sha256"] == hashlib.sha256(content).hexdigest()
    assert STORED_NAME.match(stored["stored_name"]), stored["stored_name"]
    path = uploads_dir(server) / stored["stored_name"]
    assert path.is_file(), f"no file {stored['stored_name']} in uploads"
    assert path.read_bytes() == content
    return path
