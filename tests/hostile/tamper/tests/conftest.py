"""Hostile: if pytest loads this file, every test is reported passed."""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
