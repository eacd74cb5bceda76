"""A small HTTP/1.1 server on asyncio streams, for the peers (standard library only).

It parses what clients of webhooks and APIs send (Content-Length or chunked bodies, keep-alive,
`Expect: 100-continue`), bounds every size and wait by `Limits`, and lets a handler drop the
connection instead of answering (an upstream failure tests program).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from backbench.peers.limits import Limits

HEAD_LIMIT = 64 * 1024  # bytes of request line and headers
READ_CHUNK = 64 * 1024


class BadRequest(Exception):
    """The request cannot be served: answer `status` and close the connection."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass
class Request:
    """One parsed request; `body` holds at most the cap given to the server."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    body_size: int = 0
    received: float = field(default_factory=time.time)

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> str:
        return urlsplit(self.target).query

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def params(self) -> dict[str, str]:
        """Query parameters (the last of repeated names wins)."""
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def json(self) -> Any:
        """The body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.body or b"null")

    def keep_alive(self) -> bool:
        return (self.header("connection") or "").lower() != "close"


@dataclass
class Response:
    """What a handler answers."""

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of_json(
        cls, status: int, payload: Any, headers: list[tuple[str, str]] | None = None
    ) -> Response:
        """A JSON response."""
        body = json.dumps(payload).encode()
        return cls(status, body, [("Content-Type", "application/json"), *(headers or [])])

    def encode(self, keep_alive: bool, head_only: bool = False) -> bytes:
        """The response on the wire (`head_only`: without its body, for HEAD)."""
        try:
            reason = HTTPStatus(self.status).phrase
        except ValueError:
            reason = "Status"
        lines = [f"HTTP/1.1 {self.status} {reason}"]
        lines += [f"{k}: {v}" for k, v in self.headers if k.lower() != "content-length"]
        # a HEAD answer may state the size its GET would have (an S3 object's)
        given = next((v for k, v in self.headers if k.lower() == "content-length"), None)
        lines.append(f"Content-Length: {given if head_only and given else len(self.body)}")
        lines.append(f"Connection: {'keep-alive' if keep_alive else 'close'}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        return head if head_only else head + self.body


# A handler answers, or returns None to drop the connection without an answer.
Handler = Callable[[Request], Awaitable[Response | None]]


def _parse_head(head: bytes, limits: Limits) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadRequest(400, "malformed request line")
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise BadRequest(400, "malformed header")
        headers.append((name.strip(), value.strip()))
    if len(headers) > limits.max_headers:
        raise BadRequest(431, "too many headers")
    return Request(method=parts[0].upper(), target=parts[1], headers=headers)


class _Body:
    """Accumulates a body: keeps the first `cap` bytes, counts all, refuses beyond `limit`."""

    def __init__(self, cap: int, limit: int) -> None:
        self.kept = bytearray()
        self.size = 0
        self.cap = cap
        self.limit = limit

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.limit:
            raise BadRequest(413, "body too large")
        room = self.cap - len(self.kept)
        if room > 0:
            self.kept += chunk[:room]


async def _read_sized(reader: asyncio.StreamReader, length: int, body: _Body) -> None:
    while length > 0:
        chunk = await reader.read(min(READ_CHUNK, length))
        if not chunk:
            raise asyncio.IncompleteReadError(b"", length)
        body.add(chunk)
        length -= len(chunk)


async def _read_chunked(reader: asyncio.StreamReader, body: _Body) -> None:
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError as ex:
            raise BadRequest(400, "malformed chunk size") from ex
        if size == 0:
            # trailers, up to the blank line
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return
        if body.size + size > body.limit:
            raise BadRequest(413, "body too large")
        await _read_sized(reader, size, body)
        await reader.readexactly(2)


async def read_request(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, limits: Limits, cap: int,
    first: bool,
) -> Request | None:  # fmt: skip
    """The next request on a connection, or None at a clean end of the connection."""
    wait = limits.head_timeout if first else limits.idle_timeout
    try:
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), wait)
    except asyncio.IncompleteReadError as ex:
        if ex.partial.strip():
            raise BadRequest(400, "incomplete request") from ex
        return None
    except asyncio.LimitOverrunError as ex:
        raise BadRequest(431, "request head too large") from ex
    request = _parse_head(head.lstrip(b"\r\n"), limits)
    body = _Body(cap, limits.max_body)
    chunked = "chunked" in (request.header("transfer-encoding") or "").lower()
    length_text = request.header("content-length")
    length = 0
    if length_text is not None and not chunked:
        if not length_text.isdigit():
            raise BadRequest(400, "malformed Content-Length")
        length = int(length_text)
        if length > limits.max_body:
            raise BadRequest(413, "body too large")
    if (request.header("expect") or "").lower() == "100-continue" and (chunked or length):
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
    reading = _read_chunked(reader, body) if chunked else _read_sized(reader, length, body)
    await asyncio.wait_for(reading, limits.body_timeout)
    request.body, request.body_size = bytes(body.kept), body.size
    return request


class HttpServer:
    """Serves `handler` on one loopback port, with bounded connections, sizes and waits."""

    def __init__(self, handler: Handler, limits: Limits, body_cap: int) -> None:
        self.handler = handler
        self.limits = limits
        self.body_cap = body_cap
        self.connections = 0

    async def start(self, host: str, port: int) -> asyncio.Server:
        return await asyncio.start_server(self._serve, host, port, limit=HEAD_LIMIT)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.connections >= self.limits.max_connections:
            writer.transport.abort()
            return
        self.connections += 1
        try:
            await self._requests(reader, writer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            writer.transport.abort()
        finally:
            self.connections -= 1
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        first = True
        while True:
            try:
                request = await read_request(reader, writer, self.limits, self.body_cap, first)
            except BadRequest as ex:
                payload = {"error": str(ex)}
                writer.write(Response.of_json(ex.status, payload).encode(keep_alive=False))
                await asyncio.wait_for(writer.drain(), self.limits.body_timeout)
                return
            if request is None:
                return
            first = False
            response = await self.handler(request)
            if response is None:
                writer.transport.abort()
                return
            keep = request.keep_alive()
            writer.write(response.encode(keep, head_only=request.method == "HEAD"))
            await asyncio.wait_for(writer.drain(), self.limits.body_timeout)
            if not keep:
                return
