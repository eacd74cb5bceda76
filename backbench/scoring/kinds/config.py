"""The config kind: a Dockerfile, a compose file and a CI workflow for a given service.

Static checks run the field's own tools (hadolint, check-jsonschema with the Compose
specification's and GitHub's workflow schemas, zizmor) over private copies of the three files,
plus what the prompt asks beyond them (a non-root user, a healthcheck, a pinned base image from
the BASE_IMAGE build argument, actions pinned to commits, a `tests` step). The runtime checks
run the workflow's test step as the submission: it must pass on the agent's workspace
(`ci_passes`) and fail once the scenario's hidden regression replaces part of the service
(`ci_catches`), so a workflow that does not really run the tests is caught.
"""

from __future__ import annotations

import json
import math
import re
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from backbench.catalogue import Scenario
from backbench.runtime import ScoringRuntime
from backbench.sandbox.paths import remove_path
from backbench.schema import ConfigDeliverable
from backbench.scoring.kinds import KindVerdict
from backbench.scoring.kinds.workspace_runs import (
    WorkspaceRun,
    overlay,
    read_workspace_file,
    run_in_workspace,
    snapshot,
)

MAX_FILE_BYTES = 256 * 1024
TOOL_TIMEOUT = 60
STEP_FILE = ".backbench-ci-step.sh"
PINNED_SHA = re.compile(r"@[0-9a-f]{40}$")
ROOT_USERS = {"root", "0", "0:0", "root:root"}
CHECKS = ("dockerfile", "compose", "workflow", "ci_passes", "ci_catches")


@dataclass
class ConfigEvidence:
    """The agent's three files (None: missing), the tools' findings and the CI step's runs."""

    dockerfile: str | None
    compose: str | None
    workflow: str | None
    hadolint_errors: list[str] = field(default_factory=list)
    compose_schema_errors: str = ""
    workflow_schema_errors: str = ""
    zizmor_high: list[str] = field(default_factory=list)
    ci_on_submission: WorkspaceRun | None = None  # None: no test step to run
    ci_on_regression: WorkspaceRun | None = None


def read_capped(workspace: Path, name: str) -> str | None:
    """A workspace file's text, never through a link the agent made, at most 256 KiB."""
    return read_workspace_file(workspace, name, MAX_FILE_BYTES)


# -- what the prompt asks beyond the tools (pure) ----------------------------------------------


def final_stage(dockerfile: str) -> list[tuple[str, str]]:
    """The (instruction, arguments) of the Dockerfile's last stage, continuation lines joined."""
    joined = re.sub(r"\\\n", " ", dockerfile)
    lines = [
        ln.strip() for ln in joined.splitlines() if ln.strip() and not ln.strip().startswith("#")
    ]
    instructions = [(ln.split(None, 1)[0].upper(), (ln.split(None, 1) + [""])[1]) for ln in lines]
    starts = [i for i, (op, _) in enumerate(instructions) if op == "FROM"]
    return instructions[starts[-1] :] if starts else []


FROM_LINE = re.compile(r"^FROM(?:\s+--platform=\S+)?\s+(\S+)(?:\s+AS\s+(\S+))?", re.IGNORECASE)
BASE_ARG = re.compile(r"^\s*ARG\s+BASE_IMAGE=(\S+)", re.MULTILINE | re.IGNORECASE)


