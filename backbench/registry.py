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

from backbench.scoring.exploits import (
    authentication,
    command_injection,
    cors,
    cross_site_scripting,
    denial_of_service,
    header_injection,
    information_exposure,
    mass_assignment,
    path_traversal,
    redis_keys,
    server_side_request,
    sql_injection,
)
from backbench.scoring.exploits._send import Target

SERVICES: dict[str, str] = {
    "postgres": "PostgreSQL; the submission reads DATABASE_URL (a fresh database per sample)",
    "redis": "Redis; the submission reads REDIS_URL (an empty database per sample)",
}

# The checks a mutant may declare that it is caught by (`catches: {<kind>: <target>}`).
CHECK_KINDS: dict[str, str] = {
    "test": "a hidden test function (by name) fails",
    "probe": "a security probe proves the CWE (by id: cwe-<n>)",
    "slo": "the load test misses an SLO metric (by name) the scenario sets",
}

# The load test's figures an SLO may bound that the load verdict scores today.
SLO_METRICS: dict[str, str] = {
    "p95_ms": "95th percentile latency under load, ms (at most; only with -T load_baseline=none)",
    "p95_ratio": "p95 over the reference's, measured beside it (at most)",
    "rps_ratio": "requests per second over the reference's, measured beside it (at least)",
    "error_rate": "fraction of load requests that failed (at most)",
}
# the SLO metrics that are floors; the others are ceilings
SLO_FLOORS = ("rps_ratio",)

# Loopback services the hidden tests stand up for the submission to talk to. The test kit's
# `backbench.peers` implements them; tests/test_schema.py checks both list the same names.
PEERS: dict[str, str] = {
    "http_sink": "an HTTP server that records every request the submission sends it (webhooks)",
    "smtp": "an SMTP server whose inbox the tests read (mail the submission sends)",
    "upstream": "an HTTP service the submission calls, with scripted answers, delays and faults",
}


@dataclass(frozen=True)
class ProbeKind:
    """A security probe family: the CWEs it proves, whether it applies, how to send and judge."""

    name: str
    cwes: dict[int, str]
    summary: str
    applies: Callable[[dict[str, Any]], bool]
    probe: Callable[[Target], dict[str, Any]]
    findings: Callable[[dict[str, Any]], list[dict[str, Any]]]


# in the order they run: the denial-of-service family last, since it may take the server down
FAMILIES = (
    authentication, sql_injection, command_injection, header_injection, path_traversal,
    mass_assignment, redis_keys, server_side_request, cross_site_scripting, cors,
    information_exposure, denial_of_service,
)  # fmt: skip
PROBE_KINDS: dict[str, ProbeKind] = {
    f.NAME: ProbeKind(
        f.NAME,
        dict(f.CWES),
        (f.__doc__ or "").strip().splitlines()[0],
        f.applies,
        f.probe,
        f.findings,
    )
    for f in FAMILIES
}
# every CWE a family proves, as the id a mutant's `catches: {probe: cwe-<n>}` names
PROBE_IDS: dict[str, str] = {
    f"cwe-{cwe}": kind.name for kind in PROBE_KINDS.values() for cwe in kind.cwes
}


def one_of(names: Iterable[str]) -> str:
    """The names of a registry as an error message lists them: sorted, comma-separated."""
    return ", ".join(sorted(names))
