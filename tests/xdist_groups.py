"""The suite on two pytest-xdist workers (pyproject's addopts): which tests share a worker, and
which are handed out first. A plugin of tests/conftest.py.

A group's tests run on one worker, one after another:
- the tests of a module that use one of its module-scoped fixtures (a whole `inspect eval` run,
  a live peers process): set up once per worker that runs one of them, it is set up once;
- the tests marked `xdist_group(name)`: the hostile campaign's, so that its leftover check and
  its tampering tests run beside its evals.

The longest work is handed out first, so that it runs beside the short tests instead of after
them, where one worker would wait for the other: the end-to-end tests (marked `slow`, minutes),
then those on an event loop (marked `anyio`: live sandboxes, services and scorings, seconds),
then the rest (mostly pure, milliseconds), which fill the gaps at the end.

xdist's own `--dist loadgroup` tells groups apart by a suffix it writes into each test's node id,
which pytest 9.2 no longer lets a plugin change (pytest-xdist 3.8.0 groups nothing there). Here
each worker writes the groups it collected to a file the controller named, and the controller's
scheduler, xdist's loadgroup one, reads them.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest
from xdist.scheduler import LoadGroupScheduling

# the key of the worker's input that names the file it writes its groups to
GROUPS_FILE = "backbench_groups_file"
_groups_folder = pytest.StashKey[Path]()


def group_of(item: pytest.Item) -> str | None:
    """The name of the group `item` belongs to, or None."""
    mark = item.get_closest_marker("xdist_group")
    if mark is not None:
        return str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
    if _uses_module_fixture(item):
        return f"module {item.nodeid.split('::')[0]}"
    return None


def _uses_module_fixture(item: pytest.Item) -> bool:
    info = getattr(item, "_fixtureinfo", None)  # pytest's record of the item's fixtures
    if info is None:
        return False
    return any(d.scope == "module" for defs in info.name2fixturedefs.values() for d in defs)


def handed_out(item: pytest.Item) -> int:
    """When `item` is handed out: the longest kinds of test first (see the module's doc)."""
    if item.get_closest_marker("slow"):
        return 0
    return 1 if item.get_closest_marker("anyio") else 2


# -- on each worker, and in a run without workers -------------------------------------------


@pytest.hookimpl(trylast=True)  # after every plugin that deselects tests
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    items.sort(key=handed_out)  # stable: collection order within each kind
    target = getattr(config, "workerinput", {}).get(GROUPS_FILE)
    if target:
        groups = {item.nodeid: group for item in items if (group := group_of(item))}
        Path(target).write_text(json.dumps(groups))


# -- on the controller ------------------------------------------------------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Name the file worker `node` writes its groups to."""
    config: pytest.Config = node.config
    if _groups_folder not in config.stash:
        config.stash[_groups_folder] = Path(tempfile.mkdtemp(prefix="backbench-xdist-"))
    node.workerinput[GROUPS_FILE] = str(config.stash[_groups_folder] / f"{node.gateway.id}.json")


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None  # another --dist asked for on the command line: xdist's own
    return GroupScheduling(config, log)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _groups_folder in config.stash:
        shutil.rmtree(config.stash[_groups_folder], ignore_errors=True)


class GroupScheduling(LoadGroupScheduling):  # type: ignore[misc]
    """xdist's loadgroup scheduling, with the groups the workers wrote (see the module's doc).

    Each group is one work unit; every other test is a unit of its own. With pyproject's
    `--no-loadscope-reorder`, units are handed out in the workers' collection order.
    """

    _groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:
            # every worker collected the same tests (xdist checks it): the first file will do
            first = min(self.config.stash[_groups_folder].glob("*.json"))
            self._groups = json.loads(first.read_text())
        return self._groups.get(nodeid) or str(super()._split_scope(nodeid))
