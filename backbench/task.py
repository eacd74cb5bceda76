"""Builds the inspect Task of one prompt section from its scenario folders."""

from __future__ import annotations

from pathlib import Path

from inspect_ai import Task
from inspect_ai.agent import Agent, AgentPrompt, react
from inspect_ai.dataset import MemoryDataset, Sample
from inspect_ai.tool import bash, python, text_editor

from backbench.catalogue import Scenario, section_scenarios, select
from backbench.sandbox.choice import resolve_sandbox
from backbench.scoring.scorer import backbench_scorer

PACKAGE_DIR = Path(__file__).resolve().parent
DEFAULT_SYSTEM_PROMPT = PACKAGE_DIR.parent / "prompts" / "backend-developer.md"
CONTRACT = PACKAGE_DIR / "contract.md"
TOOL_TIMEOUT = 300


def scenario_prompt(scenario: Scenario) -> str:
    """The task text the agent reads: the scenario, its OpenAPI document, the contract."""
    parts = [f"# Task `{scenario.id}`: {scenario.title}", scenario.prompt_file.read_text().strip()]
    if scenario.openapi_file.exists():
        parts.append(
            "## API specification\n\nThe OpenAPI document is also in your workspace as "
            f"`openapi.yaml`:\n\n```yaml\n{scenario.openapi_file.read_text().strip()}\n```"
        )
    parts.append(CONTRACT.read_text().strip())
    return "\n\n".join(parts) + "\n"


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


def scenario_sample(scenario: Scenario) -> Sample:
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
        },
    )


def read_system_prompt(path: str | None) -> str:
    """The system prompt under test: the shipped one, or the file at `path`."""
    file = Path(path).expanduser() if path else DEFAULT_SYSTEM_PROMPT
    if not file.is_file():
        raise FileNotFoundError(f"system prompt file not found: {file}")
    return file.read_text()


def backend_agent(system_prompt: str) -> Agent:
    """inspect's react() agent with bash, python and text_editor and a submit step."""
    return react(
        prompt=AgentPrompt(instructions=system_prompt),
        tools=[bash(timeout=TOOL_TIMEOUT), python(timeout=TOOL_TIMEOUT), text_editor()],
    )


def section_task(
    section: str,
    scenarios: str | list[str] | None = None,
    system_prompt: str | None = None,
    message_limit: int = 150,
    time_limit: int = 3600,
    load_seconds: float = 10.0,
    sandbox: str = "auto",
) -> Task:
    """The Task for one prompt section (see tasks/<section>/task.py for the parameters)."""
    chosen = select(section_scenarios(section), scenarios)
    if not chosen:
        raise ValueError(f"section {section!r} has no scenarios")
    if load_seconds <= 0:
        raise ValueError(f"load_seconds must be positive, got {load_seconds}")
    return Task(
        dataset=MemoryDataset([scenario_sample(s) for s in chosen], name=section),
        solver=backend_agent(read_system_prompt(system_prompt)),
        scorer=backbench_scorer(load_seconds=float(load_seconds)),
        sandbox=resolve_sandbox(sandbox),
        message_limit=message_limit,
        time_limit=time_limit,
        metadata={"section": section},
    )
