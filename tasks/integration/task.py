"""Integration: third-party services (payments, object storage, identity providers) as peers."""

from backbench.task import task


@task
def integration() -> None:
    """Integration: third-party services (payments, object storage, identity providers) as peers."""
