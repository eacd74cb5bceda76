"""Infrastructure: containers and continuous integration for a given service."""

from backbench.task import task


@task
def infrastructure() -> None:
    """Containerise a service and write its CI: Dockerfile, compose file and workflow."""
