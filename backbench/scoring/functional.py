"""Functional stage: the hidden pytest suite over HTTP, judged from JUnit XML and the exit code."""

from __future__ import annotations

import json
import shutil
import sys
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from backbench.runtime.interface import CONTROL_STATE, HarnessError, ScoringRuntime
from backbench.scoring.control import harness_control
from backbench.scoring.submission import RunningSubmission, restore_submission
from backbench.testkit.control import ADMIN_DATABASE_ENV, CONTROL_ENV, OPENAPI_ENV
from backbench.testkit.http import UNRESPONSIVE

# the stage's budget: the references need 40-130 s on a loaded 2-core machine
TEST_TIMEOUT = 180
# pytest's exit codes: 0 all passed, 1 some failed; anything else means the run itself broke.
PYTEST_OK, PYTEST_FAILED = 0, 1
# An empty ini of the harness's own, so no configuration file near the tests takes part.
PYTEST_INI = "[pytest]\n"


@dataclass
class TestCase:
    """One test's outcome from the JUnit report."""

    name: str
    outcome: str  # passed | failed | error | skipped
    message: str = ""


@dataclass
class FunctionalEvidence:
    """What the functional stage observed."""

    returncode: int | None  # None: killed at the time limit
    junit_xml: str | None
    output_tail: str = ""
    control_ops: list[str] = field(default_factory=list)  # what the tests asked of the harness
    # the tests' server control left a process the harness did not start: start it again
    submission_replaced: bool = False
    restored: bool = False  # the harness started the submission again after the tests


@dataclass
class FunctionalResult:
    """The functional verdict."""

    fraction: float
    correct: bool
    passed: list[str] = field(default_factory=list)
    failed: list[TestCase] = field(default_factory=list)
    explanation: str = ""
    # why the stage ended before every test could judge the server ("" when it did not)
    out_of_time: str = ""


def parse_junit(xml_text: str) -> list[TestCase]:
    """Test cases of a JUnit XML report."""
    root = ET.fromstring(xml_text)
    cases = []
    for case in root.iter("testcase"):
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = "failed" if child.tag == "failure" else child.tag
                message = (child.get("message") or child.text or "").strip()
                break
        cases.append(TestCase(name=case.get("name", "?"), outcome=outcome, message=message))
    return cases


def functional_verdict(evidence: FunctionalEvidence) -> FunctionalResult:
    """Fraction of hidden tests passed; correct only if the exit code and the report agree."""
    if evidence.returncode is None:
        why = f"functional: ran out of its {TEST_TIMEOUT} s budget"
        return FunctionalResult(0.0, False, explanation=why, out_of_time=why)
    if evidence.returncode not in (PYTEST_OK, PYTEST_FAILED) or evidence.junit_xml is None:
        raise HarnessError(
            f"hidden test run broke (exit {evidence.returncode}): {evidence.output_tail[-600:]}"
        )
    cases = [c for c in parse_junit(evidence.junit_xml) if c.outcome != "skipped"]
    if not cases:
        raise HarnessError("hidden test run reported no test cases")
    passed = [c.name for c in cases if c.outcome == "passed"]
    failed = [c for c in cases if c.outcome != "passed"]
    # A report that says "all passed" while pytest exited 1 is not trusted, and vice versa.
    correct = evidence.returncode == PYTEST_OK and not failed
    lines = [f"functional: {len(passed)}/{len(cases)} hidden tests passed"]
    stopped = [c for c in failed if UNRESPONSIVE in c.message]
    out_of_time = ""
    if stopped:
        out_of_time = (
            f"functional: stopped early, {UNRESPONSIVE[len('not run: ') :]}; "
            f"{len(stopped)} tests not run count as failed"
        )
        lines.append(f"  {out_of_time}")
        failed_shown = [c for c in failed if c not in stopped]
    else:
        failed_shown = failed
    for case in failed_shown:
        lines.append(
            f"  FAILED {case.name}: {case.message.splitlines()[0][:200] if case.message else ''}"
        )
    return FunctionalResult(
        fraction=len(passed) / len(cases),
        correct=correct,
        passed=passed,
        failed=failed,
        explanation="\n".join(lines),
        out_of_time=out_of_time,
    )


