"""The hidden tests' conftest: the peers fixture (copied as tests/conftest.py)."""

pytest_plugins = ["backbench.testkit.peers"]
