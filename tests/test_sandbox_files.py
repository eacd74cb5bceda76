"""Static checks of the docker and k8s sandbox files; the ones that need an engine are marked."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions, version
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from backbench.sandbox.choice import docker_problem

ROOT = Path(__file__).resolve().parents[1]
SANDBOXES = ROOT / "sandboxes"
AGENT_REQUIREMENTS = SANDBOXES / "agent-requirements.txt"
HARNESS_REQUIREMENTS = SANDBOXES / "harness-requirements.txt"
DOCKERFILE = SANDBOXES / "docker" / "Dockerfile"
COMPOSE = SANDBOXES / "docker" / "compose.yaml"
VALUES = SANDBOXES / "k8s" / "values.yaml"
README = SANDBOXES / "README.md"

AGENT_BLOCK_MARKER = "# what the agent's Python promises"
# The contract promises these too; pyproject lists them with the harness.
AGENT_ALSO = {"httpx", "pytest", "coverage"}
# What the scorers run inside an image.
HARNESS_TOOLS = {
    "pytest", "httpx", "locust", "bandit", "ruff", "radon", "pyyaml", "schemathesis", "jsonschema",
    "rfc3339-validator",
}  # fmt: skip
SERVICES = {"default", "postgres", "redis"}
IDLE_COMMAND = ["tail", "-f", "/dev/null"]
AGENT_VENV, HARNESS_VENV = "/opt/agent-venv", "/opt/harness-venv"

# Keys the agent-env chart's values.schema.json accepts (inspect-k8s-sandbox 0.14.0); the schema
# sets additionalProperties: false, so an unknown key fails `helm install`.
CHART_TOP_KEYS = {
    "global", "allowDomains", "allowDomainsPorts", "allowCIDR", "allowEntities", "networks",
    "corednsImage", "corednsCommand", "imagePullSecrets", "services", "volumes",
    "additionalResources", "annotations", "labels", "automountServiceAccountToken",
    "serviceAccountName",
}  # fmt: skip
CHART_SERVICE_KEYS = {
    "networks", "runtimeClassName", "image", "imagePullPolicy", "additionalDnsRecords", "ports",
    "dnsRecord", "command", "args", "workingDir", "readinessProbe", "livenessProbe", "env",
    "resources", "securityContext", "volumeMounts", "volumes", "tolerations", "nodeSelector",
    "networkIsolated", "initContainers",
}  # fmt: skip

# name:tag with a full version; PostgreSQL's own versions have two parts (16.9).
EXACT_IMAGE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9._/-]*):(?P<version>\d+\.\d+(?:\.\d+)?)\S*$")
BINARY_UNITS = {"k": 2**10, "m": 2**20, "g": 2**30}


# -- reading the files -----------------------------------------------------------------------


def requirements(path: Path) -> dict[str, Requirement]:
    """The requirement lines of a requirements file, by canonical name."""
    lines = [line.strip() for line in path.read_text().splitlines()]
    reqs = [Requirement(line) for line in lines if line and not line.startswith("#")]
    by_name: dict[str, Requirement] = {canonicalize_name(r.name): r for r in reqs}
    assert len(by_name) == len(reqs), f"{path.name} names a package twice"
    return by_name


def pyproject_dependencies() -> dict[str, Requirement]:
    """pyproject.toml's [project] dependencies, by canonical name."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {canonicalize_name(r.name): r for r in map(Requirement, project["dependencies"])}


