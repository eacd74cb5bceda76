"""YAML of the project's own files (scenario.yaml, openapi.yaml), parsed by libyaml where PyYAML
was built with it: about ten times faster than the pure-Python parser, which spent about 1.4 s of
every `inspect eval`'s start-up reading the section's scenarios and contracts. Both loaders are
the safe one; only the parser differs."""

from typing import Any

import yaml

_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """The document in `text`, as yaml.safe_load gives it."""
    return yaml.load(text, Loader=_LOADER)  # noqa: S506 - a safe loader, libyaml's or PyYAML's
