"""Sections as data: one factory, one-line declarations, bad parameters as one-line errors."""

import shutil
from pathlib import Path

import pytest

from backbench._inspect import PrerequisiteError
from backbench.catalogue import section_names
from backbench.identity import folder_sha256, text_sha256
from backbench.scoring.scorer import parse_stages
from backbench.task import DEFAULT_SYSTEM_PROMPT, section_task, section_task_function
from tests.conftest import REPO


def test_every_section_folder_declares_its_task_in_one_line() -> None:
    for section in section_names():
        source = (REPO / "tasks" / section / "task.py").read_text()
        assert f"@task\ndef {section}() -> None:" in source


def test_entry_point_registers_every_section_under_the_package_name() -> None:
    import backbench._registry as registry

    for section in section_names():
        assert callable(getattr(registry, section))


def test_task_metadata_records_prompt_and_scenario_hashes() -> None:
    task = section_task("api_development", "inventory-crud", sandbox="local")
    meta = task.metadata or {}
    assert meta["system_prompt_sha256"] == text_sha256(DEFAULT_SYSTEM_PROMPT.read_text())
    assert meta["system_prompt_file"] == "backend-developer.md"
    folder = REPO / "tasks" / "api_development" / "inventory-crud"
    assert meta["scenario_sha256"] == {"inventory-crud": folder_sha256(folder)}
    sample = task.dataset[0]
    assert (sample.metadata or {})["scenario_sha256"] == folder_sha256(folder)


def test_an_edited_prompt_has_another_hash(tmp_path: Path) -> None:
    variant = tmp_path / "variant.md"
    variant.write_text(DEFAULT_SYSTEM_PROMPT.read_text() + "\nAlways write tests.\n")
    task = section_task("api_development", "inventory-crud", str(variant), sandbox="local")
    assert (task.metadata or {})["system_prompt_sha256"] != text_sha256(
        DEFAULT_SYSTEM_PROMPT.read_text()
    )
    assert (task.metadata or {})["system_prompt_file"] == "variant.md"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        ({"scenarios": "no-such"}, "-T scenarios"),
        ({"system_prompt": "/no/such/prompt.md"}, "system_prompt"),
        ({"load_seconds": "abc"}, "-T load_seconds"),
        ({"load_seconds": -1}, "-T load_seconds"),
        ({"message_limit": 0}, "-T message_limit"),
        ({"time_limit": "soon"}, "-T time_limit"),
        ({"sandbox": "vm"}, "-T sandbox"),
        ({"robust": "maybe"}, "-T robust"),
    ],
)
def test_bad_parameters_are_one_line_prerequisite_errors(args: dict, needle: str) -> None:
    with pytest.raises(PrerequisiteError) as caught:
        section_task("api_development", **args)
    message = str(caught.value.message)
    assert needle in message and "\n" not in message.replace("\n", " ").strip("\n")
    assert message.startswith("backbench: ")


def test_one_scenario_list_serves_the_tasks_of_several_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `inspect eval backbench/a backbench/b -T scenarios=...` passes one list to every task
    # (CI's smoke eval: a scenario of each section in one run)
    tasks = tmp_path / "tasks"
    for section, scenario in [
        ("api_development", "inventory-crud"),
        ("other", "orders-relational"),
    ]:
        shutil.copytree(REPO / "tasks" / "api_development" / scenario, tasks / section / scenario)
        shutil.copy(REPO / "tasks" / "api_development" / "task.py", tasks / section / "task.py")
    monkeypatch.setenv("BACKBENCH_TASKS_DIR", str(tasks))
    both = "inventory-crud,orders-relational"
    for section, scenario in [
        ("api_development", "inventory-crud"),
        ("other", "orders-relational"),
    ]:
        task = section_task(section, both, sandbox="local")
        assert [s.id for s in task.dataset] == [scenario]
    with pytest.raises(PrerequisiteError, match="unknown scenario.*no-such"):
        section_task("other", "orders-relational,no-such", sandbox="local")
    with pytest.raises(PrerequisiteError, match="none of inventory-crud is in section 'other'"):
        section_task("other", "inventory-crud", sandbox="local")


def test_folder_hash_changes_with_content_and_exec_bit(tmp_path: Path) -> None:
    folder = tmp_path
    (folder / "a.txt").write_text("one")
    first = folder_sha256(folder)
    (folder / "a.txt").write_text("two")
    second = folder_sha256(folder)
    (folder / "a.txt").chmod(0o755)
    third = folder_sha256(folder)
    (folder / "__pycache__").mkdir()
    (folder / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert len({first, second, third}) == 3 and folder_sha256(folder) == third


def test_section_function_keeps_the_shared_parameters_documented() -> None:
    function = section_task_function("api_development", "tests", "Doc line.")
    import inspect

    params = list(inspect.signature(function).parameters)
    assert params == [
        "scenarios", "system_prompt", "message_limit", "time_limit", "load_seconds", "sandbox",
        "robust", "load_baseline", "stages",
    ]  # fmt: skip
    doc = inspect.getdoc(function) or ""
    assert doc.startswith("Doc line.") and "load_seconds:" in doc and "section:" not in doc


@pytest.mark.parametrize("stages", ["security", "functional,fuzz", "", "load,security"])
def test_bad_stages_are_a_one_line_error(stages: str) -> None:
    with pytest.raises(PrerequisiteError, match=r"-T stages=.*: expected all, or names among"):
        section_task("api_development", "inventory-crud", sandbox="local", stages=stages)


def test_stages_reach_the_scorer_in_their_order() -> None:
    assert parse_stages("all") == ("functional", "security", "load")
    assert parse_stages("load, functional") == ("functional", "load")
    # inspect's -T turns a comma-separated value into a list
    assert parse_stages(["functional", "security"]) == ("functional", "security")


def test_an_unknown_load_baseline_is_a_one_line_error() -> None:
    with pytest.raises(PrerequisiteError, match=r"-T load_baseline='median': expected one of"):
        section_task("api_development", "inventory-crud", sandbox="local", load_baseline="median")
    task = section_task("api_development", "inventory-crud", sandbox="local", load_baseline="none")
    assert task.scorer