async def functional_stage(
    runtime: ScoringRuntime, tests_dir: Path, running: RunningSubmission, tool_env: dict[str, str]
) -> FunctionalEvidence:
    """Run the hidden tests; then make sure the submission the harness started is serving."""
    test_env = {
        **tool_env,
        "BASE_URL": running.base_url,
        "APP_SECRET": running.env["APP_SECRET"],
        **{k: v for k, v in running.env.items() if k in ("DATABASE_URL", "REDIS_URL")},
        **running.test_env,
    }
    if "DATABASE_URL" in running.env:
        test_env[ADMIN_DATABASE_ENV] = runtime.admin_database_url(running.env["DATABASE_URL"])
    evidence = await run_functional(runtime, tests_dir, test_env, running, tool_env)
    await running.refresh()
    if evidence.submission_replaced or not running.alive:
        # the later stages score the server the harness started, never one the tests left behind
        await restore_submission(runtime, running, tool_env)
        evidence.restored = True
    return evidence


async def run_functional(
    runtime: ScoringRuntime,
    tests_dir: Path,
    test_env: dict[str, str],
    running: RunningSubmission,
    tool_env: dict[str, str],
) -> FunctionalEvidence:
    """Copy the hidden tests to a private folder and run them against the live server.

    The test kit (`-p backbench.testkit.plugin`) gives them their fixtures; its control channel
    is served by this process, or by the supervisor the runtime wraps pytest in.
    """
    run_dir = runtime.private / f"functional-{uuid.uuid4().hex[:8]}"
    shutil.copytree(tests_dir, run_dir / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    (run_dir / "pytest.ini").write_text(PYTEST_INI)
    openapi = tests_dir.parent / "openapi.yaml"
    if openapi.is_file():
        # the kit checks every response the tests receive against the published contract
        shutil.copyfile(openapi, run_dir / "openapi.yaml")
        test_env = {**test_env, OPENAPI_ENV: str(run_dir / "openapi.yaml")}
    report = run_dir / "junit.xml"
    argv = [
        # schemathesis (the robust stage's fuzzer) registers a pytest plugin: not in this run
        sys.executable, "-I", "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-p", "backbench.testkit.plugin", "-p", "no:schemathesis", "--durations=5",
        "-c", str(run_dir / "pytest.ini"), "--rootdir", str(run_dir),
        "--junitxml", str(report), "-o", "junit_family=xunit2", str(run_dir / "tests"),
    ]  # fmt: skip
    wrapper = await runtime.control_wrapper(running.proc, running.env, run_dir)
    ops: list[str] = []
    replaced = False
    try:
        if wrapper is None:
            async with harness_control(runtime, running, tool_env) as (address, control):
                env = {**test_env, CONTROL_ENV: address}
                result = await runtime.run_tool(argv, env=env, cwd=run_dir, timeout=TEST_TIMEOUT)
            ops = control.log
        else:
            result = await runtime.run_tool(
                wrapper + argv, env=test_env, cwd=run_dir, timeout=TEST_TIMEOUT
            )
            ops, replaced = _supervisor_state(run_dir / CONTROL_STATE)
    except TimeoutError:
        return FunctionalEvidence(
            returncode=None, junit_xml=None, output_tail="timed out", submission_replaced=True
        )
    xml_text = report.read_text() if report.exists() else None
    return FunctionalEvidence(
        returncode=result.returncode,
        junit_xml=xml_text,
        output_tail=(result.stdout + result.stderr)[-4000:],
        control_ops=ops,
        submission_replaced=replaced,
    )


def _supervisor_state(path: Path) -> tuple[list[str], bool]:
    """The operations the supervisor ran, and whether it replaced the submission's process."""
    try:
        state = json.loads(path.read_text())
    except (OSError, ValueError):
        # no state: the supervisor died; assume the worst, so the harness starts it again
        return [], True
    return [str(op) for op in state.get("ops", [])], bool(state.get("replaced", True))
