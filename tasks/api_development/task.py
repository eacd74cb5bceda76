"""API development: build an HTTP API from a prose brief and an OpenAPI document."""

from inspect_ai import Task, task

from backbench.task import section_task


@task
def api_development(
    scenarios: str | None = None,
    system_prompt: str | None = None,
    message_limit: int = 150,
    time_limit: int = 3600,
    load_seconds: float = 10.0,
    sandbox: str = "auto",
) -> Task:
    """Build, version, validate and rate-limit HTTP APIs.

    Args:
        scenarios: Comma-separated scenario ids to run (default: all of the section).
        system_prompt: Path of a system prompt file (default: prompts/backend-developer.md).
        message_limit: Most messages the agent may exchange.
        time_limit: Most seconds a sample may take, scoring included.
        load_seconds: Duration of each load test.
        sandbox: auto (docker when an engine answers, else namespace), docker, namespace,
            k8s, or local (no isolation).
    """
    return section_task(
        "api_development",
        scenarios,
        system_prompt,
        message_limit,
        time_limit,
        load_seconds,
        sandbox,
    )
