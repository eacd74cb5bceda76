"""Functional stage: the hidden pytest suite over HTTP, judged from JUnit XML and the exit code."""

from __future__ import annotations

import shutil
import sys
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

from backbench.runtime import HarnessError, ScoringRuntime
from backbench.scoring.submission import RunningSubmission

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


@dataclass
class FunctionalResult:
    """The functional verdict."""

    fraction: float
    correct: bool
    passed: list[str] = field(default_factory=list)
    failed: list[TestCase] = field(default_factory=list)
    explanation: str = ""


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
        return FunctionalResult(0.0, False, explanation="functional tests timed out")
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
    for case in failed:
        lines.append(
            f"  FAILED {case.name}: {case.message.splitlines()[0][:200] if case.message else ''}"
        )
    return FunctionalResult(
        fraction=len(passed) / len(cases),
        correct=correct,
        passed=passed,
        failed=failed,
        explanation="\n".join(lines),
    )


def functional_env(
    tool_env: dict[str, str], app_secret: str, running: RunningSubmission
) -> dict[str, str]:
    """What the hidden tests see: the server's URL and secret, its database and Redis, peers."""
    services = {k: v for k, v in running.env.items() if k in ("DATABASE_URL", "REDIS_URL")}
    return {
        **tool_env, "BASE_URL": running.base_url, "APP_SECRET": app_secret, **services,
        **running.test_env,
    }  # fmt: skip


async def run_functional(
    runtime: ScoringRuntime, tests_dir: Path, test_env: dict[str, str]
) -> FunctionalEvidence:
    """Copy the hidden tests to a private folder and run them against the live server."""
    run_dir = runtime.private / f"functional-{uuid.uuid4().hex[:8]}"
    shutil.copytree(tests_dir, run_dir / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    (run_dir / "pytest.ini").write_text(PYTEST_INI)
    report = run_dir / "junit.xml"
    argv = [
        sys.executable, "-I", "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "-c", str(run_dir / "pytest.ini"), "--rootdir", str(run_dir),
        "--junitxml", str(report), "-o", "junit_family=xunit2", str(run_dir / "tests"),
    ]  # fmt: skip
    try:
        result = await runtime.run_tool(argv, env=test_env, cwd=run_dir, timeout=TEST_TIMEOUT)
    except TimeoutError:
        return FunctionalEvidence(returncode=None, junit_xml=None, output_tail="timed out")
    xml_text = report.read_text() if report.exists() else None
    return FunctionalEvidence(
        returncode=result.returncode,
        junit_xml=xml_text,
        output_tail=(result.stdout + result.stderr)[-4000:],
    )
