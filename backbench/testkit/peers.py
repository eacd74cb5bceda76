"""The `peers` fixture: the hidden tests' view of the loopback peers a scenario declares.

Register with `-p backbench.testkit.peers` (or through the core plugin). The harness gives the
tests each peer's admin address and the admin token in the environment; the submission gets
only the peers' service addresses (`WEBHOOK_SINK_URL`, `SMTP_HOST`/`SMTP_PORT`,
`UPSTREAM_URL`).

    def test_order_webhook(api, peers):
        peers.sink.reset()
        api.post("/v1/orders", json={...})
        hook = peers.sink.wait_for(lambda r: r.path == "/hooks/orders", timeout=5)
        assert hook.json()["event"] == "order.created"

A peer the scenario does not declare skips the test that asks for it, saying so. Every admin
request has a total deadline (`ADMIN_DEADLINE`).
"""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from json import loads
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx
import pytest

from backbench.peers.kinds import DECLARED_ENV, PEER_KINDS, TOKEN_ENV

ADMIN_DEADLINE = 10.0  # seconds for one admin request, end to end
ADMIN_RESPONSE_LIMIT = 128 * 1024 * 1024  # the peers bound their records; this bounds a reply
POLL_SECONDS = 0.1


class PeerAdminError(RuntimeError):
    """An admin request failed: the harness's peers misbehaved, not the submission."""


class AdminClient:
    """HTTP client of one peer's admin API: bearer token, total deadline per request."""

    def __init__(
        self, base_url: str, token: str, deadline: float = ADMIN_DEADLINE,
        client: httpx.Client | None = None,
    ) -> None:  # fmt: skip
        self.base_url = base_url.rstrip("/")
        self.deadline = deadline
        self._auth = {"Authorization": f"Bearer {token}"}
        # one client may serve every peer: making one loads the CA bundle, a noticeable cost
        self._client = client or httpx.Client(trust_env=False)

    def call(self, method: str, path: str, json: Any = None, since: int | None = None) -> Any:
        """The JSON answer of one admin request; PeerAdminError on failure or deadline."""
        end = time.monotonic() + self.deadline
        # None, not {}: httpx drops a query the path holds when given empty params
        params = None if since is None else {"since": since}
        try:
            with self._client.stream(
                method, self.base_url + path, json=json, params=params, headers=self._auth,
                timeout=httpx.Timeout(self.deadline),
            ) as response:  # fmt: skip
                body = bytearray()
                # each read is bounded by the timeout; the deadline bounds them all together
                for chunk in response.iter_raw():
                    body += chunk
                    if time.monotonic() > end or len(body) > ADMIN_RESPONSE_LIMIT:
                        raise PeerAdminError(f"{method} {path}: over deadline or size limit")
        except httpx.HTTPError as ex:
            raise PeerAdminError(f"{method} {self.base_url}{path}: {ex!r}") from ex
        if response.status_code >= 300:
            raise PeerAdminError(f"{method} {path}: {response.status_code} {bytes(body)[:300]!r}")
        return loads(bytes(body))

    def close(self) -> None:
        self._client.close()


@dataclass(frozen=True)
class HttpRecord:
    """A request the sink received, or a call the upstream served (`outcome`: status or
    "dropped"). `body` holds the first bytes only when `truncated`."""

    seq: int
    time: float
    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    body_size: int
    truncated: bool
    outcome: int | str | None = None

    @classmethod
    def of(cls, data: dict[str, Any]) -> HttpRecord:
        return cls(
            seq=data["seq"], time=data["time"], method=data["method"], path=data["path"],
            query=data["query"], headers=tuple((k, v) for k, v in data["headers"]),
            body=base64.b64decode(data["body_b64"]), body_size=data["body_size"],
            truncated=data["truncated"], outcome=data.get("outcome"),
        )  # fmt: skip

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return loads(self.body)


@dataclass(frozen=True)
class Mail:
    """A message the SMTP peer accepted: envelope, headers, plain and HTML text (capped)."""

    seq: int
    time: float
    mail_from: str
    rcpt_tos: tuple[str, ...]
    auth_login: str | None
    headers: tuple[tuple[str, str], ...]
    subject: str
    text: str
    html: str
    size: int
    raw: bytes

    @classmethod
    def of(cls, data: dict[str, Any]) -> Mail:
        return cls(
            seq=data["seq"], time=data["time"], mail_from=data["mail_from"],
            rcpt_tos=tuple(data["rcpt_tos"]), auth_login=data["auth_login"],
            headers=tuple((k, v) for k, v in data["headers"]), subject=data["subject"],
            text=data["text"], html=data["html"], size=data["size"],
            raw=base64.b64decode(data["raw_b64"]),
        )  # fmt: skip

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


