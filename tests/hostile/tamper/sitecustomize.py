"""Hostile: if Python imports this at start-up, pytest loads the passing plugin."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ["PYTEST_PLUGINS"] = "tamper_plugin"
os.environ["PYTEST_ADDOPTS"] = "-p tamper_plugin"
