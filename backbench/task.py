"""Sections as data: every prompt section's Task comes from one factory.

A section is a folder `tasks/<section>/` of scenario folders; its `task.py` declares it with the
`task` decorator below, applied to an empty function named after the folder:

    @task
    def api_development() -> None:
        \"\"\"Build, version, validate and rate-limit HTTP APIs.\"\"\"

The decorator is called `task` so that inspect's discovery (which looks for `@task` by name)
finds the section in `inspect eval tasks/`. `backbench._registry` registers every section the
same way under the package's name, so `inspect eval backbench/<section>` works from anywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspect_ai import Task
from inspect_ai import task as inspect_task
from inspect_ai.agent import Agent, AgentPrompt, as_solver, react
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.tool import bash, python, text_editor

from backbench._inspect import PrerequisiteError
from backbench.catalogue import (
    CatalogueError,
    Scenario,
    all_scenarios,
    section_scenarios,
    select,
)
from backbench.identity import folder_sha256, text_sha256
from backbench.sandbox.choice import CHOICES, resolve_sandbox
from backbench.scoring.baseline import LOAD_BASELINES
from backbench.scoring.kinds.seed import seed_workspace
from backbench.scoring.scorer import backbench_scorer, parse_stages

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_SYSTEM_PROMPT = PACKAGE_DIR.parent / "prompts" / "backend-developer.md"
CONTRACTS = PACKAGE_DIR / "contracts"
# the runtime contract appended to every prompt: the service's, unless the kind has its own
CONTRACT = CONTRACTS / "service.md"
TOOL_TIMEOUT = 300


class TaskParameterError(PrerequisiteError):
    """A `-T` value that cannot be used: inspect prints the message alone, without a traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(f"backbench: {message}")

    def __str__(self) -> str:
        return str(self.message)


def scenario_prompt(scenario: Scenario) -> str:
    """The task text the agent reads: the scenario, its OpenAPI document, the contract."""
    parts = [f"# Task `{scenario.id}`: {scenario.title}", scenario.prompt_file.read_text().strip()]
    if scenario.openapi_file.exists():
        parts.append(
            "## API specification\n\nThe OpenAPI document is also in your workspace as "
            f"`openapi.yaml`:\n\n```yaml\n{scenario.openapi_file.read_text().strip()}\n```"
        )
    parts.append(contract_text(scenario))
    return "\n\n".join(parts) + "\n"


def contract_text(scenario: Scenario) -> str:
    """How the agent's work is run and scored: its kind's contract (a server kind's is the
    service's), with the note on seed data where the scenario has a seed.py."""
    own = CONTRACTS / f"{scenario.kind}.md"
    text = (own if own.is_file() else CONTRACT).read_text().strip()
    if scenario.seed_file.is_file():
        text += "\n" + (CONTRACTS / "seeded.md").read_text().rstrip()
    return text


def scenario_files(scenario: Scenario) -> dict[str, str]:
    """Files the agent's workspace starts with: the OpenAPI document and files/."""
    files = {}
    if scenario.openapi_file.exists():
        files["openapi.yaml"] = str(scenario.openapi_file)
    if scenario.files_dir.is_dir():
        for path in sorted(scenario.files_dir.rglob("*")):
            if path.is_file():
                files[str(path.relative_to(scenario.files_dir))] = str(path)
    return files


def scenario_sample(scenario: Scenario, prompt_sha256: str) -> Sample:
    """One sample per scenario: its id is the scenario's id."""
    return Sample(
        id=scenario.id,
        input=scenario_prompt(scenario),
        target="",
        files=scenario_files(scenario),
        metadata={
            "section": scenario.section,
            "scenario": scenario.id,
            "services": list(scenario.services),
            "scenario_sha256": folder_sha256(scenario.folder),
            "system_prompt_sha256": prompt_sha256,
        },
    )


def read_system_prompt(path: str | None) -> tuple[Path, str]:
    """The system prompt under test and its file: the shipped one, or the file at `path`."""
    file = Path(path).expanduser() if path else DEFAULT_SYSTEM_PROMPT
    if not file.is_file():
        raise TaskParameterError(
            f"system_prompt: no file at {file} (give -T system_prompt=PATH to a readable file)"
        )
    text = file.read_text(encoding="utf-8", errors="replace")
    if not text.strip():
        raise TaskParameterError(f"system_prompt: {file} is empty")
    return file, text


def backend_agent(system_prompt: str) -> Agent:
    """inspect's react() agent with bash, python and text_editor and a submit step."""
    return react(
        prompt=AgentPrompt(instructions=system_prompt),
        tools=[bash(timeout=TOOL_TIMEOUT), python(timeout=TOOL_TIMEOUT), text_editor()],
    )


def _positive(name: str, value: Any, kind: type) -> Any:
    """`value` as a positive int or float, or a one-line TaskParameterError naming `-T name`."""
    try:
        number = kind(value)
    except (TypeError, ValueError):
        number = None
    if number is None or number <= 0 or isinstance(value, bool):
        raise TaskParameterError(
            f"-T {name}={value!r}: expected a positive {'integer' if kind is int else 'number'}"
        )
    return number


