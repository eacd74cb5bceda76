"""The scenario catalogue: one folder per scenario under tasks/<section>/, read as data."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from backbench.peers import unknown_peers

KNOWN_SERVICES = {"postgres", "redis"}
REQUIRED_KEYS = {"id", "title", "services", "load", "slo", "probes", "mutants"}


class CatalogueError(ValueError):
    """The catalogue or a selection from it is not valid."""


def tasks_dir() -> Path:
    """The `tasks/` folder: $BACKBENCH_TASKS_DIR, else the repository this package lives in."""
    if env := os.environ.get("BACKBENCH_TASKS_DIR"):
        return Path(env).resolve()
    repo = Path(__file__).resolve().parent.parent / "tasks"
    if repo.is_dir():
        return repo
    cwd = Path.cwd() / "tasks"
    if cwd.is_dir():
        return cwd
    raise CatalogueError("cannot find the tasks/ folder: set BACKBENCH_TASKS_DIR")


@dataclass(frozen=True)
class Mutant:
    """A deliberately broken variant of the reference and the check that must catch it."""

    name: str
    catches: dict[str, str]
    patch: Path


@dataclass(frozen=True)
class Scenario:
    """One scenario folder, parsed."""

    id: str
    section: str
    title: str
    folder: Path
    services: list[str]
    load: dict[str, Any]
    slo: dict[str, float]
    probes: list[dict[str, Any]]
    mutants: list[Mutant] = field(default_factory=list)
    peers: list[str] = field(default_factory=list)  # kinds of backbench.peers.PEER_KINDS

    @property
    def prompt_file(self) -> Path:
        return self.folder / "prompt.md"

    @property
    def openapi_file(self) -> Path:
        return self.folder / "openapi.yaml"

    @property
    def tests_dir(self) -> Path:
        return self.folder / "tests"

    @property
    def reference_dir(self) -> Path:
        return self.folder / "reference"

    @property
    def files_dir(self) -> Path:
        return self.folder / "files"


def load_scenario(folder: Path) -> Scenario:
    """Parse `folder/scenario.yaml`; raise CatalogueError naming the folder when it is invalid."""
    meta_file = folder / "scenario.yaml"
    try:
        meta = yaml.safe_load(meta_file.read_text())
    except (OSError, yaml.YAMLError) as ex:
        raise CatalogueError(f"{meta_file}: {ex}") from ex
    if not isinstance(meta, dict):
        raise CatalogueError(f"{meta_file}: not a mapping")
    missing = REQUIRED_KEYS - meta.keys()
    if missing:
        raise CatalogueError(f"{meta_file}: missing keys {sorted(missing)}")
    if meta["id"] != folder.name:
        raise CatalogueError(f"{meta_file}: id {meta['id']!r} differs from folder {folder.name!r}")
    unknown = set(meta["services"]) - KNOWN_SERVICES
    if unknown:
        raise CatalogueError(f"{meta_file}: unknown services {sorted(unknown)}")
    if unknown_peers(list(meta.get("peers") or [])):
        raise CatalogueError(f"{meta_file}: unknown peers {unknown_peers(meta['peers'])}")
    mutants = [
        Mutant(
            name=m["name"],
            catches=dict(m["catches"]),
            patch=folder / "mutants" / f"{m['name']}.patch",
        )
        for m in meta["mutants"] or []
    ]
    return Scenario(
        id=meta["id"],
        section=folder.parent.name,
        title=meta["title"],
        folder=folder,
        services=list(meta["services"]),
        load=dict(meta["load"]),
        slo={k: float(v) for k, v in meta["slo"].items()},
        probes=list(meta["probes"] or []),
        mutants=mutants,
        peers=list(meta.get("peers") or []),
    )


def section_scenarios(section: str, root: Path | None = None) -> list[Scenario]:
    """Every scenario of a section, sorted by id."""
    base = (root or tasks_dir()) / section
    folders = sorted(p.parent for p in base.glob("*/scenario.yaml"))
    return [load_scenario(f) for f in folders]


def all_scenarios(root: Path | None = None) -> list[Scenario]:
    """Every scenario of every section."""
    base = root or tasks_dir()
    return [load_scenario(p.parent) for p in sorted(base.glob("*/*/scenario.yaml"))]


def find_scenario(scenario_id: str, root: Path | None = None) -> Scenario:
    """The scenario with this id, in any section."""
    for scenario in all_scenarios(root):
        if scenario.id == scenario_id:
            return scenario
    raise CatalogueError(f"unknown scenario {scenario_id!r}")


def select(scenarios: list[Scenario], wanted: str | list[str] | None) -> list[Scenario]:
    """Keep the scenarios named in `wanted` (comma-separated or a list); all when None."""
    if wanted is None or wanted == "" or wanted == []:
        return scenarios
    names = [w.strip() for w in wanted.split(",")] if isinstance(wanted, str) else list(wanted)
    known = {s.id for s in scenarios}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise CatalogueError(
            f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        )
    return [s for s in scenarios if s.id in names]
