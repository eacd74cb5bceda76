"""Performance optimization: make slow services fast, measured beside the starting code."""

from backbench.task import task


@task
def performance() -> None:
    """Performance optimization: make slow services fast, measured beside the starting code."""