def section_task(
    section: str,
    scenarios: str | list[str] | None = None,
    system_prompt: str | None = None,
    message_limit: int = 150,
    time_limit: int = 3600,
    load_seconds: float = 10.0,
    sandbox: str = "auto",
    robust: bool = True,
    load_baseline: str = "reference",
    stages: str | list[str] = "all",
) -> Task:
    """The Task of one prompt section.

    Args:
        section: The folder of tasks/ that holds the section's scenarios.
        scenarios: Comma-separated scenario ids to run (default: all of the section); ids of
            other sections are passed over, so one list serves several sections' tasks.
        system_prompt: Path of a system prompt file (default: prompts/backend-developer.md).
        message_limit: Most messages the agent may exchange.
        time_limit: Most seconds a sample may take, scoring included.
        load_seconds: Duration of each load test.
        sandbox: auto (docker when inspect can use the engine, else namespace), docker, namespace,
            k8s, or local (no isolation).
        robust: Run the schemathesis fuzzing stage (about 40 s a sample; false: robust is NaN).
        load_baseline: reference (the scenario's reference is loaded beside the submission and
            the SLO is judged as ratios to it) or none (absolute thresholds, half the load time).
        stages: all, or the live stages to run among functional (always), security and load;
            the score keys of the others are NaN (backbench validate scores a mutant this way).
    """
    try:
        chosen = section_choice(section, scenarios)
    except CatalogueError as ex:
        raise TaskParameterError(f"-T scenarios: {ex}") from None
    if not chosen:
        raise TaskParameterError(f"section {section!r} has no scenarios")
    message_limit = _positive("message_limit", message_limit, int)
    time_limit = _positive("time_limit", time_limit, int)
    load_seconds = _positive("load_seconds", load_seconds, float)
    if not isinstance(robust, bool):
        raise TaskParameterError(f"-T robust={robust!r}: expected true or false")
    if load_baseline not in LOAD_BASELINES:
        raise TaskParameterError(
            f"-T load_baseline={load_baseline!r}: expected one of {', '.join(LOAD_BASELINES)}"
        )
    try:
        chosen_stages = parse_stages(stages)
    except (ValueError, AttributeError) as ex:
        raise TaskParameterError(f"-T stages={stages!r}: {ex}") from None
    if sandbox not in CHOICES:
        raise TaskParameterError(f"-T sandbox={sandbox!r}: expected one of {', '.join(CHOICES)}")
    prompt_file, prompt_text = read_system_prompt(system_prompt)
    prompt_sha256 = text_sha256(prompt_text)
    return Task(
        dataset=MemoryDataset([scenario_sample(s, prompt_sha256) for s in chosen], name=section),
        # seed data (a scenario's hidden seed.py) reaches the agent's database before it starts
        solver=[seed_workspace(), as_solver(backend_agent(prompt_text))],
        scorer=backbench_scorer(
            load_seconds=load_seconds,
            robust=robust,
            load_baseline=load_baseline,
            stages=chosen_stages,
        ),
        sandbox=resolve_sandbox(sandbox),
        message_limit=message_limit,
        time_limit=time_limit,
        metadata={
            "section": section,
            "system_prompt_file": prompt_file.name,
            "system_prompt_sha256": prompt_sha256,
            "scenario_sha256": {s.id: folder_sha256(s.folder) for s in chosen},
        },
    )


def section_choice(section: str, wanted: str | list[str] | None) -> list[Scenario]:
    """The section's scenarios named in `wanted` (comma-separated or a list; all when None).

    `wanted` may also name other sections' scenarios, so that one `inspect eval` of several
    sections' tasks takes one list (CI's smoke eval: a scenario of each section, in one run); a
    name no section has, or a list naming none of this section's, is an error.
    """
    scenarios = section_scenarios(section)
    listed = wanted.split(",") if isinstance(wanted, str) else wanted or []
    names = [n.strip() for n in listed if n.strip()]
    own = {s.id for s in scenarios}
    mine = [n for n in names if n in own]
    if names and len(mine) < len(names):
        select(all_scenarios(), [n for n in names if n not in own])  # raises on an unknown one
        if not mine:
            raise CatalogueError(f"none of {', '.join(names)} is in section {section!r}")
    return select(scenarios, mine or None)


SectionTask = Callable[..., Task]


def section_task_function(section: str, module: str, doc: str | None = None) -> SectionTask:
    """The `@task` function of a section, registered with inspect under `section`.

    `module` decides the registry name: a module of this package gives `backbench/<section>`,
    a section's own task.py gives plain `<section>`.
    """

    def run(
        scenarios: str | None = None,
        system_prompt: str | None = None,
        message_limit: int = 150,
        time_limit: int = 3600,
        load_seconds: float = 10.0,
        sandbox: str = "auto",
        robust: bool = True,
        load_baseline: str = "reference",
        stages: str | list[str] = "all",
    ) -> Task:
        return section_task(
            section, scenarios, system_prompt, message_limit, time_limit, load_seconds, sandbox,
            robust, load_baseline, stages,
        )  # fmt: skip

    run.__name__ = run.__qualname__ = section
    run.__module__ = module
    params = (section_task.__doc__ or "").split("Args:", 1)[1]
    params = "\n".join(line for line in params.splitlines() if "section:" not in line)
    run.__doc__ = f"{(doc or section).strip()}\n\n    Args:{params}"
    return inspect_task(name=section)(run)


def task(declaration: Callable[[], None]) -> SectionTask:
    """Declare the section named after the function (its folder), with the shared parameters."""
    return section_task_function(declaration.__name__, declaration.__module__, declaration.__doc__)
