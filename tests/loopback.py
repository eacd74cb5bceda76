"""Small loopback HTTP servers for the probe tests: each on a port of its own, all shut down."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml


def write_openapi(folder: Path, document: dict[str, Any]) -> Path:
    """A toy service's contract as `folder/openapi.yaml`, the file the probe plan reads."""
    path = folder / "openapi.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@contextmanager
def loopback_servers() -> Iterator[Callable[[type[BaseHTTPRequestHandler]], str]]:
    """A function that serves a handler class on 127.0.0.1 and returns its base URL; every
    server it started is shut down when the block ends."""
    servers: list[ThreadingHTTPServer] = []

    def start(handler: type[BaseHTTPRequestHandler]) -> str:
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    try:
        yield start
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def assert_plans_unchanged_without(
    family: str, monkeypatch: Any, declares: Callable[[Any], bool] | None = None
) -> None:
    """Every scenario of the catalogue plans the same probes with and without `family`, but
    those whose `probes:` declare what the family needs (`declares(probes)`, a ProbeSurface): a
    new family changes no other scenario's `cwes:` and no other validation."""
    from backbench.catalogue import all_scenarios, read_scenario_file
    from backbench.scoring import attack_surface as attack_surface_module
    from backbench.scoring.attack_surface import probe_plan

    scenarios = all_scenarios()

    def plans() -> dict[str, str]:
        found = {}
        for scenario in scenarios:
            model, _ = read_scenario_file(scenario.folder)
            assert model is not None
            probes = model.probes
            if probes is not None and declares is not None and declares(probes):
                continue
            config = probes.model_dump(by_alias=True, exclude_none=True) if probes else None
            plan = probe_plan(scenario.folder / "openapi.yaml", config) if config else []
            found[scenario.id] = json.dumps(plan, sort_keys=True, default=str)
        return found

    with_family = plans()
    without = {k: v for k, v in attack_surface_module.PROBE_KINDS.items() if k != family}
    monkeypatch.setattr(attack_surface_module, "PROBE_KINDS", without)
    assert plans() == with_family
    assert len(with_family) > 0


def assert_planned_only_where_declared(
    family: str, declares: Callable[[Any], bool], cwe_ids: list[str]
) -> list[str]:
    """Exactly the scenarios whose `probes:` `declares` (a ProbeSurface -> bool) plan `family`,
    each with the family's CWEs it plans (some of `cwe_ids`) in its `cwes:`; no other could plan
    them from its code either.
    The ids of the declaring scenarios."""
    from backbench.catalogue import all_scenarios, read_scenario_file
    from backbench.scoring.attack_surface import possible_probe_ids

    declaring = []
    for scenario in all_scenarios():
        model, _ = read_scenario_file(scenario.folder)
        assert model is not None
        declared = model.probes is not None and declares(model.probes)
        planned = any(p["kind"] == family for p in scenario.probes)
        assert planned == declared, scenario.id
        if declared:
            declaring.append(scenario.id)
            # the CWEs the family plans on it (an owner check without an admin scope: 639
            # only), each in its `cwes:`
            ids = {str(p["id"]) for p in scenario.probes if p["kind"] == family}
            assert ids and ids <= set(cwe_ids), scenario.id
            assert ids <= {f"cwe-{c}" for c in scenario.cwes}, scenario.id
        else:
            assert set(cwe_ids).isdisjoint(possible_probe_ids(scenario.probes)), scenario.id
    return declaring


def send_json(handler: BaseHTTPRequestHandler, status: int, payload: Any) -> None:
    """Answer a loopback app's request with `payload` as JSON."""
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
