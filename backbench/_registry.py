"""Entry point for inspect: registers the `backbench` model provider and the sandboxes."""

from backbench.model import BackbenchModel  # noqa: F401
from backbench.namespace import NamespaceSandbox  # noqa: F401
from backbench.sandbox import BackbenchSandbox  # noqa: F401
