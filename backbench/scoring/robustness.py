"""Robust stage: a bounded, seeded schemathesis run against the live server and its contract.

Schemathesis generates requests from the scenario's `openapi.yaml` (valid and invalid ones, a
fixed number per operation, from a fixed seed) and checks every answer: no 5xx, a documented
status, a documented content type, a body that conforms to the schema, and no invalid request
accepted. The verdict is the share of operations with no failure. It is kept out of `correct`,
which judges the prompt's stated rules only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backbench.contract import ContractValidator
from backbench.runtime import HarnessError, ScoringRuntime

HOOKS = Path(__file__).with_name("robust_hooks.py")
SEED = 20240601
MAX_EXAMPLES = 20  # per operation and phase
REQUEST_TIMEOUT = 5.0
STAGE_TIMEOUT = 150.0  # a loaded machine needs up to ~45 s; stopping early costs operations
PHASES = "examples,coverage,fuzzing"  # not stateful: its length depends on the API's links
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
)
# Header parameters that name the calling client: a fresh value per request keeps a per-client
# rate limit from turning the whole run into 429s (the scenario's own tests check the limit).
UNIQUE_HEADERS = ("X-Client-Id",)
# schemathesis exits 0 when every check passed and 1 when one failed; other codes are its own
# errors (an unreadable document, a bad option)
ST_OK, ST_FAILED = 0, 1
KEPT_PER_OPERATION = 3
EXCERPT = 160


@dataclass
class Failure:
    """One failed check, with a minimal reproduction of the request."""

    check: str
    method: str
    path: str  # path and query string as sent
    body: str  # excerpt of the request body
    status: int | None  # None: no answer
    message: str = ""


@dataclass
class OperationEvidence:
    """What the run did to one operation."""

    label: str  # "POST /v1/items"
    examples: int = 0
    failures: int = 0
    kept: list[Failure] = field(default_factory=list)  # the first few, as reproductions
    # which requests were generated (method, path and query, body; not the headers the hooks
    # make unique): equal digests, equal cases
    cases_sha256: str = ""


@dataclass
class RobustEvidence:
    """The robust stage's observations, one entry per documented operation."""

    operations: list[OperationEvidence]
    timed_out: bool = False
    seconds: float = 0.0

    @property
    def cases_sha256(self) -> str:
        """One digest of every operation's cases: the same contract, server and data give the
        same value on every run."""
        joined = "\n".join(f"{op.label} {op.cases_sha256}" for op in self.operations)
        return hashlib.sha256(joined.encode()).hexdigest()


def robust_verdict(evidence: RobustEvidence) -> tuple[float, str]:
    """Share of operations with no failed check, and which operations failed how."""
    if not evidence.operations:
        raise HarnessError("robust stage: the document has no operation")
    failed = [op for op in evidence.operations if op.failures or op.examples == 0]
    share = round(1 - len(failed) / len(evidence.operations), 4)
    sent = sum(op.examples for op in evidence.operations)
    lines = [
        f"robust: {len(evidence.operations) - len(failed)}/{len(evidence.operations)} operations "
        f"answered {sent} generated requests with no 5xx and only conforming responses"
        + (" (stopped at the time limit)" if evidence.timed_out else "")
    ]
    for op in failed:
        if op.examples == 0:
            lines.append(f"  {op.label}: not tested (no answer, or the time limit came first)")
            continue
        first = op.kept[0] if op.kept else None
        detail = f"; e.g. {_describe(first)}" if first else ""
        lines.append(f"  {op.label}: {op.failures} of {op.examples} requests failed{detail}")
    return share, "\n".join(lines)


def _describe(failure: Failure) -> str:
    status = "no answer" if failure.status is None else str(failure.status)
    body = f" body {failure.body}" if failure.body else ""
    why = f" ({failure.message.splitlines()[0][:120]})" if failure.message else ""
    return f"{failure.check}: {failure.method} {failure.path}{body} -> {status}{why}"


def parse_events(lines: list[str], labels: list[str]) -> dict[str, OperationEvidence]:
    """Per-operation evidence from schemathesis's NDJSON event stream."""
    found = {label: OperationEvidence(label) for label in labels}
    cases: dict[str, list[str]] = {label: [] for label in labels}
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue  # a line cut short when the run was stopped at the time limit
        if "FatalError" in event:
            raise HarnessError(f"schemathesis failed: {str(event['FatalError'])[:600]}")
        if "NonFatalError" in event:
            _add_error(found, event["NonFatalError"])
        elif "ScenarioFinished" in event:
            recorder = event["ScenarioFinished"].get("recorder") or {}
            _add_scenario(found, recorder)
            cases.setdefault(str(recorder.get("label", "?")), []).extend(_cases(recorder))
    for label, sent in cases.items():
        digest = hashlib.sha256("\n".join(sorted(sent)).encode()).hexdigest()
        found[label].cases_sha256 = digest if sent else ""
    return found


def _cases(recorder: dict[str, Any]) -> list[str]:
    """Each request of a scenario as one line: method, path and query, body."""
    lines = []
    for interaction in (recorder.get("interactions") or {}).values():
        request = interaction.get("request") or {}
        path = str(request.get("uri", "")).split("://", 1)[-1].partition("/")[2]
        body = json.dumps(request.get("body"), sort_keys=True)
        lines.append(f"{request.get('method', '?')} /{path} {body}")
    return lines