R = TypeVar("R", bound=HttpRecord | Mail)


class PeerClient(Generic[R]):
    """What every peer offers the tests: its records, waiting for one, and a reset."""

    noun = "record"

    def __init__(self, admin: AdminClient, parse: Callable[[dict[str, Any]], R]) -> None:
        self.admin = admin
        self._parse = parse

    def records(self, since: int = 0) -> list[R]:
        """Every record kept (the newest `max_records`), oldest first; `since`: after that seq."""
        return [
            self._parse(item) for item in self.admin.call("GET", "/records", since=since)["items"]
        ]

    def reset(self) -> None:
        """Forget the records (and any programmed behaviour)."""
        self.admin.call("POST", "/reset")

    def _fault(self, **fields: Any) -> None:
        """Program a fault (the oidc, s3 and payments peers' POST /fault)."""
        self.admin.call("POST", "/fault", json=fields)

    def wait_for(self, predicate: Callable[[R], bool] = lambda _: True, timeout: float = 10.0) -> R:
        """The first record that satisfies `predicate`, polling up to `timeout` seconds.

        Fails the test (AssertionError) naming what was received when none does in time.
        """
        end = time.monotonic() + timeout
        while True:
            seen = self.records()
            for record in seen:
                if predicate(record):
                    return record
            if time.monotonic() >= end:
                raise AssertionError(
                    f"no matching {self.noun} within {timeout:.1f} s; received {len(seen)}: "
                    + "; ".join(_summary(r) for r in seen[-5:])
                )
            time.sleep(POLL_SECONDS)


def _summary(record: HttpRecord | Mail) -> str:
    if isinstance(record, Mail):
        return f"to {', '.join(record.rcpt_tos)} subject {record.subject!r}"
    return f"{record.method} {record.path} {record.text[:80]!r}"


class SinkClient(PeerClient[HttpRecord]):
    """The HTTP sink: `url` is what the submission gets as WEBHOOK_SINK_URL."""

    noun = "request"

    def __init__(self, admin: AdminClient, url: str) -> None:
        super().__init__(admin, HttpRecord.of)
        self.url = url

    def requests(self) -> list[HttpRecord]:
        """Every request received (the newest `max_records`), oldest first."""
        return self.records()

    def respond_with(self, status: int, json: Any = None, times: int | None = None) -> None:
        """Answer every request from now on with `status` (and a JSON body), or only the next
        `times` requests (a receiver that fails at first); reset restores 204."""
        payload = {"status": status, "json": json, "times": times}
        self.admin.call("POST", "/configure", json=payload)


class SmtpClient(PeerClient[Mail]):
    """The SMTP inbox at SMTP_HOST:SMTP_PORT."""

    noun = "message"

    def __init__(self, admin: AdminClient, host: str, port: int) -> None:
        super().__init__(admin, Mail.of)
        self.host, self.port = host, port

    def messages(self) -> list[Mail]:
        """Every message accepted (the newest `max_records`), oldest first."""
        return self.records()


class UpstreamClient(PeerClient[HttpRecord]):
    """The programmable upstream API at UPSTREAM_URL."""

    noun = "call"

    def __init__(self, admin: AdminClient, url: str) -> None:
        super().__init__(admin, HttpRecord.of)
        self.url = url

    def program(
        self, method: str, path: str, status: int = 200, json: Any = None,
        delay_ms: int = 0, fail_times: int = 0, drop: bool = False,
        headers: dict[str, str] | None = None, fail_status: int = 503,
    ) -> None:  # fmt: skip
        """Program a route (method `*` = any): after `delay_ms`, the first `fail_times` calls
        fail (`fail_status`, or a dropped connection when `drop`), then `status` with `json`.
        `drop` without `fail_times` drops every call. Unprogrammed routes answer 404."""
        self.admin.call(
            "POST", "/program",
            json={"method": method, "path": path, "status": status, "json": json,
                  "headers": headers or {}, "delay_ms": delay_ms, "fail_times": fail_times,
                  "fail_status": fail_status, "drop": drop},
        )  # fmt: skip

    def calls(self) -> list[HttpRecord]:
        """Every call served (the newest `max_records`), oldest first, with its outcome."""
        return self.records()


