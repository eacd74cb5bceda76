"""Entry point for inspect: the `backbench` model provider, the sandboxes, and every section's
task as `backbench/<section>`."""

from backbench._inspect import patch_absolute_task_paths
from backbench.catalogue import section_names
from backbench.model import BackbenchModel  # noqa: F401
from backbench.sandbox.local import BackbenchSandbox  # noqa: F401
from backbench.sandbox.namespace import NamespaceSandbox  # noqa: F401
from backbench.task import section_task_function

patch_absolute_task_paths()
for _section in section_names():
    globals()[_section] = section_task_function(_section, __name__)