def dockerfile_problems(dockerfile: str) -> list[str]:
    """What the Dockerfile lacks: every stage from BASE_IMAGE (declared, with a pinned default,
    before the first FROM) or an earlier stage, a non-root final user, a healthcheck."""
    problems = []
    stage = final_stage(dockerfile)
    users = [arg.split()[0].split(":")[0] for op, arg in stage if op == "USER" and arg]
    if not users or users[-1] in ROOT_USERS:
        problems.append("the final stage runs as root (no USER, or USER root)")
    if not any(op == "HEALTHCHECK" and not arg.upper().startswith("NONE") for op, arg in stage):
        problems.append("no HEALTHCHECK in the final stage")
    first_from = re.search(r"^\s*FROM\s", dockerfile, re.MULTILINE | re.IGNORECASE)
    base = BASE_ARG.search(dockerfile)
    if not base or (first_from and base.start() > first_from.start()):
        problems.append("no ARG BASE_IMAGE=<image>:<tag> before the first FROM")
    else:
        image = base.group(1).strip("\"'")
        tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
        if "@sha256:" not in image and (not tag or tag == "latest"):
            problems.append(f"the base image {image} is not pinned to a version")
    stages: set[str] = set()
    for line in (ln.strip() for ln in re.sub(r"\\\n", " ", dockerfile).splitlines()):
        found = FROM_LINE.match(line)
        if not found:
            continue
        source, name = found.group(1), found.group(2)
        if source.strip("{}$").upper() != "BASE_IMAGE" and source.lower() not in stages:
            problems.append(f"FROM {source}: every stage must start from ${{BASE_IMAGE}} or an "
                            "earlier stage (no registry is reachable)")  # fmt: skip
        if name:
            stages.add(name.lower())
    return problems


def _postgres_image(spec: Any) -> bool:
    image = str(spec.get("image", "")) if isinstance(spec, dict) else ""
    return (
        image.rsplit("/", 1)[-1].startswith("postgres:") or image.rsplit("/", 1)[-1] == "postgres"
    )


def compose_problems(compose: dict[str, Any], dockerfile: str | None = None) -> list[str]:
    """What the compose file lacks: the app built from . with a healthcheck (its own, or the
    Dockerfile's not turned off), a postgres service with one, the app waiting for it."""
    services = compose.get("services") or {}
    if not isinstance(services, dict):
        return ["services is not a mapping"]
    problems = []

    def builds_here(spec: Any) -> bool:
        build = spec.get("build") if isinstance(spec, dict) else None
        context = build.get("context") if isinstance(build, dict) else build
        return str(context).rstrip("/") in (".", "./")

    apps = [n for n, s in services.items() if builds_here(s)]
    databases = [n for n, s in services.items() if _postgres_image(s)]
    if not apps:
        problems.append("no service builds from .")
    if not databases:
        problems.append("no postgres service")
    for name in apps:
        depends = services[name].get("depends_on") or {}
        healthy = isinstance(depends, dict) and any(
            isinstance(v, dict) and v.get("condition") == "service_healthy"
            for k, v in depends.items() if k in databases
        )  # fmt: skip
        if not healthy:
            problems.append(f"{name} does not wait for the database (condition: service_healthy)")
    for name in databases:
        if not isinstance(services[name], dict) or "healthcheck" not in services[name]:
            problems.append(f"{name} has no healthcheck")
    image_has_one = dockerfile is not None and not any(
        p.startswith("no HEALTHCHECK") for p in dockerfile_problems(dockerfile)
    )
    for name in apps:
        check = services[name].get("healthcheck")
        disabled = isinstance(check, dict) and (
            check.get("disable") is True or check.get("test") in (["NONE"], "NONE")
        )
        if disabled or (check is None and not image_has_one):
            problems.append(f"{name} has no healthcheck (its own or the image's)")
    return problems


def workflow_problems(workflow: dict[str, Any], step_id: str) -> list[str]:
    """What the workflow lacks: push and pull_request triggers, pinned actions, the test step."""
    # YAML 1.1 reads the key `on` as True
    loose: dict[Any, Any] = workflow
    triggers = loose.get("on", loose.get(True))
    names = set(triggers) if isinstance(triggers, dict | list) else {triggers}
    problems = []
    if not {"push", "pull_request"} <= names:
        problems.append("does not run on both push and pull_request")
    jobs = [j for j in (workflow.get("jobs") or {}).values() if isinstance(j, dict)]
    steps = [s for job in jobs for s in job.get("steps") or [] if isinstance(s, dict)]
    # steps' actions and jobs' reusable workflows alike
    uses = [str(x["uses"]) for x in [*steps, *jobs] if "uses" in x]
    unpinned = [u for u in uses if not _pinned(u)]
    if unpinned:
        problems.append(f"actions not pinned to a commit: {', '.join(unpinned)}")
    with_id = [s for s in steps if s.get("id") == step_id]
    if len(with_id) != 1 or not isinstance(with_id[0].get("run"), str):
        problems.append(f"not exactly one step with id {step_id} and a run script")
    return problems


