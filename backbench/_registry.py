"""Entry point for inspect: registers the `backbench` model provider and the sandboxes."""

from backbench.model import BackbenchModel  # noqa: F401
from backbench.sandbox.local import BackbenchSandbox  # noqa: F401
from backbench.sandbox.namespace import NamespaceSandbox  # noqa: F401
