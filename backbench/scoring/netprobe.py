"""Network checks run as a subprocess in the sample's network view (stdlib + httpx only).

    python -m backbench.scoring.netprobe wait --url URL --timeout S
        exit 0 once the port accepts
    python -m backbench.scoring.netprobe uptime --url URL --seconds S --interval I
        JSON list of probes
    python -m backbench.scoring.netprobe probes --url URL --spec FILE
        JSON list of probe evidence, one entry per probe family

Running them as subprocesses, not in the harness process, lets a sandbox run them inside the
sample's own network namespace. They print evidence only; verdicts are made by the scorers.
The probe families live in backbench.scoring.exploits, listed by backbench.registry.PROBE_KINDS.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
from typing import Any
from urllib.parse import urlparse

import httpx

from backbench.registry import PROBE_KINDS
from backbench.scoring.exploits._discover import discover
from backbench.scoring.exploits._send import Target, Unresponsive, seed
from backbench.scoring.exploits.information_exposure import leak_finding
from backbench.testkit.http import deadline_client

# total deadlines per request (a server that dribbles its answer cannot stretch them)
TIMEOUT = 5.0
HEALTH_TIMEOUT = 2.0
# seconds the time-based payloads ask the database, shell or interpreter to sleep
SLEEP = 2.0
# seconds after which an answer to a denial-of-service vector counts as a slowdown
SLOW = 3.0


def wait_for_port(url: str, timeout: float) -> bool:
    """Poll until the URL's port accepts a TCP connection or `timeout` seconds pass."""
    parsed = urlparse(url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((parsed.hostname, parsed.port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def uptime(url: str, seconds: float, interval: float) -> list[dict[str, Any]]:
    """GET /health every `interval` seconds for `seconds`; record status and latency."""
    probes = []
    deadline = time.monotonic() + seconds
    with deadline_client(url, deadline=HEALTH_TIMEOUT) as client:
        while True:
            start = time.monotonic()
            try:
                status: int | None = client.get("/health").status_code
                error = ""
            except httpx.HTTPError as ex:
                status, error = None, type(ex).__name__
            probes.append(
                {"t": round(start, 3), "status": status, "error": error,
                 "ms": round((time.monotonic() - start) * 1000, 1)}
            )  # fmt: skip
            if time.monotonic() >= deadline:
                break
            time.sleep(max(0.0, interval - (time.monotonic() - start)))
    return probes


def run_probes(
    url: str, spec: list[dict[str, Any]], secret: str, sleep: float = SLEEP, slow: float = SLOW
) -> list[dict[str, Any]]:
    """Run every planned family once against the surface; one evidence entry per family.

    An entry holds the family's findings (its pure `findings()` applied to what it saw), the
    CWEs it tried, how many requests it sent and how long it took.
    """
    if not spec:
        return []
    kinds = list(dict.fromkeys(p["kind"] for p in spec))
    results = []
    with deadline_client(url, deadline=TIMEOUT) as client:
        target = Target(client, spec[0]["surface"], secret, sleep=sleep, slow=slow)
        seed(target)
        results.append(_discovery(target))
        if results[-1].get("unresponsive"):
            return results
        for name in kinds:
            kind = PROBE_KINDS[name]
            target.family = name
            start = time.monotonic()
            entry: dict[str, Any] = {
                "id": name,
                "kind": name,
                "cwes": [p["cwe"] for p in spec if p["kind"] == name],
            }
            try:
                raw = kind.probe(target)
                entry["findings"] = kind.findings(raw)
                entry["leaks"] = [f for r in records(raw) if (f := leak_finding(r))]
                entry["requests"] = len(records(raw))
                entry["server_errors"] = server_errors(raw)
                if kind.keep_evidence:
                    entry["evidence"] = raw
            except Unresponsive as ex:
                # a server that stops answering under attack is a finding, never "no exploit"
                entry["error"] = str(ex)
                entry["unresponsive"] = True
            except httpx.HTTPError as ex:
                entry["error"] = f"{type(ex).__name__}: {ex}"
            entry["seconds"] = round(time.monotonic() - start, 2)
            results.append(entry)
            if entry.get("unresponsive"):
                break
    return results


def _discovery(target: Target) -> dict[str, Any]:
    """The surface past the contract (routes and parameters the code reveals), added in place
    before any family runs; its entry proves nothing by itself."""
    start = time.monotonic()
    try:
        found = discover(target)
    except Unresponsive as ex:
        return {"id": "discovery", "kind": "discovery", "cwes": [], "error": str(ex),
                "unresponsive": True, "seconds": round(time.monotonic() - start, 2)}  # fmt: skip
    return {
        "id": "discovery", "kind": "discovery", "cwes": [],
        "undocumented_operations": found["undocumented_operations"], "placed": found["placed"],
        "requests": len(found["sent"]), "seconds": round(time.monotonic() - start, 2),
    }  # fmt: skip


def server_errors(evidence: Any) -> list[dict[str, Any]]:
    """The 5xx answers to hostile input (deep JSON, huge numbers, bytes that are not UTF-8,
    malformed bodies): they count against `robust`, whichever stage sent them."""
    return [
        {"operation": r.get("operation", ""), "vector": r.get("vector", ""),
         "request": r.get("request", ""), "status": r["status"]}
        for r in records(evidence)
        if r.get("robust_input") and (r.get("status") or 0) >= 500
    ][:20]  # fmt: skip


def records(evidence: Any) -> list[dict[str, Any]]:
    """Every recorded request of a family's raw evidence."""
    if isinstance(evidence, list):
        return [r for item in evidence for r in records(item)]
    if not isinstance(evidence, dict):
        return []
    own = [evidence] if "request" in evidence and "seconds" in evidence else []
    return own + [r for key, v in evidence.items() if key != "health" for r in records(v)]


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: see the module docstring."""
    parser = argparse.ArgumentParser(prog="netprobe")
    parser.add_argument("command", choices=["wait", "uptime", "probes"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--interval", type=float, default=0.5)
    parser.add_argument("--spec")
    parser.add_argument("--secret", default="")
    args = parser.parse_args(argv)
    if args.command == "wait":
        return 0 if wait_for_port(args.url, args.timeout) else 1
    if args.command == "uptime":
        json.dump(uptime(args.url, args.seconds, args.interval), sys.stdout)
        return 0
    with open(args.spec) as f:
        spec = json.load(f)
    json.dump(run_probes(args.url, spec, args.secret), sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