def _add_scenario(found: dict[str, OperationEvidence], recorder: dict[str, Any]) -> None:
    label = str(recorder.get("label", "?"))
    op = found.setdefault(label, OperationEvidence(label))
    interactions = recorder.get("interactions") or {}
    op.examples += len(interactions)
    for case_id, checks in (recorder.get("checks") or {}).items():
        failed = [check for check in checks if check.get("status") == "failure"]
        if not failed:
            continue
        op.failures += 1  # requests, not checks: one 500 fails two checks
        if len(op.kept) < KEPT_PER_OPERATION:
            info = (failed[0].get("failure_info") or {}).get("failure") or {}
            op.kept.append(
                _failure(
                    ",".join(str(c.get("name")) for c in failed),
                    interactions.get(case_id) or {},
                    info,
                )
            )


def _add_error(found: dict[str, OperationEvidence], error: dict[str, Any]) -> None:
    # an error tied to an operation is the server's (no answer, a timeout); others are ours
    label = str(error.get("label", ""))
    if label not in found or not error.get("related_to_operation", True):
        raise HarnessError(f"schemathesis error: {str(error.get('value'))[:600]}")
    op = found[label]
    op.failures += 1
    method, _, path = label.partition(" ")
    if len(op.kept) < KEPT_PER_OPERATION:
        op.kept.append(Failure("error", method, path, "", None, str(error.get("value"))[:300]))


def _failure(check: str, interaction: dict[str, Any], info: dict[str, Any]) -> Failure:
    request = interaction.get("request") or {}
    response = interaction.get("response") or {}
    uri = str(request.get("uri", ""))
    path = uri.split("://", 1)[-1].partition("/")[2]
    return Failure(
        check=check,
        method=str(request.get("method", "?")),
        path="/" + path,
        body=_excerpt(request.get("body")),
        status=response.get("status_code"),
        message=": ".join(str(info[k]) for k in ("title", "message") if info.get(k)),
    )


def _excerpt(body: Any) -> str:
    if isinstance(body, dict) and "$base64" in body:
        raw = base64.b64decode(body["$base64"])
        text = raw.decode("utf-8", errors="backslashreplace")
    elif body is None:
        return ""
    else:
        text = body if isinstance(body, str) else json.dumps(body)
    return text if len(text) <= EXCERPT else text[: EXCERPT - 3] + "..."


def schemathesis_argv(document: Path, base_url: str, report: Path) -> list[str]:
    """The seeded, bounded schemathesis command line."""
    return [
        sys.executable, "-I", "-m", "schemathesis.cli", "run", str(document),
        "--url", base_url, "--seed", str(SEED), "--max-examples", str(MAX_EXAMPLES),
        "--phases", PHASES, "--checks", ",".join(CHECKS), "--workers", "1",
        "--request-timeout", str(REQUEST_TIMEOUT), "--request-retries", "0",
        "--continue-on-failure", "--generation-database", "none",
        "--report", "ndjson", "--report-ndjson-path", str(report), "--no-color",
        "--suppress-health-check", "all",
    ]  # fmt: skip


async def run_robust(
    runtime: ScoringRuntime, base_url: str, openapi_file: Path, tool_env: dict[str, str],
    jwt: dict[str, Any] | None = None,
) -> RobustEvidence:  # fmt: skip
    """Fuzz the live server from the scenario's document; return per-operation evidence. With
    `jwt` (the scenario's probes.jwt) every request carries a fresh token of it, not the secret."""
    run_dir = runtime.private / f"robust-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir(parents=True)
    document = run_dir / "openapi.yaml"
    shutil.copyfile(openapi_file, document)
    shutil.copyfile(HOOKS, run_dir / "robust_hooks.py")
    # found before any other: no configuration file near the run takes part
    (run_dir / "schemathesis.toml").write_text("")
    report = run_dir / "events.ndjson"
    env = {
        **tool_env,
        "APP_SECRET": runtime.app_secret,
        "SCHEMATHESIS_HOOKS": str(run_dir / "robust_hooks.py"),
        "BACKBENCH_UNIQUE_HEADERS": ",".join(UNIQUE_HEADERS),
        "HOME": str(run_dir),
        **({"BACKBENCH_JWT": json.dumps(jwt)} if jwt else {}),
    }
    labels = [op.label for op in ContractValidator.from_file(openapi_file).operations()]
    argv = schemathesis_argv(document, base_url, report)
    timed_out, start = False, time.monotonic()
    try:
        result = await runtime.run_tool(argv, env=env, cwd=run_dir, timeout=STAGE_TIMEOUT)
    except TimeoutError:
        timed_out = True
    else:
        if result.returncode not in (ST_OK, ST_FAILED) or not report.exists():
            raise HarnessError(
                f"schemathesis broke (exit {result.returncode}): "
                f"{(result.stdout + result.stderr)[-600:]}"
            )
    lines = report.read_text(errors="replace").splitlines() if report.exists() else []
    found = parse_events(lines, labels)
    seconds = round(time.monotonic() - start, 2)
    return RobustEvidence([found[label] for label in labels], timed_out, seconds)