def _pinned(uses: str) -> bool:
    """A local action, an image by digest, or an action or workflow at a 40-hex commit."""
    if uses.startswith("./"):
        return True
    if uses.startswith("docker://"):
        return "@sha256:" in uses
    return bool(PINNED_SHA.search(uses))


def test_step(workflow: dict[str, Any], step_id: str) -> str | None:
    """The `run:` script of the step whose id is `step_id`, or None."""
    for job in (workflow.get("jobs") or {}).values():
        for step in (job.get("steps") or []) if isinstance(job, dict) else []:
            if (
                isinstance(step, dict)
                and step.get("id") == step_id
                and isinstance(step.get("run"), str)
            ):
                return str(step["run"])
    return None


def load_yaml(text: str | None) -> dict[str, Any] | None:
    """A YAML file's mapping, or None when there is no file or it is not a mapping."""
    try:
        data = yaml.safe_load(text) if text is not None else None
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


# -- the verdict (pure) ------------------------------------------------------------------------


def config_verdict(evidence: ConfigEvidence, deliverable: ConfigDeliverable) -> KindVerdict:
    """Each check's 0 or 1, from the files, the tools' findings and the CI step's runs."""
    found: dict[str, list[str]] = {name: [] for name in CHECKS}
    if evidence.dockerfile is None:
        found["dockerfile"].append(f"no {deliverable.dockerfile}")
    else:
        found["dockerfile"] += [f"hadolint: {e}" for e in evidence.hadolint_errors]
        found["dockerfile"] += dockerfile_problems(evidence.dockerfile)
    compose = load_yaml(evidence.compose)
    if compose is None:
        found["compose"].append(f"no {deliverable.compose}, or not a YAML mapping")
    else:
        if evidence.compose_schema_errors:
            found["compose"].append(f"schema: {evidence.compose_schema_errors}")
        found["compose"] += compose_problems(compose, evidence.dockerfile)
    workflow = load_yaml(evidence.workflow)
    if workflow is None:
        found["workflow"].append(f"no {deliverable.workflow}, or not a YAML mapping")
    else:
        if evidence.workflow_schema_errors:
            found["workflow"].append(f"schema: {evidence.workflow_schema_errors}")
        found["workflow"] += [f"zizmor: {z}" for z in evidence.zizmor_high]
        found["workflow"] += workflow_problems(workflow, deliverable.test_step)
    passes, catches = evidence.ci_on_submission, evidence.ci_on_regression
    if passes is None:
        found["ci_passes"].append(f"no step with id {deliverable.test_step} to run")
    elif passes.returncode != 0:
        found["ci_passes"].append(f"the test step exited {passes.returncode} on the submission")
    # a step that fails on correct code tells nothing about whether it catches a regression
    unjudged = ["ci_catches"] if passes is None or passes.returncode != 0 else []
    if not unjudged and (catches is None or catches.returncode == 0):
        found["ci_catches"].append("the test step passed on the planted regression")
    values = {name: float(not problems) for name, problems in found.items()}
    values.update({name: math.nan for name in unjudged})
    passing = sum(1 for name in CHECKS if values[name] == 1)
    lines = [f"config: {passing}/{len(CHECKS)} checks pass"]
    lines += [f"  {name}: {'; '.join(p)[:300]}" for name, p in found.items() if p]
    lines += [f"  {name}: not judged, the test step does not pass" for name in unjudged]
    failed = [n for n in CHECKS if values[n] == 0]
    return KindVerdict(values, failed, "\n".join(lines), unjudged)


# -- gathering the evidence --------------------------------------------------------------------


