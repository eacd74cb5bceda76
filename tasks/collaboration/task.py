"""Collaboration: review a change; planted defects found, clean changes left alone."""

from backbench.task import task


@task
def collaboration() -> None:
    """Collaboration: review a change; planted defects found, clean changes left alone."""
