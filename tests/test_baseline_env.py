"""The reference loaded beside the submission gets the sample's peers' variables (a login
scenario's reference needs OIDC_ISSUER as much as the submission does), its own port and
database winning over anything the submission was given."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from backbench.scoring import baseline
from backbench.scoring.submission import RunningSubmission


class FakeRuntime:
    def __init__(self, private: Path) -> None:
        self.private = private
        self.spawned: list[dict[str, str]] = []

    async def baseline_env(self) -> dict[str, str]:
        return {"PORT": "9999", "DATABASE_URL": "postgresql://baseline", "APP_SECRET": "s"}

    async def spawn_tool(self, argv: list[str], env: dict[str, str], **_: Any) -> Any:
        self.spawned.append(env)
        return SimpleNamespace(returncode=None)


def test_the_baseline_gets_the_peers_variables_and_its_own_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = tmp_path / "reference"
    reference.mkdir()
    (reference / "start.sh").write_text("#!/bin/sh\n")
    (tmp_path / "private").mkdir()
    runtime = FakeRuntime(tmp_path / "private")

    async def ready(_: Any, running: RunningSubmission, __: Any) -> RunningSubmission:
        running.ready = True
        return running

    monkeypatch.setattr(baseline, "await_ready", ready)
    scenario = SimpleNamespace(baseline_dir=reference)
    peers = {"OIDC_ISSUER": "http://127.0.0.1:8083", "PORT": "1234"}
    running = asyncio.run(baseline.start_baseline(runtime, scenario, {}, peers))  # type: ignore[arg-type]
    assert runtime.spawned[0]["OIDC_ISSUER"] == "http://127.0.0.1:8083"
    assert running.env["PORT"] == "9999" and running.base_url == "http://127.0.0.1:9999"
    asyncio.run(baseline.start_baseline(runtime, scenario, {}))  # type: ignore[arg-type]
    assert "OIDC_ISSUER" not in runtime.spawned[1]
