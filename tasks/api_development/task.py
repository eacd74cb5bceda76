"""API development: build an HTTP API from a prose brief and an OpenAPI document."""

from backbench.task import task


@task
def api_development() -> None:
    """Build, version, validate and rate-limit HTTP APIs."""
