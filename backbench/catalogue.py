"""The scenario catalogue: one folder per scenario under tasks/<section>/, read as data."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from backbench import _yaml
from backbench.registry import DELIVERABLE_KINDS, SERVICES, DeliverableKind
from backbench.schema import (
    Deliverable,
    EquivalentMutant,
    Rule,
    ScenarioFile,
    ServiceDeliverable,
    field_errors,
)
from backbench.scoring.attack_surface import probe_plan

KNOWN_SERVICES = frozenset(SERVICES)
REQUIRED_KEYS = frozenset(
    (f.alias or name) for name, f in ScenarioFile.model_fields.items() if f.is_required()
)
ERROR, WARNING = "error", "warning"


@dataclass(frozen=True)
class Problem:
    """One problem of a scenario folder: the file, the field in it, and what is wrong."""

    file: Path
    field: str
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = f"{display_path(self.file)}: " + (f"{self.field}: " if self.field else "")
        return where + ("warning: " if self.severity == WARNING else "") + self.message


def display_path(path: Path) -> str:
    """`path` relative to the working directory when it lies under it, else absolute."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


class CatalogueError(ValueError):
    """The catalogue or a selection from it is not valid; `problems` holds one per line."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


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
    peers: list[str] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    equivalent_mutants: list[EquivalentMutant] = field(default_factory=list)
    deliverable: Deliverable = field(default_factory=lambda: ServiceDeliverable(kind="service"))
    declared_section: str = ""
    difficulty: str = "medium"
    builds: str = ""
    cwes: list[int] = field(default_factory=list)

    @property
    def kind(self) -> str:
        """The deliverable's kind (backbench.registry.DELIVERABLE_KINDS)."""
        return self.deliverable.kind

    @property
    def kind_spec(self) -> DeliverableKind:
        return DELIVERABLE_KINDS[self.kind]

    @property
    def seed_file(self) -> Path:
        """The hidden data generator, run into every fresh database (optional)."""
        return self.folder / "seed.py"

    @property
    def checks_dir(self) -> Path:
        """Hidden checks of a migration: upgrade/ and downgrade/."""
        return self.folder / "checks"

    @property
    def equivalent_dir(self) -> Path:
        """A hidden rewrite of files/ that behaves the same (tests kind)."""
        return self.folder / "equivalent"

    @property
    def mutated_dir(self) -> Path:
        """The code `backbench adequacy` and equivalent-mutant ids refer to: the reference, or
        for the tests kind the package under test, whose mutants the agent's suite must kill."""
        package = getattr(self.deliverable, "package", None)
        return self.files_dir / package if self.kind == "tests" and package else self.reference_dir

    @property
    def unmutated(self) -> tuple[str, ...]:
        """Top-level folders of the reference that `backbench adequacy` leaves alone: a
        codebase's own tests (a repository kind's) are not the service the hidden tests judge."""
        own = getattr(self.deliverable, "own_tests", None)
        return (own,) if self.kind == "repository" and own else ()

    @property
    def baseline_dir(self) -> Path:
        """What the load stage measures beside the submission: the starting code for a
        speed-up, the reference otherwise."""
        return self.files_dir if self.kind == "speedup" else self.reference_dir

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


def read_scenario_file(folder: Path) -> tuple[ScenarioFile | None, list[Problem]]:
    """Parse and validate `folder/scenario.yaml`: the model, or None and every problem found."""
    meta_file = folder / "scenario.yaml"
    try:
        meta = _yaml.safe_load(meta_file.read_text())
    except (OSError, yaml.YAMLError) as ex:
        return None, [Problem(meta_file, "", " ".join(str(ex).split()))]
    try:
        model = ScenarioFile.model_validate(meta)
    except ValidationError as ex:
        return None, [Problem(meta_file, f.field, f.message) for f in field_errors(ex)]
    return model, [Problem(meta_file, f, m) for f, m in cross_references(model, folder.name)]


