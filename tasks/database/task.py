"""Database management: schemas, migrations on live data, integrity, caching, backups."""

from backbench.task import task


@task
def database() -> None:
    """Database management: schemas, migrations on live data, integrity, caching, backups."""
