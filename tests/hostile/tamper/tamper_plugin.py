"""A pytest plugin that reports every test as passed; the files around it try to load it."""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
