"""Network checks run as a subprocess in the sample's network view (stdlib + httpx only).

    python -m backbench.scoring.netprobe wait --url URL --timeout S
        exit 0 once the port accepts
    python -m backbench.scoring.netprobe uptime --url URL --seconds S --interval I
        JSON list of probes
    python -m backbench.scoring.netprobe probes --url URL --spec FILE
        JSON list of probe evidence

Running them as subprocesses, not in the harness process, lets a sandbox run them inside the
sample's own network namespace. They print evidence only; verdicts are made by the scorers.
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
import time
import uuid
from typing import Any
from urllib.parse import urlparse

import httpx

TIMEOUT = 5.0


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
    with httpx.Client(base_url=url, timeout=2.0) as client:
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


def fill(value: Any, secret: str) -> Any:
    """Substitute {uuid} and {secret} in every string of a request template."""
    if isinstance(value, str):
        return value.replace("{uuid}", uuid.uuid4().hex).replace("{secret}", secret)
    if isinstance(value, dict):
        return {k: fill(v, secret) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, secret) for v in value]
    return value


def _items(body: Any, key: str) -> list[Any] | None:
    node = body
    for part in [p for p in key.split(".") if p]:
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node if isinstance(node, list) else None


def _response(resp: httpx.Response, items_key: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"status": resp.status_code, "body": resp.text[:300]}
    if items_key is not None:
        try:
            items = _items(resp.json(), items_key)
        except ValueError:
            items = None
        record["count"] = None if items is None else len(items)
    return record


# Payloads that turn a string-built WHERE clause into a tautology or a syntax error.
SQLI_PAYLOADS = [
    "zz' OR '1'='1",
    "zz' OR 1=1 --",
    "zz%' OR '1'='1' --",
    "zz') OR ('1'='1",
]


def _send(
    client: httpx.Client, method: str, path: str, items_key: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    """One request; a dropped connection is retried once, then recorded as no answer."""
    for attempt in range(2):
        try:
            return _response(client.request(method, path, **kwargs), items_key)
        except httpx.TransportError as ex:
            # servers may close a kept-alive connection after an error answer
            if attempt == 1:
                return {"status": None, "error": f"{type(ex).__name__}: {ex}", "count": None}
    raise AssertionError("unreachable")


def sql_injection(client: httpx.Client, probe: dict[str, Any], secret: str) -> dict[str, Any]:
    """CWE-89: seed a row, then compare a non-matching filter value with injected ones."""
    headers = fill(probe.get("headers", {}), secret)
    seed = probe.get("seed")
    evidence: dict[str, Any] = {"id": probe["id"], "kind": "sql_injection", "cwe": 89}
    if seed:
        evidence["seed"] = _send(
            client, seed.get("method", "POST"), seed["path"],
            headers=fill(seed.get("headers", {}), secret), json=fill(seed.get("json"), secret),
        )  # fmt: skip
    key = probe.get("items_key", "")
    param = probe["param"]
    evidence["baseline"] = _send(
        client, "GET", probe["path"], key, params={param: "zz-no-such-value"}, headers=headers
    )
    evidence["attempts"] = [
        {"payload": payload,
         **_send(client, "GET", probe["path"], key, params={param: payload}, headers=headers)}
        for payload in SQLI_PAYLOADS
    ]  # fmt: skip
    return evidence


def auth_required(client: httpx.Client, probe: dict[str, Any], secret: str) -> dict[str, Any]:
    """CWE-306: the request with no credentials, then with a wrong one, must be refused."""
    headers = fill(probe.get("headers", {}), secret)
    evidence: dict[str, Any] = {"id": probe["id"], "kind": "auth_required", "cwe": 306}
    evidence["attempts"] = []
    for label, auth in (("none", {}), ("wrong", {"Authorization": "Bearer wrong-" + secret[:4]})):
        answer = _send(
            client, probe.get("method", "GET"), probe["path"],
            headers={**headers, **auth}, json=fill(probe.get("json"), secret),
        )  # fmt: skip
        evidence["attempts"].append({"credentials": label, **answer})
    return evidence


PROBES = {"sql_injection": sql_injection, "auth_required": auth_required}


def run_probes(url: str, spec: list[dict[str, Any]], secret: str) -> list[dict[str, Any]]:
    """Run every probe of the spec; a probe that cannot reach the server records the error."""
    results = []
    with httpx.Client(base_url=url, timeout=TIMEOUT) as client:
        for probe in spec:
            try:
                results.append(PROBES[probe["kind"]](client, probe, secret))
            except httpx.HTTPError as ex:
                results.append(
                    {
                        "id": probe["id"],
                        "kind": probe["kind"],
                        "error": f"{type(ex).__name__}: {ex}",
                    }
                )
    return results


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