class OidcClient(PeerClient[HttpRecord]):
    """The OpenID provider at OIDC_ISSUER (client OIDC_CLIENT_ID / OIDC_CLIENT_SECRET)."""

    noun = "request"

    def __init__(self, admin: AdminClient, environ: Mapping[str, str], http: httpx.Client) -> None:
        super().__init__(admin, HttpRecord.of)
        self.issuer = environ.get("OIDC_ISSUER", "")
        self.client_id = environ.get("OIDC_CLIENT_ID", "")
        self.client_secret = environ.get("OIDC_CLIENT_SECRET", "")
        self._http = http

    def login_as(self, sub: str, **claims: Any) -> None:
        """The user the next /authorize logs in (claims such as email and name beside sub)."""
        self.admin.call("POST", "/login", json={"user": {"sub": sub, **claims}})

    def tamper(self, **wrong: Any) -> None:
        """What the next codes' ID tokens get wrong: iss, aud, nonce, expires_in (seconds, may be
        negative), key ("foreign": signed by a key not in the JWKS; "none": unsigned), or the
        state /authorize redirects with. Reset restores honest tokens."""
        self.admin.call("POST", "/tamper", json=wrong)

    def fault(
        self, endpoint: str, delay_ms: int = 0, fail_times: int = 0, drop: bool = False,
        fail_status: int = 503,
    ) -> None:  # fmt: skip
        """Make an endpoint (authorize, token, jwks, userinfo, discovery) slow, failing the first
        `fail_times` calls (or dropping them with `drop`), or dropping every call (`drop` alone)."""
        self._fault(endpoint=endpoint, delay_ms=delay_ms, fail_times=fail_times, drop=drop,
                    fail_status=fail_status)  # fmt: skip

    def mint(self, claims: dict[str, Any], key: str = "own") -> str:
        """An ID token with exactly `claims`, signed by the provider's key ("own"), by a key not
        in its JWKS ("foreign"), or unsigned ("none")."""
        return str(
            self.admin.call("POST", "/mint", json={"claims": claims, "key": key})["id_token"]
        )

    def authorize(self, url: str) -> str:
        """Play the browser at the provider: GET the authorization URL the submission redirected
        to and return where the provider sends the browser back (its Location)."""
        answer = self._http.get(url, follow_redirects=False, timeout=10)
        location = answer.headers.get("location")
        if answer.status_code != 302 or location is None:
            raise PeerAdminError(f"the provider answered {answer.status_code}: {answer.text[:200]}")
        return location

    def requests(self) -> list[HttpRecord]:
        """Every request the provider served (the newest `max_records`), oldest first."""
        return self.records()


@dataclass(frozen=True)
class StoredObject:
    """An object as the store holds it: its bytes and the headers a GET of it answers."""

    body: bytes
    headers: tuple[tuple[str, str], ...]

    def header(self, name: str) -> str | None:
        """The first header of that name (case-insensitive), or None."""
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


class S3Client(PeerClient[HttpRecord]):
    """The object store at AWS_ENDPOINT_URL_S3; `bucket` is S3_BUCKET, there from the start.
    Reads and writes through the admin API pass the store's front: never recorded or faulted."""

    noun = "request"

    def __init__(self, admin: AdminClient, environ: Mapping[str, str]) -> None:
        super().__init__(admin, HttpRecord.of)
        self.endpoint = environ.get("AWS_ENDPOINT_URL_S3", "")
        self.bucket = environ.get("S3_BUCKET", "")

    def objects(self, bucket: str | None = None) -> dict[str, int]:
        """Every key in the bucket and its size."""
        found = self.admin.call("GET", f"/objects?bucket={quote(bucket or self.bucket)}")
        return {item["key"]: item["size"] for item in found["items"]}

    def get(self, key: str, bucket: str | None = None) -> StoredObject:
        """One object's bytes and headers (PeerAdminError with 404 when there is none)."""
        path = f"/object?bucket={quote(bucket or self.bucket)}&key={quote(key, safe='')}"
        found = self.admin.call("GET", path)
        return StoredObject(
            base64.b64decode(found["body_b64"]), tuple((k, v) for k, v in found["headers"])
        )

    def put(
        self, key: str, body: bytes, content_type: str = "binary/octet-stream",
        bucket: str | None = None,
    ) -> None:  # fmt: skip
        """Store an object as if another system had (up to the admin API's 1 MiB)."""
        self.admin.call(
            "POST", "/object",
            json={"bucket": bucket or self.bucket, "key": key, "content_type": content_type,
                  "body_b64": base64.b64encode(body).decode()},
        )  # fmt: skip

    def create_bucket(self, name: str) -> None:
        self.admin.call("POST", "/bucket", json={"name": name})

    def fault(
        self, method: str = "*", prefix: str = "/", delay_ms: int = 0, fail_times: int = 0,
        drop: bool = False, fail_status: int = 503,
    ) -> None:  # fmt: skip
        """Requests of `method` (`*`: any) under the path `prefix` (`/bucket/key...`) made slow,
        failing their first `fail_times` (or dropping them with `drop`), or all dropped (`drop`
        alone). The newest fault that matches a request applies; reset forgets them all."""
        self._fault(method=method, prefix=prefix, delay_ms=delay_ms, fail_times=fail_times,
                    drop=drop, fail_status=fail_status)  # fmt: skip

    def requests(self) -> list[HttpRecord]:
        """Every request the store's front served (the newest `max_records`), oldest first."""
        return self.records()