def agent_block() -> set[str]:
    """Names in pyproject's dependency block under the "agent's Python promises" comment."""
    lines = (ROOT / "pyproject.toml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(AGENT_BLOCK_MARKER))
    names: set[str] = set()
    for line in lines[start + 1 :]:
        entry = line.strip()
        if entry.startswith(("#", "]")):
            break
        names.add(canonicalize_name(Requirement(entry.rstrip(",").strip('"')).name))
    assert names, "no dependencies found under the agent block's comment"
    return names


def promised_version(req: Requirement) -> str:
    """pyproject's == pin, or for a range the version installed in the project's venv."""
    pins = [s.version for s in req.specifier if s.operator == "=="]
    return pins[0] if pins else version(req.name)


def exact_pin(req: Requirement) -> str | None:
    """The version of a lone == specifier, else None."""
    specs = list(req.specifier)
    if len(specs) == 1 and specs[0].operator == "==" and "*" not in specs[0].version:
        return specs[0].version
    return None


def dockerfile() -> list[tuple[str, str]]:
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, args = line.partition(" ")
            instructions.append((keyword.upper(), " ".join(args.split())))
    return instructions


def dockerfile_bases() -> list[str]:
    """The images the Dockerfile's stages start from, ARG defaults filled in, scratch left out."""
    defaults: dict[str, str] = {}
    bases = []
    for keyword, args in dockerfile():
        if keyword == "ARG" and "=" in args:
            name, _, value = args.partition("=")
            defaults[name] = value
        elif keyword == "FROM":
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m[1], m[0]), args.split()[0])
            if image != "scratch":
                bases.append(image)
    return bases


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def values() -> dict[str, Any]:
    return yaml.safe_load(VALUES.read_text())


def env_list(entries: list[dict[str, str]]) -> dict[str, str]:
    return {e["name"]: str(e["value"]) for e in entries}


