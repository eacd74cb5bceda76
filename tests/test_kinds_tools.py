"""The config kind's static tools, run for real over the pilot's reference and broken copies."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from inspect_ai.util import ExecResult

from backbench.catalogue import find_scenario
from backbench.sandbox.processes import run_capped
from backbench.scoring.kinds.config import _hadolint, _schema, _zizmor

REFERENCE = find_scenario("containerize-notes-service").reference_dir
WORKFLOW = (REFERENCE / ".github" / "workflows" / "ci.yml").read_text()


class Static:
    """The one runtime call the static checks make: a tool on this machine."""

    async def run_static(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
    ) -> ExecResult[str]:
        return await run_capped(argv, env={"PATH": "/usr/bin:/bin", **env}, cwd=cwd,
                                timeout=timeout)  # fmt: skip


def _in(folder: Path, name: str, text: str) -> Path:
    (folder / name).write_text(text)
    return folder


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_zizmor_passes_the_reference_and_an_ignore_comment_hides_nothing(tmp_path: Path) -> None:
    assert run(_zizmor(Static(), _in(tmp_path, "workflow.yml", WORKFLOW))) == []  # type: ignore[arg-type]
    injected = WORKFLOW.replace(
        "      - name: Install dependencies",
        '      - run: echo "${{ github.head_ref }}" # zizmor: ignore[template-injection]\n'
        "      - name: Install dependencies",
    )
    assert injected != WORKFLOW
    found = run(_zizmor(Static(), _in(tmp_path, "workflow.yml", injected)))  # type: ignore[arg-type]
    assert "template-injection" in found


def test_hadolint_passes_the_reference_and_reports_errors(tmp_path: Path) -> None:
    dockerfile = (REFERENCE / "Dockerfile").read_text()
    assert run(_hadolint(Static(), _in(tmp_path, "Dockerfile", dockerfile))) == []  # type: ignore[arg-type]
    broken = dockerfile + "\nWORKDIR relative/path\nRUN cd /tmp && sudo ls\n"
    assert run(_hadolint(Static(), _in(tmp_path, "Dockerfile", broken)))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "file", "schema", "break_it"),
    [
        ("compose.yaml", "compose.yaml", "vendor.compose-spec",
         lambda t: t.replace("depends_on:", "dependson:")),
        ("workflow.yml", ".github/workflows/ci.yml", "vendor.github-workflows",
         lambda t: t.replace("runs-on:", "run-on:")),
    ],
)  # fmt: skip
def test_the_schemas_pass_the_reference_and_refuse_a_misspelled_key(
    tmp_path: Path, name: str, file: str, schema: str, break_it: Any
) -> None:
    text = (REFERENCE / file).read_text()
    assert run(_schema(Static(), _in(tmp_path, name, text), name, schema)) == ""  # type: ignore[arg-type]
    broken = break_it(text)
    assert broken != text
    assert run(_schema(Static(), _in(tmp_path, name, broken), name, schema))  # type: ignore[arg-type]