class PaymentsClient(PeerClient[HttpRecord]):
    """The payment provider at PAYMENTS_URL (API key PAYMENTS_API_KEY)."""

    noun = "call"

    def __init__(self, admin: AdminClient, environ: Mapping[str, str]) -> None:
        super().__init__(admin, HttpRecord.of)
        self.url = environ.get("PAYMENTS_URL", "")
        self.api_key = environ.get("PAYMENTS_API_KEY", "")

    def charges(self) -> list[dict[str, Any]]:
        """Every charge made, oldest first (id, amount, currency, reference, idempotency_key,
        created, status)."""
        return list(self.admin.call("GET", "/charges")["items"])

    def fault(
        self, route: str = "*", delay_ms: int = 0, fail_times: int = 0, drop: bool = False,
        fail_status: int = 503, commit: bool = False,
    ) -> None:  # fmt: skip
        """Calls of a route (create, get, list, `*`) made slow, failing their first `fail_times`
        (or dropping them with `drop`), or all dropped (`drop` alone). With `commit`, a failing
        create still makes its charge: the client times out or errs, but the money moved."""
        self._fault(route=route, delay_ms=delay_ms, fail_times=fail_times, drop=drop,
                    fail_status=fail_status, commit=commit)  # fmt: skip

    def calls(self) -> list[HttpRecord]:
        """Every call served (the newest `max_records`), oldest first, with its outcome."""
        return self.records()


class Peers:
    """The declared peers; asking for one the scenario does not declare skips the test."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = dict(environ)
        self.declared = frozenset(k for k in environ.get(DECLARED_ENV, "").split(",") if k)
        self._admins: dict[str, AdminClient] = {}
        self._http = httpx.Client(trust_env=False)

    def _admin(self, kind: str) -> AdminClient:
        if kind not in self.declared:
            pytest.skip(f"the scenario declares no {kind} peer (peers: {sorted(self.declared)})")
        if kind not in self._admins:
            address = self.environ.get(PEER_KINDS[kind].admin_env_name())
            token = self.environ.get(TOKEN_ENV)
            if not address or not token:
                raise PeerAdminError(f"{kind} is declared but its admin address or token is unset")
            self._admins[kind] = AdminClient(address, token, client=self._http)
        return self._admins[kind]

    @property
    def sink(self) -> SinkClient:
        return SinkClient(self._admin("http_sink"), self.environ.get("WEBHOOK_SINK_URL", ""))

    @property
    def smtp(self) -> SmtpClient:
        admin = self._admin("smtp")
        return SmtpClient(admin, self.environ["SMTP_HOST"], int(self.environ["SMTP_PORT"]))

    @property
    def upstream(self) -> UpstreamClient:
        return UpstreamClient(self._admin("upstream"), self.environ.get("UPSTREAM_URL", ""))

    @property
    def payments(self) -> PaymentsClient:
        return PaymentsClient(self._admin("payments"), self.environ)

    @property
    def s3(self) -> S3Client:
        return S3Client(self._admin("s3"), self.environ)

    @property
    def oidc(self) -> OidcClient:
        return OidcClient(self._admin("oidc"), self.environ, self._http)

    def close(self) -> None:
        self._http.close()


@pytest.fixture(scope="session")
def peers() -> Iterator[Peers]:
    """The scenario's peers (HTTP sink, SMTP inbox, upstream API), from the harness's variables."""
    declared = Peers(os.environ)
    if not declared.declared:
        pytest.skip(f"the scenario declares no peers (${DECLARED_ENV} is unset)")
    yield declared
    declared.close()