def cross_references(model: ScenarioFile, folder_name: str) -> list[tuple[str, str]]:
    """(field, message) for what the schema cannot see alone: the id, and names used twice."""
    found = []
    if model.id != folder_name:
        found.append(("id", f"{model.id!r} differs from the folder name {folder_name!r}"))
    lists: dict[str, list[str]] = {
        "services": list(model.services),
        "peers": list(model.peers),
        "mutants": [m.name for m in model.mutants],
        "rules": [r.id for r in model.rules],
        "equivalent_mutants": [e.id for e in model.equivalent_mutants],
    }
    for name, values in lists.items():
        key = "" if name in ("services", "peers") else "." + ("name" if name == "mutants" else "id")
        for i, value in enumerate(values):
            if value in values[:i]:
                found.append((f"{name}[{i}]{key}", f"{value!r} appears twice"))
    return found


def _load_profile(model: ScenarioFile) -> dict[str, Any]:
    """The load profile locust gets: the scenario's, with probes.jwt for its {jwt} requests."""
    if model.load is None:
        return {}
    profile = model.load.model_dump(by_alias=True, exclude_none=True)
    if model.probes and model.probes.jwt:
        profile["jwt"] = model.probes.jwt.model_dump(exclude_none=True)
    return profile


def load_scenario(folder: Path) -> Scenario:
    """Parse `folder/scenario.yaml`; CatalogueError with one line per problem when invalid."""
    model, problems = read_scenario_file(folder)
    if model is None or problems:
        raise CatalogueError("\n".join(map(str, problems)), problems)
    return Scenario(
        id=model.id,
        section=folder.parent.name,
        title=model.title,
        folder=folder,
        services=list(model.services),
        load=_load_profile(model),
        slo=model.slo.metrics() if model.slo else {},
        # one probe per CWE of every family that applies, drawn from openapi.yaml and `probes:`
        probes=probe_plan(
            folder / "openapi.yaml", model.probes.model_dump(by_alias=True, exclude_none=True)
        )
        if model.probes
        else [],
        mutants=[
            Mutant(
                m.name,
                m.catches.model_dump(exclude_none=True),
                folder / "mutants" / f"{m.name}.patch",
            )
            for m in model.mutants
        ],  # fmt: skip
        peers=list(model.peers),
        rules=list(model.rules),
        equivalent_mutants=list(model.equivalent_mutants),
        deliverable=model.deliverable,
        declared_section=model.section,
        difficulty=model.difficulty,
        builds=model.builds,
        cwes=list(model.cwes),
    )


def scenario_folders(root: Path | None = None) -> list[Path]:
    """Every scenario folder (one holding a scenario.yaml) of every section, sorted."""
    base = root or tasks_dir()
    return [p.parent for p in sorted(base.glob("*/*/scenario.yaml"))]


def section_scenarios(section: str, root: Path | None = None) -> list[Scenario]:
    """Every scenario of a section, sorted by id."""
    base = (root or tasks_dir()) / section
    folders = sorted(p.parent for p in base.glob("*/scenario.yaml"))
    return [load_scenario(f) for f in folders]


def section_names(root: Path | None = None) -> list[str]:
    """The sections of the catalogue: folders of tasks/ that hold a task.py."""
    base = root or tasks_dir()
    return sorted(p.parent.name for p in base.glob("*/task.py"))


def all_scenarios(root: Path | None = None) -> list[Scenario]:
    """Every scenario of every section."""
    return [load_scenario(folder) for folder in scenario_folders(root)]


def find_scenario(scenario_id: str, root: Path | None = None) -> Scenario:
    """The scenario with this id, in any section: only its folder (named after the id, which
    the schema checks) is read, so finding one costs the same in a catalogue of any size."""
    for folder in scenario_folders(root):
        if folder.name == scenario_id:
            return load_scenario(folder)
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
