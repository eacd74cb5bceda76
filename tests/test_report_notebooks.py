"""The notebooks execute (nbclient, a real kernel) from notebooks/ on logs the tests write."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from inspect_ai.scorer import Score
from nbclient import NotebookClient

from backbench.report import prompt_effects, read_samples, resolve_log_dir
from tests.conftest import REPO
from tests.test_report_logs import (
    SCENARIOS,
    VARIANT,
    Run,
    files_run,
    null_run,
    reference_run,
    served,
    write_run,
)


def worse_variant() -> Run:
    """The reference's model with a variant prompt that breaks one scenario."""
    scores: dict[tuple[str, int], Score | None] = {
        (s, 1): served(correct=int(s != SCENARIOS[0])) for s in SCENARIOS
    }
    return Run("backbench/reference", scores, prompt=VARIANT, prompt_file="variant.md")


def execute(name: str) -> nbformat.NotebookNode:
    notebook = nbformat.read(REPO / "notebooks" / name, as_version=4)
    # run from notebooks/, as Jupyter does: the log folder must still resolve
    client = NotebookClient(notebook, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(REPO / "notebooks")}})  # fmt: skip
    client.execute()
    return notebook


def outputs(notebook: nbformat.NotebookNode, kind: str) -> list[str]:
    return [o["data"][kind] for c in notebook.cells if c.cell_type == "code"
            for o in c.get("outputs", []) if kind in o.get("data", {})]  # fmt: skip


def test_compare_models_notebook_draws_every_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_run(reference_run(), tmp_path)
    write_run(null_run(), tmp_path)
    write_run(files_run(), tmp_path)
    monkeypatch.setenv("BACKBENCH_LOG_DIR", str(tmp_path))
    notebook = execute("compare_models.ipynb")
    assert len(outputs(notebook, "image/png")) == 6
    tables = "\n".join(outputs(notebook, "text/html"))
    assert "backbench/null" in tables and "postgres did not start" in tables


def test_prompt_ablation_notebook_shows_the_variants_loss(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_run(reference_run(), tmp_path)
    write_run(worse_variant(), tmp_path)
    monkeypatch.setenv("BACKBENCH_LOG_DIR", str(tmp_path))
    notebook = execute("prompt_ablation.ipynb")
    # the variant's losses, and the gate's power curve
    assert len(outputs(notebook, "image/png")) == 2
    assert "variant.md" in "\n".join(outputs(notebook, "text/html"))


def test_prompt_effects_pair_the_variant_with_the_baseline(tmp_path: Path) -> None:
    write_run(reference_run(), tmp_path)
    write_run(worse_variant(), tmp_path)
    effects = prompt_effects(read_samples([tmp_path]), "backend-developer.md")
    correct = effects.set_index("metric").loc["correct"]
    assert correct["pairs"] == 3
    assert correct["loss"] == pytest.approx(100 / 3)


def test_the_log_folder_resolves_from_the_repository_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BACKBENCH_LOG_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_log_dir("logs/compare") == REPO / "logs" / "compare"
    monkeypatch.setenv("BACKBENCH_LOG_DIR", str(tmp_path))
    assert resolve_log_dir("logs/compare") == tmp_path
