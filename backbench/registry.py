"""The registries: every kind of thing a scenario.yaml may name, each listed once.

`backbench.schema` validates scenario.yaml against them (an unknown name is a load error);
the scorers and `backbench validate` dispatch through them. This module imports only the
standard library and the probe families (stdlib + httpx), because netprobe imports it inside a
sample's network view where the harness's other dependencies may be missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from backbench.scoring.exploits import auth_required, sql_injection

SERVICES: dict[str, str] = {
    "postgres": "PostgreSQL; the submission reads DATABASE_URL (a fresh database per sample)",
    "redis": "Redis; the submission reads REDIS_URL (an empty database per sample)",
}

# The checks a mutant may declare that it is caught by (`catches: {<kind>: <target>}`).
CHECK_KINDS: dict[str, str] = {
    "test": "a hidden test function (by name) fails",
    "probe": "a security probe (by id) succeeds",
    "slo": "the load test misses an SLO metric (by name) the scenario sets",
}

# The load test's figures an SLO may bound that the load verdict scores today.
SLO_METRICS: dict[str, str] = {
    "p95_ms": "95th percentile latency under load, ms (at most)",
    "error_rate": "fraction of load requests that failed (at most)",
}

# Loopback services the hidden tests stand up for the submission to talk to. The test kit's
# `backbench.peers` implements them; tests/test_schema.py checks both list the same names.
PEERS: dict[str, str] = {
    "http_sink": "an HTTP server that records every request the submission sends it (webhooks)",
    "smtp": "an SMTP server whose inbox the tests read (mail the submission sends)",
    "upstream": "an HTTP service the submission calls, with scripted answers, delays and faults",
}


@dataclass(frozen=True)
class ProbeKind:
    """A security probe family: the CWE it tests, how to send it and how to judge it."""

    name: str
    cwe: int
    summary: str
    probe: Callable[[httpx.Client, dict[str, Any], str], dict[str, Any]]
    exploited: Callable[[dict[str, Any]], str | None]


PROBE_KINDS: dict[str, ProbeKind] = {
    kind.name: kind
    for kind in (
        ProbeKind(
            "auth_required", auth_required.CWE,
            "the request must be refused without credentials and with a wrong one",
            auth_required.probe, auth_required.exploited,
        ),
        ProbeKind(
            "sql_injection", sql_injection.CWE,
            "a filter parameter must not reach the database as SQL text",
            sql_injection.probe, sql_injection.exploited,
        ),
    )
}  # fmt: skip


def one_of(names: Iterable[str]) -> str:
    """The names of a registry as an error message lists them: sorted, comma-separated."""
    return ", ".join(sorted(names))