def to_cpus(value: str | float) -> float:
    """2, "0.5" or k8s "500m" as a number of CPUs."""
    text = str(value).strip()
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def to_bytes(value: str) -> int:
    """Docker "4g", k8s "4Gi" or "4 GiB" as bytes (binary units only)."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg])(i?b?)", str(value).strip(), re.IGNORECASE)
    assert match, f"not a binary memory size: {value!r}"
    return int(float(match[1]) * BINARY_UNITS[match[2].lower()])


def is_exact_image(image: str) -> bool:
    match = EXACT_IMAGE.match(image)
    if match is None or "latest" in image:
        return False
    parts = match["version"].count(".") + 1
    return parts == 3 or (parts == 2 and match["name"].rsplit("/", 1)[-1] == "postgres")


# -- requirements ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [AGENT_REQUIREMENTS, HARNESS_REQUIREMENTS], ids=lambda p: p.name)
def test_requirements_pin_every_line_exactly(path: Path) -> None:
    for name, req in requirements(path).items():
        assert exact_pin(req), f"{path.name}: {name} is not pinned with =="
        assert req.marker is None, f"{path.name}: {name} has an environment marker"


def test_agent_requirements_equal_pyproject_agent_block() -> None:
    declared = pyproject_dependencies()
    pinned = requirements(AGENT_REQUIREMENTS)
    assert set(pinned) == agent_block() | AGENT_ALSO
    for name, req in pinned.items():
        assert req.extras == declared[name].extras, f"{name}: extras differ from pyproject"
        assert exact_pin(req) == promised_version(declared[name]), f"{name}: version differs"


def test_agent_requirements_equal_versions_installed_in_venv() -> None:
    for name, req in requirements(AGENT_REQUIREMENTS).items():
        assert version(name) == exact_pin(req), f"{name}: .venv has {version(name)}"


def test_harness_requirements_hold_the_scorers_tools_at_pyproject_versions() -> None:
    declared = pyproject_dependencies()
    pinned = requirements(HARNESS_REQUIREMENTS)
    assert HARNESS_TOOLS <= set(pinned)
    for name, req in pinned.items():
        assert name in declared, f"{name} is not a dependency in pyproject.toml"
        assert exact_pin(req) == promised_version(declared[name]) == version(name), name


def test_harness_requirements_hold_what_hidden_tests_import() -> None:
    providers = packages_distributions()
    harness = set(requirements(HARNESS_REQUIREMENTS))
    for test_file in sorted(ROOT.glob("tasks/*/*/tests/*.py")):
        local = {p.stem for p in test_file.parent.glob("*.py")}
        for node in ast.walk(ast.parse(test_file.read_text())):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for top in {m.split(".")[0] for m in modules}:
                # backbench itself: the test kit the hidden tests run on, wherever they run
                if top in sys.stdlib_module_names or top in local or top == "backbench":
                    continue
                dists = {canonicalize_name(d) for d in providers.get(top, [top])}
                assert dists & harness, f"{test_file.relative_to(ROOT)} imports {top}"


# -- Dockerfile ------------------------------------------------------------------------------


def test_dockerfile_base_image_is_pinned_to_the_projects_python() -> None:
    bases = dockerfile_bases()
    assert bases, "no FROM"
    assert all(is_exact_image(image) for image in bases), bases
    major_minor = f"{sys.version_info.major}.{sys.version_info.minor}."
    assert bases[-1].startswith(f"python:{major_minor}"), bases[-1]


def test_dockerfile_takes_the_harness_from_a_stage_a_named_context_replaces() -> None:
    froms = [args.split() for keyword, args in dockerfile() if keyword == "FROM"]
    assert ["scratch", "AS", "harness"] in froms
    copies = [args for keyword, args in dockerfile() if keyword == "COPY"]
    assert any(c.startswith("--from=harness ") for c in copies)


def test_dockerfile_installs_agent_requirements_into_agent_venv() -> None:
    runs = " ".join(args for keyword, args in dockerfile() if keyword == "RUN")
    copies = " ".join(args for keyword, args in dockerfile() if keyword == "COPY")
    assert "agent-requirements.txt" in copies
    assert re.search(rf"{AGENT_VENV}/bin/pip install (-\S+ )*-r \S*/agent-requirements\.txt", runs)
    assert re.search(
        rf"{HARNESS_VENV}/bin/pip install (-\S+ )*-r \S*/harness-requirements\.txt", runs
    )


def test_dockerfile_keeps_harness_off_the_agents_path_and_runs_as_non_root() -> None:
    instructions = dockerfile()
    env = " ".join(args for keyword, args in instructions if keyword == "ENV")
    path = re.search(r"\bPATH=(\S+)", env)
    assert path, "ENV PATH not set"
    entries = path[1].split(":")
    assert entries[0] == f"{AGENT_VENV}/bin"
    assert not any(e.startswith(HARNESS_VENV) for e in entries)
    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    workdirs = [args for keyword, args in instructions if keyword == "WORKDIR"]
    assert workdirs[-1] == "/workspace"


# -- compose.yaml ----------------------------------------------------------------------------


def test_compose_has_the_three_services_on_one_internal_network() -> None:
    spec = compose()
    assert set(spec["services"]) == SERVICES
    networks = spec["networks"]
    assert len(networks) == 1
    ((name, network),) = networks.items()
    assert network["internal"] is True
    for service_name, service in spec["services"].items():
        assert service["networks"] == [name], service_name
        assert "ports" not in service and "network_mode" not in service, service_name


def test_compose_limits_every_service() -> None:
    for name, service in compose()["services"].items():
        assert to_cpus(service["cpus"]) > 0, name
        assert to_bytes(service["mem_limit"]) > 0, name
        assert int(service["pids_limit"]) > 0, name


def test_compose_default_service_is_the_workspace() -> None:
    default = compose()["services"]["default"]
    assert default["init"] is True
    assert default["command"] == IDLE_COMMAND
    build = default["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    harness = build["additional_contexts"]["harness"]
    assert (COMPOSE.parent / harness).resolve() == ROOT / "backbench"
    env = default["environment"]
    database = urlparse(env["DATABASE_URL"])
    assert (database.scheme, database.hostname, database.port, database.path) == (
        "postgresql", "postgres", 5432, "/app"
    )  # fmt: skip
    assert env["REDIS_URL"] == "redis://redis:6379/0"
    assert env["APP_SECRET"]
    assert default["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "redis": {"condition": "service_healthy"},
    }


def test_compose_database_url_matches_the_postgres_service() -> None:
    services = compose()["services"]
    database = urlparse(services["default"]["environment"]["DATABASE_URL"])
    postgres = services["postgres"]["environment"]
    assert database.username == postgres["POSTGRES_USER"]
    assert database.password == postgres["POSTGRES_PASSWORD"]
    assert database.path == f"/{postgres['POSTGRES_DB']}"


def test_compose_healthchecks_ask_the_servers_themselves() -> None:
    services = compose()["services"]
    postgres_check = services["postgres"]["healthcheck"]["test"]
    redis_check = services["redis"]["healthcheck"]["test"]
    assert postgres_check[0] == "CMD" and "pg_isready" in postgres_check
    assert redis_check == ["CMD", "redis-cli", "ping"]


# -- k8s values.yaml -------------------------------------------------------------------------


def test_values_have_the_three_services_and_no_egress() -> None:
    spec = values()
    assert set(spec) <= CHART_TOP_KEYS
    assert set(spec["services"]) == SERVICES
    assert spec["allowDomains"] == []
    assert not spec.get("allowCIDR") and not spec.get("allowEntities")
    assert not spec.get("allowDomainsPorts")
    for name, service in spec["services"].items():
        assert set(service) <= CHART_SERVICE_KEYS, name


def test_values_give_every_pod_guaranteed_resources() -> None:
    for name, service in values()["services"].items():
        resources = service["resources"]
        assert resources["requests"] == resources["limits"], name
        assert to_cpus(resources["limits"]["cpu"]) > 0, name
        assert to_bytes(resources["limits"]["memory"]) > 0, name


def test_values_probe_readiness_and_name_the_services() -> None:
    services = values()["services"]
    for name in ("postgres", "redis"):
        assert services[name]["dnsRecord"] is True, name
    assert "pg_isready" in services["postgres"]["readinessProbe"]["exec"]["command"]
    assert services["redis"]["readinessProbe"]["exec"]["command"] == ["redis-cli", "ping"]
    default = services["default"]
    assert default["command"][-3:] == IDLE_COMMAND
    assert default["securityContext"]["runAsNonRoot"] is True


def test_values_match_compose() -> None:
    docker, k8s = compose()["services"], values()["services"]
    for name in SERVICES:
        assert k8s[name]["image"] == docker[name]["image"], name
        limits = k8s[name]["resources"]["limits"]
        assert to_cpus(limits["cpu"]) == to_cpus(docker[name]["cpus"]), name
        assert to_bytes(limits["memory"]) == to_bytes(docker[name]["mem_limit"]), name
    for name in ("default", "postgres"):
        assert env_list(k8s[name]["env"]) == docker[name]["environment"], name
    assert k8s["redis"]["args"] == docker["redis"]["command"]


def test_every_image_is_pinned_to_an_exact_version() -> None:
    images = [s["image"] for s in compose()["services"].values()]
    images += [s["image"] for s in values()["services"].values()]
    assert all(is_exact_image(image) for image in images), images


# -- README ----------------------------------------------------------------------------------


def test_readme_resource_table_matches_compose_and_values() -> None:
    rows = {}
    for line in README.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if cells[0] in SERVICES and len(cells) == 5:
            rows[cells[0]] = cells
    assert set(rows) == SERVICES
    for name, service in compose()["services"].items():
        _, image, cpus, memory, pids = rows[name]
        assert image == service["image"], name
        assert to_cpus(cpus) == to_cpus(service["cpus"]), name
        assert to_bytes(memory) == to_bytes(service["mem_limit"]), name
        assert int(pids) == service["pids_limit"], name


def test_readme_shows_how_to_run_with_each_sandbox() -> None:
    text = README.read_text()
    for sandbox in ("docker", "k8s"):
        assert f"-T sandbox={sandbox}" in text
    assert "`namespace`" in text


# -- with a Docker engine ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def docker_engine() -> None:
    """Skip unless the engine and Compose v2 are what inspect's docker sandbox needs."""
    problem = docker_problem()
    if problem is not None:
        pytest.skip(problem)


@pytest.mark.docker
def test_compose_config_is_valid(docker_engine: None) -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr


@pytest.mark.docker
def test_workspace_image_builds_with_both_pythons(docker_engine: None) -> None:
    image = compose()["services"]["default"]["image"]
    build = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE), "build", "default"],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert build.returncode == 0, build.stderr[-4000:]
    agent_modules = "fastapi, flask, django, sqlalchemy, psycopg, asyncpg, redis, httpx, pytest"
    script = (
        f'test "$(command -v python3)" = {AGENT_VENV}/bin/python3'
        f' && ! echo "$PATH" | grep -q {HARNESS_VENV}'
        f' && python3 -c "import {agent_modules}"'
        f" && {HARNESS_VENV}/bin/python -I -c 'import backbench.scoring.netprobe, locust, psycopg'"
        f" && {HARNESS_VENV}/bin/python -I -m ruff --version"
        ' && test "$(id -u)" != 0'
    )
    run = subprocess.run(
        ["docker", "run", "--rm", "--network", "none", image, "bash", "-c", script],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
