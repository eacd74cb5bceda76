"""The `backbench/files` agent with -M paths: one folder a sample, told apart by its answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
)

from backbench.model import BackbenchModel
from backbench.validate_run import balanced_chunks

PROMPT = ChatMessageUser(content="# Task `inventory-crud`: Inventory\n\nBuild it.")


def folders(tmp_path: Path, *names: str) -> Path:
    for name in names:
        (tmp_path / name).mkdir()
        (tmp_path / name / "start.sh").write_text(f"#!/bin/sh\necho {name}\n")
    listing = tmp_path / "paths.txt"
    listing.write_text("".join(f"{tmp_path / n}\n" for n in names))
    return listing


def turn(model: BackbenchModel, history: list[ChatMessage]) -> ChatMessageAssistant:
    calls = model._plan(history, sum(isinstance(m, ChatMessageAssistant) for m in history))
    return ChatMessageAssistant(content="", tool_calls=calls)


def test_each_sample_writes_the_next_folder_and_names_it_in_its_answer(tmp_path: Path) -> None:
    listing = folders(tmp_path, "first", "second")
    model = BackbenchModel("files", config=GenerateConfig(), paths=str(listing))
    pwd = ChatMessageTool(content="/workspace\n", tool_call_id="x", function="bash")
    # two samples side by side: both ask where they are, then each writes a folder
    one: list[ChatMessage] = [PROMPT]
    two: list[ChatMessage] = [PROMPT]
    one += [turn(model, one), pwd]
    two += [turn(model, two), pwd]
    writes = [turn(model, one), turn(model, two)]
    one.append(writes[0])
    two.append(writes[1])
    written = [[c.arguments for c in m.tool_calls] for m in writes if m.tool_calls]
    assert ["echo first" in str(w) for w in written] == [True, False]
    # they submit in the other order: each names the folder it wrote
    answers = {}
    for name, history in (("two", two), ("one", one)):
        [submit] = turn(model, history).tool_calls or []
        answers[name] = submit.arguments["answer"]
    assert answers == {"one": f"submitted {tmp_path / 'first'}",
                       "two": f"submitted {tmp_path / 'second'}"}  # fmt: skip
    with pytest.raises(ValueError, match="more samples than folders"):
        turn(model, [PROMPT, turn(model, [PROMPT]), pwd])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({}, "needs -M path=DIR"),
        ({"path": "/", "paths": "/x"}, "needs -M path=DIR"),
        ({"paths": "/no/such/list"}, "cannot read -M paths"),
    ],
)
def test_files_needs_one_of_path_and_paths(args: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BackbenchModel("files", config=GenerateConfig(), **args)


def test_mutants_are_cut_into_the_fewest_even_chunks() -> None:
    assert [len(c) for c in balanced_chunks(list(range(17)), 7)] == [6, 6, 5]
    assert balanced_chunks([1, 2, 3], 7) == [[1, 2, 3]]
    assert balanced_chunks([], 7) == []
    assert sorted(x for c in balanced_chunks(list(range(20)), 7) for x in c) == list(range(20))
