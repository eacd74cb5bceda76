"""The scoring runtime for docker/k8s sandboxes, driven here over inspect's `local` sandbox.

No Docker engine runs on this machine; the same code path (tools run through `exec`, files
mirrored through `write_file`/`read_file`, the submission watched through `exec`) is exercised
against the local sandbox with real services, in both directions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from backbench.catalogue import Scenario
from backbench.sandbox.services import (
    SampleServices,
)
from backbench.scoring.scorer import score_submission
from tests.conftest import mutant_copy, runtime_for, values

pytestmark = pytest.mark.anyio


async def test_reference_passes_through_exec(
    exec_services: SampleServices, inventory: Scenario, tmp_path: Path
) -> None:
    runtime = await runtime_for(exec_services, inventory.reference_dir, tmp_path)
    try:
        score = await score_submission(runtime, inventory, 2.0)
    finally:
        runtime.close()
    assert values(score)["correct"] == 1, (score.explanation, score.metadata)
    assert values(score)["uptime"] == 1
    assert values(score)["correct_secure"] == 1


async def test_mutant_fails_through_exec(
    exec_services: SampleServices, inventory: Scenario, tmp_path: Path
) -> None:
    source = mutant_copy(inventory, "no-price-validation", tmp_path)
    runtime = await runtime_for(exec_services, source, tmp_path)
    try:
        score = await score_submission(runtime, inventory, 2.0)
    finally:
        runtime.close()
    assert values(score)["correct"] == 0
    failed = [t["name"] for t in (score.metadata or {})["failed_tests"]]
    assert "test_create_rejects_negative_price" in failed


async def test_empty_workspace_is_not_served_through_exec(
    exec_services: SampleServices, inventory: Scenario, tmp_path: Path
) -> None:
    runtime = await runtime_for(exec_services, None, tmp_path)
    try:
        score = await score_submission(runtime, inventory, 2.0)
    finally:
        runtime.close()
    assert values(score)["correct"] == 0 and "no start.sh" in (score.explanation or "")
