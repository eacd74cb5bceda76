"""The robust stage: its verdict on recorded evidence, then schemathesis against live servers."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from backbench.catalogue import Scenario
from backbench.runtime import HarnessError
from backbench.sandbox.local import BackbenchSandbox
from backbench.scoring.robustness import (
    Failure,
    OperationEvidence,
    RobustEvidence,
    parse_events,
    robust_verdict,
    run_robust,
)
from backbench.scoring.submission import (
    restart_on_fresh_data,
    start_submission,
    stop_submission,
)
from backbench.scoring.verdict import not_served_score
from tests.conftest import requires_namespace, write_submission

MakeSandbox = Callable[..., Awaitable[BackbenchSandbox]]
LABELS = ["GET /health", "POST /v1/items"]


def op(label: str, examples: int = 20, failures: int = 0) -> OperationEvidence:
    kept = [Failure("not_a_server_error", "POST", "/v1/items", '{"name": "\\u0000"}', 500)]
    return OperationEvidence(label, examples, failures, kept if failures else [])


# -- verdict ------------------------------------------------------------------------------------


def test_every_operation_clean_is_robust_1() -> None:
    share, text = robust_verdict(RobustEvidence([op("GET /health"), op("POST /v1/items")]))
    assert share == 1.0 and "2/2 operations" in text


def test_one_failing_operation_of_four_is_named() -> None:
    clean = [op("GET /a"), op("GET /b"), op("GET /c")]
    evidence = RobustEvidence([*clean, op("POST /v1/items", 30, 2)])
    share, text = robust_verdict(evidence)
    assert share == 0.75
    assert "POST /v1/items: 2 of 30 requests failed" in text
    assert "-> 500" in text and "not_a_server_error" in text


def test_an_operation_never_answered_counts_as_failed() -> None:
    share, text = robust_verdict(RobustEvidence([op("GET /health"), op("GET /x", 0)], True))
    assert share == 0.5 and "GET /x: not tested" in text and "time limit" in text


def test_no_operation_is_a_harness_error() -> None:
    with pytest.raises(HarnessError):
        robust_verdict(RobustEvidence([]))


def test_not_served_scores_robust_0() -> None:
    value, _ = not_served_score("no start.sh", 0.5, "quality", 0)
    assert value["robust"] == 0.0


# -- reading schemathesis's event stream --------------------------------------------------------


def scenario_event(label: str, failed_check: str | None = None) -> str:
    interaction = {
        "request": {
            "method": "POST",
            "uri": "http://127.0.0.1:8000/v1/items?x=1",
            "body": {"$base64": base64.b64encode(b'{"name": "a\\u0000"}').decode()},
        },
        "response": {"status_code": 500 if failed_check else 201},
    }
    checks: list[dict[str, Any]] = [{"name": "not_a_server_error", "status": "success"}]
    if failed_check:
        failure = {"failure": {"title": "Server error", "message": ""}}
        checks = [{"name": failed_check, "status": "failure", "failure_info": failure}] * 2
    answered = {**interaction, "response": {"status_code": 201}}
    recorder = {
        "label": label,
        "interactions": {"c1": interaction, "c2": answered},
        "checks": {"c1": checks, "c2": [{"name": "not_a_server_error", "status": "success"}]},
    }
    return json.dumps({"ScenarioFinished": {"phase": "fuzzing", "recorder": recorder}})


def test_events_give_examples_failures_and_a_reproduction() -> None:
    lines = [
        scenario_event("GET /health"),
        scenario_event("POST /v1/items", "not_a_server_error"),
        '{"ScenarioFinished": {"cut short',  # the last line of a run stopped at its time limit
    ]
    found = parse_events(lines, LABELS)
    assert (found["GET /health"].examples, found["GET /health"].failures) == (2, 0)
    post = found["POST /v1/items"]
    assert (post.examples, post.failures) == (2, 1)  # two failed checks, one request
    assert post.kept[0].method == "POST" and post.kept[0].path == "/v1/items?x=1"
    assert post.kept[0].status == 500 and "\\u0000" in post.kept[0].body


def test_an_error_on_an_operation_is_its_failure() -> None:
    error = {"label": "POST /v1/items", "related_to_operation": True, "value": "Read timed out"}
    found = parse_events([json.dumps({"NonFatalError": error})], LABELS)
    assert found["POST /v1/items"].failures == 1
    assert found["POST /v1/items"].kept[0].status is None


def test_a_fatal_error_is_a_harness_error() -> None:
    with pytest.raises(HarnessError):
        parse_events([json.dumps({"FatalError": {"exception": "bad schema"}})], LABELS)


# -- live: the reference is robust, a fragile copy is not ----------------------------------------


async def robust_of(make: MakeSandbox, scenario: Scenario, source: Path) -> RobustEvidence:
    env = await make(scenario)
    await write_submission(env, source)
    running = await start_submission(env, {})
    try:
        assert running.ready, running.log_tail()
        return await run_robust(env, running.base_url, scenario.openapi_file, {})
    finally:
        await stop_submission(env, running)


def add_items(admin_url: str, count: int) -> None:
    """`count` items of random names: what the hidden tests leave behind differs every run."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for _ in range(count):
            conn.execute(
                "INSERT INTO items (name, price, quantity) VALUES (%s, 1.5, 1)",
                (f"left-{uuid.uuid4().hex}",),
            )


@requires_namespace
@pytest.mark.anyio
async def test_inventory_reference_is_robust_with_the_same_cases_whatever_ran_before(
    sandbox_for: MakeSandbox, inventory: Scenario
) -> None:
    # The cases draw ids from the answers: on other data they are other cases (on the data of
    # 0 and of 3 random items schemathesis sent 320 and 330 requests). The stage restarts the
    # server on an empty database first, so the same contract and server give the same cases.
    env = await sandbox_for(inventory)
    await write_submission(env, inventory.reference_dir)
    running = await start_submission(env, {})
    found = []
    try:
        for leftovers in (2, 5):
            assert running.ready, running.log_tail()
            admin = env.admin_database_url(running.env["DATABASE_URL"])
            await asyncio.to_thread(add_items, admin, leftovers)
            await restart_on_fresh_data(env, running, {}, env.private / "server-robust.log")
            assert running.ready, running.log_tail()
            found.append(await run_robust(env, running.base_url, inventory.openapi_file, {}))
    finally:
        await stop_submission(env, running)
    for evidence in found:
        share, text = robust_verdict(evidence)
        assert share == 1.0, text
        assert all(op.examples > 0 and op.cases_sha256 for op in evidence.operations)
    assert found[0].cases_sha256 == found[1].cases_sha256
    assert [op.examples for op in found[0].operations] == [
        op.examples for op in found[1].operations
    ]


@requires_namespace
@pytest.mark.anyio
async def test_a_fragile_endpoint_is_caught_and_named(
    sandbox_for: MakeSandbox, inventory: Scenario, tmp_path: Path
) -> None:
    source = Path(shutil.copytree(inventory.reference_dir, tmp_path / "fragile"))
    app = source / "app.py"
    # a column one character shorter than the documented maximum: a 100-character name is a 500
    app.write_text(app.read_text().replace("name VARCHAR(100)", "name VARCHAR(99)"))
    share, text = robust_verdict(await robust_of(sandbox_for, inventory, source))
    assert share < 1.0
    assert "POST /v1/items:" in text and "-> 500" in text
    assert "GET /health:" not in text
