"""The schema's documents: docs/scenario.schema.json, the field table of docs/scenarios.md and
the README's table of scenarios.

All are generated (`backbench catalogue --schema`): the first two from backbench.schema, the
third from the scenarios' descriptive keys; tests/test_schema.py and tests/test_docs.py check the
committed files equal what is generated, so none drifts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from backbench.catalogue import Scenario, all_scenarios
from backbench.schema import json_schema

SCHEMA_FILE = "scenario.schema.json"
GUIDE_FILE = "scenarios.md"
BLOCK = "scenario-fields"
README_FILE = "README.md"
SCENARIOS_BLOCK = "scenarios"
SERVICE_NAMES = {"postgres": "PostgreSQL", "redis": "Redis"}


def schema_text() -> str:
    """The JSON Schema as committed: indented, one trailing newline."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"


def field_rows(schema: dict[str, Any] | None = None) -> list[tuple[str, str, str, str]]:
    """(key path, type, required or default, meaning) for every field, depth first."""
    schema = schema or json_schema()
    return _rows(schema, schema, "")


def _rows(
    node: dict[str, Any], root: dict[str, Any], prefix: str
) -> list[tuple[str, str, str, str]]:
    rows = []
    required = set(node.get("required", []))
    for name, prop in node.get("properties", {}).items():
        path = f"{prefix}.{name}" if prefix else name
        need = "required" if name in required else _default(prop)
        rows.append((path, _type(prop, root), need, prop.get("description", "")))
        rows += _nested(prop, root, path)
    return rows


def _nested(
    prop: dict[str, Any], root: dict[str, Any], path: str
) -> list[tuple[str, str, str, str]]:
    """Rows of the model a property holds: an object, a list of objects, or one per probe kind."""
    target, suffix = _non_null(prop), ""
    if target.get("type") == "array":
        target, suffix = target.get("items", {}), "[]"
    if "$ref" in target:
        return _rows(_resolve(target, root), root, path + suffix)
    rows = []
    for option in target.get("oneOf", []):
        model = _resolve(option, root)
        kind = model["properties"]["kind"]["const"]
        rows += _rows(model, root, f"{path}[kind={kind}]")
    return rows


def _resolve(ref: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    model: dict[str, Any] = root["$defs"][ref["$ref"].rsplit("/", 1)[-1]]
    return model


def _non_null(prop: dict[str, Any]) -> dict[str, Any]:
    options = [o for o in prop.get("anyOf", [prop]) if o.get("type") != "null"]
    return options[0] if len(options) == 1 else prop


def _type(prop: dict[str, Any], root: dict[str, Any]) -> str:
    target = _non_null(prop)
    if "enum" in target:
        return " \\| ".join(f"`{v}`" for v in target["enum"])
    if "const" in target:
        return f"`{target['const']}`"
    if "$ref" in target:
        return "mapping"
    if target.get("type") == "array":
        items = target.get("items", {})
        return "list of " + ("probes by kind" if "oneOf" in items else _type(items, root))
    if target.get("type") == "object":
        return "mapping"
    return {"string": "string", "integer": "integer", "number": "number"}.get(
        str(target.get("type")), "any"
    )


def _default(prop: dict[str, Any]) -> str:
    if prop.get("default") is None:
        return "optional"
    return f"`{json.dumps(prop['default'])}`"


def field_table() -> str:
    """The Markdown table of every scenario.yaml field."""
    lines = ["| key | type | default | meaning |", "| --- | --- | --- | --- |"]
    lines += [f"| `{p}` | {t} | {d} | {_md(m)} |" for p, t, d, m in field_rows()]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("<", "&lt;")


def with_field_table(guide: str) -> str:
    """docs/scenarios.md with its generated field table replaced by the current one."""
    pattern = re.compile(rf"(<!-- {BLOCK}:.*?-->\n).*?(<!-- /{BLOCK} -->)", re.S)
    if not pattern.search(guide):
        raise ValueError(f"{GUIDE_FILE} has no <!-- {BLOCK}: ... --> block")
    return pattern.sub(lambda m: f"{m.group(1)}{field_table()}\n{m.group(2)}", guide)


def scenario_table(scenarios: list[Scenario]) -> str:
    """The README's table of scenarios: section, id, what the agent builds, services,
    difficulty and the CWEs the contract's probes plan, by section then id."""
    lines = [
        "| section | scenario | what the agent builds | services | difficulty | CWEs probed |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for s in sorted(scenarios, key=lambda s: (s.section, s.id)):
        services = ", ".join(SERVICE_NAMES.get(x, x) for x in s.services) or "none"
        cwes = ", ".join(map(str, s.cwes)) or "none (not served)"
        builds = s.builds.replace("|", "\\|")
        lines.append(
            f"| {s.section} | `{s.id}` | {builds} | {services} | {s.difficulty} | {cwes} |"
        )
    return "\n".join(lines)


def with_scenario_table(readme: str, scenarios: list[Scenario]) -> str:
    """The README with its generated table of scenarios replaced by the current one."""
    block = SCENARIOS_BLOCK
    pattern = re.compile(rf"(<!-- {block}:.*?-->\n).*?(<!-- /{block} -->)", re.S)
    if not pattern.search(readme):
        raise ValueError(f"{README_FILE} has no <!-- {block}: ... --> block")
    return pattern.sub(lambda m: f"{m.group(1)}{scenario_table(scenarios)}\n{m.group(2)}", readme)


def write_schema_docs(docs: Path) -> list[Path]:
    """Write docs/scenario.schema.json and refresh the field table of docs/scenarios.md and the
    README's table of scenarios (the README beside docs/)."""
    docs.mkdir(parents=True, exist_ok=True)
    schema = docs / SCHEMA_FILE
    schema.write_text(schema_text())
    written = [schema]
    guide = docs / GUIDE_FILE
    if guide.is_file():
        guide.write_text(with_field_table(guide.read_text()))
        written.append(guide)
    readme = docs.parent / README_FILE
    if readme.is_file() and SCENARIOS_BLOCK in readme.read_text():
        readme.write_text(with_scenario_table(readme.read_text(), all_scenarios()))
        written.append(readme)
    return written
