"""Monitoring and logging: health and readiness, metrics, structured logs, alerting."""

from backbench.task import task


@task
def monitoring() -> None:
    """Monitoring and logging: health and readiness, metrics, structured logs, alerting."""
