"""Data processing: imports, background jobs, file handling, streaming and batches."""

from backbench.task import task


@task
def data_processing() -> None:
    """Data processing: imports, background jobs, file handling, streaming and batches."""
