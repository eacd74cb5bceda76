"""The registry of peer kinds: what each gives the submission, and where it listens.

A scenario declares peers by name (`peers: [http_sink, smtp, upstream]`); the scenario schema
validates the names against `PEER_KINDS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from backbench.peers import payments, s3
from backbench.peers.oidc import CLIENT_ID, CLIENT_SECRET

LOOPBACK = "127.0.0.1"
TOKEN_ENV = "BACKBENCH_PEERS_TOKEN"  # the admin token: tests and the peers process only
DECLARED_ENV = "BACKBENCH_PEERS"  # comma-separated kinds the scenario declares


@dataclass(frozen=True)
class PeerKind:
    """One kind of peer: its default loopback ports and the variables the submission gets."""

    name: str
    description: str
    port: int  # the service the submission talks to (fixed in a sample's own loopback)
    admin_port: int  # the harness-only admin API
    submission_env: Callable[[str, int], dict[str, str]]  # (host, port) -> variables

    def admin_env_name(self) -> str:
        """The test environment variable that holds this peer's admin base URL."""
        return f"BACKBENCH_PEER_{self.name.upper()}_ADMIN"


def _sink_env(host: str, port: int) -> dict[str, str]:
    return {"WEBHOOK_SINK_URL": f"http://{host}:{port}"}


def _smtp_env(host: str, port: int) -> dict[str, str]:
    return {"SMTP_HOST": host, "SMTP_PORT": str(port)}


def _upstream_env(host: str, port: int) -> dict[str, str]:
    return {"UPSTREAM_URL": f"http://{host}:{port}"}


def _oidc_env(host: str, port: int) -> dict[str, str]:
    return {
        "OIDC_ISSUER": f"http://{host}:{port}",
        "OIDC_CLIENT_ID": CLIENT_ID,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
    }


def _s3_env(host: str, port: int) -> dict[str, str]:
    # boto3 (botocore 1.31+) reads AWS_ENDPOINT_URL_S3 by itself
    return {
        "AWS_ENDPOINT_URL_S3": f"http://{host}:{port}",
        "AWS_ACCESS_KEY_ID": s3.ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": s3.SECRET_KEY,
        "AWS_DEFAULT_REGION": s3.REGION,
        "S3_BUCKET": s3.BUCKET,
    }


def _payments_env(host: str, port: int) -> dict[str, str]:
    return {"PAYMENTS_URL": f"http://{host}:{port}", "PAYMENTS_API_KEY": payments.API_KEY}


PEER_KINDS: dict[str, PeerKind] = {
    kind.name: kind
    for kind in (
        PeerKind(
            "http_sink",
            "records every HTTP request it receives (webhook deliveries) and answers a set status",
            8081,
            9081,
            _sink_env,
        ),
        PeerKind(
            "smtp",
            "an SMTP server (no TLS, any AUTH accepted) that keeps every message in an inbox",
            2525,
            9025,
            _smtp_env,
        ),
        PeerKind(
            "upstream",
            "an HTTP API whose answers tests program per route (status, body, delay, failures)",
            8082,
            9082,
            _upstream_env,
        ),
        PeerKind(
            "oidc",
            "an OpenID Connect provider (authorization code flow, RS256 ID tokens) whose tokens "
            "tests can tamper with",
            8083,
            9083,
            _oidc_env,
        ),
        PeerKind(
            "s3",
            "an S3-compatible object store (moto) that checks signatures and presigned URLs' "
            "expiry, records requests and injects faults",
            8084,
            9084,
            _s3_env,
        ),
        PeerKind(
            "payments",
            "a payment provider's charges API with idempotency keys, whose calls tests make "
            "slow, failing or dropped, before or after the charge is made",
            8085,
            9085,
            _payments_env,
        ),
    )
}


def unknown_peers(names: list[str]) -> list[str]:
    """The names that are not peer kinds."""
    return [n for n in names if n not in PEER_KINDS]
