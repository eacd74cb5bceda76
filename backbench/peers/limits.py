"""Bounds on what a peer keeps and how long it waits: a flood from the submission stays small."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Sizes and times every peer observes (overridable per run in the spec's `limits`)."""

    max_records: int = 500  # requests, calls or messages kept per peer (the newest)
    body_cap: int = 64 * 1024  # bytes of a body or message text kept in a record
    max_body: int = 8 * 1024 * 1024  # a larger request body is refused with 413
    max_message: int = 1024 * 1024  # a larger SMTP message is refused with 552
    max_headers: int = 100  # a request with more header lines is refused with 431
    max_recipients: int = 100  # RCPT TO beyond this are refused with 452
    max_routes: int = 200  # upstream routes that may be programmed at once
    max_connections: int = 256  # concurrent connections per HTTP port; more are closed
    max_delay_ms: int = 60_000  # the longest delay an upstream route may be programmed with
    head_timeout: float = 10.0  # seconds to receive a request line and headers
    idle_timeout: float = 30.0  # seconds a kept-alive connection may wait for its next request
    body_timeout: float = 30.0  # seconds to receive a request body
    smtp_timeout: float = 30.0  # seconds an SMTP session may stay silent

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> Limits:
        """Limits with the known keys of `data` overriding the defaults."""
        known = {f.name: f.type for f in fields(cls)}
        unknown = set(data) - set(known)
        if unknown:
            raise ValueError(f"unknown limits: {sorted(unknown)}")
        defaults = asdict(cls())
        return cls(**{k: type(defaults[k])(v) for k, v in data.items()})
