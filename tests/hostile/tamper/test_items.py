"""Hostile: shadows the hidden test module's name with tests that always pass."""


def test_health_returns_ok() -> None:
    assert True