async def gather(runtime: ScoringRuntime, scenario: Scenario) -> ConfigEvidence:
    """Run the tools over copies of the three files, then the test step twice."""
    deliverable = scenario.deliverable
    assert isinstance(deliverable, ConfigDeliverable)
    texts = [read_capped(runtime.workspace, name) for name in
             (deliverable.dockerfile, deliverable.compose, deliverable.workflow)]  # fmt: skip
    evidence = ConfigEvidence(texts[0], texts[1], texts[2])
    with tempfile.TemporaryDirectory(prefix="backbench-config-") as tmp:
        folder = Path(tmp)
        names = ("Dockerfile", "compose.yaml", "workflow.yml")
        for name, text in zip(names, texts, strict=True):
            if text is not None:
                (folder / name).write_text(text)
        if evidence.dockerfile is not None:
            evidence.hadolint_errors = await _hadolint(runtime, folder)
        if evidence.compose is not None:
            evidence.compose_schema_errors = await _schema(runtime, folder, "compose.yaml",
                                                           "vendor.compose-spec")  # fmt: skip
        if evidence.workflow is not None:
            evidence.workflow_schema_errors = await _schema(runtime, folder, "workflow.yml",
                                                            "vendor.github-workflows")  # fmt: skip
            evidence.zizmor_high = await _zizmor(runtime, folder)
    workflow = load_yaml(evidence.workflow)
    script = test_step(workflow, deliverable.test_step) if workflow else None
    if script is not None:
        evidence.ci_on_submission, evidence.ci_on_regression = await _ci_runs(
            runtime, scenario, script
        )
    return evidence


def _tool(name: str) -> str:
    return str(Path(sys.executable).parent / name)


async def _hadolint(runtime: ScoringRuntime, folder: Path) -> list[str]:
    result = await runtime.run_static(
        [_tool("hadolint"), "--no-color", "-f", "json", "Dockerfile"], env={}, cwd=folder,
        timeout=TOOL_TIMEOUT,
    )  # fmt: skip
    try:
        findings = json.loads(result.stdout or "[]")
    except ValueError:
        return [f"could not lint: {(result.stdout + result.stderr)[-200:]}"]
    return [f"{f.get('code')} line {f.get('line')}: {f.get('message')}" for f in findings
            if f.get("level") == "error"]  # fmt: skip


async def _schema(runtime: ScoringRuntime, folder: Path, file: str, schema: str) -> str:
    result = await runtime.run_static(
        [_tool("check-jsonschema"), "--builtin-schema", schema, "-o", "text", file], env={},
        cwd=folder, timeout=TOOL_TIMEOUT,
    )  # fmt: skip
    if result.returncode == 0:
        return ""
    return " ".join((result.stdout + result.stderr).split())[-300:] or f"exit {result.returncode}"


async def _zizmor(runtime: ScoringRuntime, folder: Path) -> list[str]:
    result = await runtime.run_static(
        # an ignore comment or a config file of the agent's never hides a finding
        [_tool("zizmor"), "--offline", "--no-progress", "--no-config", "--no-ignores",
         "--format", "json", "workflow.yml"],
        env={}, cwd=folder, timeout=TOOL_TIMEOUT,
    )  # fmt: skip
    try:
        findings = json.loads(result.stdout or "[]")
    except ValueError:
        return [f"could not audit: {(result.stdout + result.stderr)[-200:]}"]
    return [
        str(f.get("ident"))
        for f in findings
        # with --no-ignores zizmor still marks an ignore comment's finding "ignored": not here
        if f.get("determinations", {}).get("severity") == "High"
    ]


async def _ci_runs(
    runtime: ScoringRuntime, scenario: Scenario, script: str
) -> tuple[WorkspaceRun, WorkspaceRun]:
    """The test step on the submission, then on the submission with the regression planted."""
    with tempfile.TemporaryDirectory(prefix="backbench-ci-") as tmp:
        base = snapshot(runtime.workspace, Path(tmp) / "submitted")
        runs = []
        for planted in (False, True):
            tree = snapshot(base, Path(tmp) / f"run-{int(planted)}")
            if planted:
                overlay(tree, scenario.folder / "regression")
            overlay_step(tree, script)
            env = {**await runtime.submission_env(), "CI": "true"}
            runs.append(
                await run_in_workspace(runtime, tree, ["bash", "-e", STEP_FILE], env, "ci-step")
            )
        await runtime.replace_workspace(base)
    return runs[0], runs[1]


def overlay_step(tree: Path, script: str) -> None:
    """Write the step's script where the run finds it (the harness's file, not the agent's)."""
    remove_path(tree / STEP_FILE)
    (tree / STEP_FILE).write_text(script)
