"""Server architecture: stateless instances, graceful shutdown, middleware."""

from backbench.task import task


@task
def architecture() -> None:
    """Server architecture: stateless instances, graceful shutdown, middleware."""
