"""The one place backbench reaches into inspect's private modules (tests/test_inspect_internals.py
fails when inspect moves what is used here).

inspect injects its text_editor tool into a sandbox by running this program; the sandbox gives
it a tools folder the agent can write.
"""

from inspect_ai.util._sandbox._cli import SANDBOX_CLI

__all__ = ["SANDBOX_CLI"]
