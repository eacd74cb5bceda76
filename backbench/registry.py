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
    auth_bypass,
    authentication,
    authorization,
    client_spoofing,
    command_injection,
    cors,
    cross_site_scripting,
    debugger,
    denial_of_service,
    hardcoded_credentials,
    header_injection,
    information_exposure,
    log_exposure,
    login_throttling,
    mass_assignment,
    path_traversal,
    redis_keys,
    security_headers,
    server_side_request,
    sessions,
    sql_injection,
    tokens,
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
    "check": "a check of the scenario's deliverable kind (by name) fails",
}


@dataclass(frozen=True)
class DeliverableKind:
    """What a scenario asks the agent to deliver, and the checks that judge it.

    `server`: the deliverable is a service that start.sh runs, judged by the live stages
    (functional, robust, security, load) besides the kind's own checks. `checks` name the
    kind's own verdicts (a mutant may declare `catches: {check: <name>}`), each a score key
    check a score reports. `keys` are the kind's score keys (figures and verdicts), NaN on
    samples of other kinds. `files` are the scenario folder's required entries.
    """

    summary: str
    server: bool
    checks: dict[str, str]
    files: tuple[str, ...]
    keys: tuple[str, ...] = ()


DELIVERABLE_KINDS: dict[str, DeliverableKind] = {
    "service": DeliverableKind(
        "a new HTTP service written from a prose brief and an OpenAPI document", True, {},
        ("prompt.md", "tests/", "reference/start.sh"),
    ),
    "speedup": DeliverableKind(
        "make the slow service in the workspace fast, measured beside the unchanged code", True,
        {"speedup": "per load cycle, the starting code's p95 over the submission's, at least "
                    "the required factor (one-sided Mann-Whitney U, p < 0.05)"},
        ("prompt.md", "tests/", "reference/start.sh", "files/start.sh"),
        ("speedup", "speedup_p"),
    ),
    "migration": DeliverableKind(
        "change the schema of a service whose database holds data, with its migration", True,
        {"migration_up": "after start.sh ran the upgrade, checks/upgrade/ passes: every seeded "
                         "row survived in its new shape",
         "migration_down": "after the downgrade command, checks/downgrade/ passes: the data "
                           "is back in its old shape"},
        ("prompt.md", "tests/", "reference/start.sh", "files/start.sh", "seed.py",
         "checks/upgrade/", "checks/downgrade/"),
        ("migration_up", "migration_down"),
    ),
    "tests": DeliverableKind(
        "write the tests of the code in the workspace", False,
        {"tests_pass": "the tests pass on the code and on a hidden equivalent rewrite of it",
         "coverage": "line and branch coverage of the package, at least min_coverage",
         "mutation_kill": "share of the package's generated mutants the tests fail, at least "
                          "min_mutation_kill"},
        ("prompt.md", "files/", "equivalent/", "reference/"),
        ("tests_pass", "coverage", "mutation_kill", "mutants_run"),
    ),
    "review": DeliverableKind(
        "review the changes in the workspace and report their defects as JSON", False,
        {"review_recall": "share of the planted defects found, at least min_recall",
         "review_precision": "found over found plus comments on clean changes, at least "
                             "min_precision"},
        ("prompt.md", "files/", "review.yaml", "reference/"),
        ("review_recall", "review_precision"),
    ),
    "repository": DeliverableKind(
        "extend the codebase in the workspace, whose own tests must keep passing", True,
        {"own_tests": "the codebase's original tests, put back over the workspace's, pass"},
        ("prompt.md", "tests/", "reference/start.sh", "files/start.sh"),
        ("own_tests",),
    ),
    "config": DeliverableKind(
        "containerise the service in the workspace and write its CI", False,
        {"dockerfile": "hadolint finds no error; a non-root user, a healthcheck and a pinned "
                       "base image from the BASE_IMAGE build argument",
         "compose": "valid against the Compose specification; the app built from . waits for "
                    "a healthy postgres service",
         "workflow": "valid against the workflow schema; push and pull_request; actions "
                     "pinned to commits; no high zizmor finding; a test step",
         "ci_passes": "the workflow's test step passes on the submission",
         "ci_catches": "the workflow's test step fails once a regression is planted"},
        ("prompt.md", "files/", "regression/", "reference/"),
        ("dockerfile", "compose", "workflow", "ci_passes", "ci_catches"),
    ),
}  # fmt: skip
# every kind's check names, and its score keys (NaN on samples of other kinds)
KIND_CHECKS: tuple[str, ...] = tuple(c for k in DELIVERABLE_KINDS.values() for c in k.checks)
KIND_KEYS: tuple[str, ...] = tuple(key for k in DELIVERABLE_KINDS.values() for key in k.keys)

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
    "oidc": "an OpenID Connect provider the submission logs users in with; tests tamper its tokens",
    "s3": "an S3-compatible object store (moto) the submission keeps files in, through boto3",
    "payments": "a payment provider with idempotency keys whose calls tests make fail or time out",
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
    # the raw evidence goes back to the scorer, which judges it with what only it has (the log)
    keep_evidence: bool = False
    # the CWEs the family can prove on a surface it applies to (default: all of them)
    planned_cwes: Callable[[dict[str, Any]], Iterable[int]] | None = None

    def cwes_on(self, surface: dict[str, Any]) -> list[int]:
        """The CWEs this family plans on `surface` (it applies there)."""
        if self.planned_cwes is None:
            return list(self.cwes)
        return [cwe for cwe in self.cwes if cwe in set(self.planned_cwes(surface))]


# in the order they run: the denial-of-service family last, since it may take the server down
FAMILIES = (
    authentication, auth_bypass, hardcoded_credentials, tokens, authorization, login_throttling,
    sessions, client_spoofing,
    sql_injection, command_injection, header_injection, log_exposure, path_traversal,
    mass_assignment, redis_keys, server_side_request, cross_site_scripting, cors, security_headers,
    information_exposure, debugger, denial_of_service,
)  # fmt: skip
PROBE_KINDS: dict[str, ProbeKind] = {
    f.NAME: ProbeKind(
        f.NAME,
        dict(f.CWES),
        (f.__doc__ or "").strip().splitlines()[0],
        f.applies,
        f.probe,
        f.findings,
        bool(getattr(f, "KEEP_EVIDENCE", False)),
        getattr(f, "planned_cwes", None),
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
