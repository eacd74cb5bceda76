"""Testing: write the tests of a given service, scored by coverage and the mutants they kill."""

from backbench.task import task


@task
def testing() -> None:
    """Write the tests of a given package: coverage and the mutants they kill."""
