"""The `s3` peer: an S3-compatible object store (moto in server mode) behind a front that checks
signatures, records requests and injects faults.

moto serves on a Unix socket in the peers' own folder, so that the submission reaches the store
only through the front on the sample's loopback. The front:
- refuses a request that is not signed with the sample's key pair (SigV4 headers; SigV4 or SigV2
  presigned URLs), and a presigned URL past its expiry, as S3 does (403 with an S3 error body);
- refuses moto's own control routes (`/moto-api`);
- applies the faults tests program (`POST /fault`): a method and a path prefix made slow,
  failing its first calls or dropping connections;
- records every request with its outcome (the body's first `body_cap` bytes).

One bucket, `BUCKET`, exists from the start. The admin API reads the store past the front (not
recorded, never faulted): `GET /objects?bucket=`, `GET /object?bucket=&key=`, `POST /object`
(put one) and `POST /bucket` (create one).
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import os
import socket
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from backbench.peers._http import Request, Response
from backbench.peers.limits import Limits
from backbench.peers.sigv4 import Denied, check_header_v4, check_presigned
from backbench.peers.store import Store, request_record
from backbench.peers.upstream import Program, parse_fault

ACCESS_KEY = "BACKBENCHS3ACCESSKEY"
# the sample's own: the store is reachable only inside the sample's network
SECRET_KEY = "backbench-s3-secret-key-5d1e9a"
REGION = "us-east-1"
BUCKET = "backbench-files"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "expect"}
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
STORE_TIMEOUT = 30.0
# moto checks no signature, but reads an anonymous request as the public's
ADMIN_AUTHORIZATION = (
    f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/{REGION}/s3/aws4_request, "
    "SignedHeaders=host, Signature=0"
)


SLOW_DOWN = Denied("ServiceUnavailable", "Please reduce your request rate.")


class _UnixConnection(http.client.HTTPConnection):
    """HTTP to moto over its Unix socket, keeping the Host the client signed."""

    def __init__(self, socket_path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.socket_path)
        self.sock = sock


@dataclass
class Fault:
    """A programmed fault on the requests of one method (`*`: any) under a path prefix."""

    method: str
    prefix: str
    program: Program

    def matches(self, request: Request) -> bool:
        return self.method in ("*", request.method) and request.path.startswith(self.prefix)


def _s3_error(status: int, denied: Denied) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{denied.code}</Code><Message>{denied.message}</Message></Error>"
    )
    return Response(status, body.encode(), [("Content-Type", "application/xml")])


def start_store(folder: Path) -> str:
    """Start moto's S3 on a Unix socket in `folder` (a thread of this process); the path this
    process reaches it by.

    A socket's path may hold 107 bytes, and a sample's folder can be longer (pytest's and the
    exec runtime's folders were): the path goes through an open descriptor of the folder,
    `/proc/self/fd/N/s3.sock`, which only this process can follow.
    """
    from moto.moto_server.threaded_moto_server import MotoRequestHandler
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    descriptor = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)  # held for the process's life
    path = f"/proc/self/fd/{descriptor}/s3.sock"
    app = DomainDispatcherApplication(create_backend_app)
    try:
        server = make_server(
            "unix://" + path, 0, app, threaded=True, request_handler=_quiet(MotoRequestHandler)
        )
    except SystemExit as ex:  # werkzeug exits when it cannot listen: say so, as a failure
        raise OSError(f"the s3 store could not listen on {folder / 's3.sock'}") from ex
    threading.Thread(target=server.serve_forever, daemon=True, name="moto-s3").start()
    return path


def _quiet(handler: Any) -> Any:
    """moto's request handler without its access log on stderr (the peers' log is bounded)."""

    class Quiet(handler):  # type: ignore[misc, valid-type]
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    return Quiet


class S3Peer:
    """The front of the store: signatures, faults and records."""

    kind = "s3"

    def __init__(self, limits: Limits, socket_path: str) -> None:
        self.limits = limits
        self.store = Store(limits.max_records)
        self.socket_path = socket_path
        self.faults: list[Fault] = []
        self.host = ""  # the Host the store answers as, once the port is known
        self.reset()

    def bind(self, host: str) -> None:
        self.host = host
        self._forward_sync("PUT", f"/{BUCKET}", [], b"", admin=True)

    def reset(self) -> None:
        self.store.clear()
        self.faults.clear()
        if self.host:
            self._forward_sync("POST", "/moto-api/reset", [], b"", admin=True)
            self._forward_sync("PUT", f"/{BUCKET}", [], b"", admin=True)

    # -- the front --------------------------------------------------------------------------

    async def handle(self, request: Request) -> Response | None:
        record = request_record(request, self.limits.body_cap)
        fault = next((f.program for f in self.faults if f.matches(request)), None)
        call = fault.next_call() if fault else "ok"
        denied = self.check(request)
        if request.path.startswith("/moto-api"):
            answer: Response | None = Response.of_json(404, {"error": "not found"})
        elif denied is not None:
            answer = _s3_error(403, denied)
        elif call == "drop":
            answer = None
        elif call == "fail" and fault is not None:
            answer = _s3_error(fault.fail_status, SLOW_DOWN)
        else:
            answer = await asyncio.to_thread(
                self._forward_sync, request.method, request.target, request.headers, request.body
            )
        if fault is not None:
            await asyncio.sleep(fault.delay_ms / 1000)
        self.store.add({**record, "outcome": answer.status if answer else "dropped"})
        return answer

    def check(self, request: Request) -> Denied | None:
        """Why the request's signature does not hold, or None."""
        if request.header("authorization") is not None:
            return check_header_v4(
                request.method, request.target, request.headers, ACCESS_KEY, SECRET_KEY
            )
        if "Signature=" in request.query:
            return check_presigned(
                request.method, request.target, request.headers, ACCESS_KEY, SECRET_KEY
            )
        return Denied("AccessDenied", "Access Denied")

    def _forward_sync(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes,
        admin: bool = False,
    ) -> Response:  # fmt: skip
        kept = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP | {"host"}]
        if admin:  # the harness's own request: moto refuses an anonymous read of an object
            kept.append(("Authorization", ADMIN_AUTHORIZATION))
        connection = _UnixConnection(self.socket_path, STORE_TIMEOUT)
        try:
            connection.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", self.host)
            for name, value in kept:
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            answer = connection.getresponse()
            data = answer.read()
            sent = [(k, v) for k, v in answer.getheaders() if k.lower() not in HOP_BY_HOP]
            if method == "HEAD":  # the object's size, not the empty body's
                length = answer.getheader("Content-Length")
                sent += [("Content-Length", length)] if length else []
            return Response(answer.status, data, sent)
        except OSError as ex:
            return _s3_error(503, Denied("ServiceUnavailable", f"the store failed: {ex}"))
        finally:
            connection.close()

    # -- the admin API ----------------------------------------------------------------------

    def admin(self, request: Request) -> Response | None:
        """POST /fault, /object and /bucket; GET /objects and /object (module docstring)."""
        route = (request.method, request.path)
        if route == ("POST", "/fault"):
            return self._fault(request.json())
        params = request.params()
        bucket = params.get("bucket") or BUCKET
        if route == ("GET", "/objects"):
            return self._objects(bucket)
        if route == ("GET", "/object"):
            return self._object(bucket, params.get("key", ""))
        if route == ("POST", "/object"):
            body = request.json()
            data = base64.b64decode(str(body.get("body_b64", "")))
            headers = [("Content-Type", str(body.get("content_type", "binary/octet-stream")))]
            path = _object_path(str(body.get("bucket") or BUCKET), str(body["key"]))
            answer = self._forward_sync("PUT", path, headers, data, admin=True)
            return Response.of_json(answer.status, {"status": answer.status})
        if route == ("POST", "/bucket"):
            answer = self._forward_sync(
                "PUT", f"/{quote(str(request.json()['name']))}", [], b"", True
            )
            return Response.of_json(answer.status, {"status": answer.status})
        return None

    def _fault(self, body: dict[str, Any]) -> Response:
        prefix = str(body.get("prefix", "/"))
        try:
            if not prefix.startswith("/"):
                raise ValueError("prefix must start with /")
            program = parse_fault(body, self.limits)
        except ValueError as ex:
            return Response.of_json(422, {"error": str(ex)})
        self.faults.insert(0, Fault(str(body.get("method", "*")).upper(), prefix, program))
        return Response.of_json(200, {"faults": len(self.faults)})

    def _objects(self, bucket: str) -> Response:
        answer = self._forward_sync(
            "GET", f"/{quote(bucket)}?list-type=2&max-keys=1000", [], b"", True
        )
        if answer.status != 200:
            return Response.of_json(answer.status, {"error": answer.body.decode(errors="replace")})
        items = [
            {
                "key": item.findtext(f"{S3_NS}Key"),
                "size": int(item.findtext(f"{S3_NS}Size") or 0),
                "etag": (item.findtext(f"{S3_NS}ETag") or "").strip('"'),
            }
            for item in ET.fromstring(answer.body).iter(f"{S3_NS}Contents")
        ]
        return Response.of_json(200, {"items": items})

    def _object(self, bucket: str, key: str) -> Response:
        answer = self._forward_sync("GET", _object_path(bucket, key), [], b"", admin=True)
        if answer.status != 200:
            return Response.of_json(answer.status, {"error": answer.body.decode(errors="replace")})
        return Response.of_json(
            200,
            {
                "body_b64": base64.b64encode(answer.body).decode(),
                "headers": [[k, v] for k, v in answer.headers],
            },
        )


def _object_path(bucket: str, key: str) -> str:
    return f"/{quote(bucket)}/{quote(key, safe='/~')}"
