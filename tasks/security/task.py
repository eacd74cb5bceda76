"""Security implementation: authentication, authorization, token checks, hostile input."""

from backbench.task import task


@task
def security() -> None:
    """Security implementation: authentication, authorization, token checks, hostile input."""
