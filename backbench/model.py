"""Offline candidate agents: the `backbench` model provider.

- `backbench/reference`: writes the scenario's reference solution through the agent's tools;
- `backbench/null`: submits at once, having written nothing;
- `backbench/files -M path=DIR`: writes the files of DIR through the agent's tools;
- `backbench/files -M paths=FILE`: FILE lists one folder a line, and each sample (with
  `--epochs N`, N samples of a scenario) writes the next folder's files and submits
  "submitted <folder>", so one `inspect eval` scores many submissions (`backbench validate`).

They drive the same tools a real model gets (bash, text_editor, submit), so what they score is
what the harness would score for a model that wrote the same files. They need no network: token
usage is reported by the provider itself, so inspect never downloads a tokenizer.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any

from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageTool,
    ChatMessageUser,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolCall, ToolChoice, ToolInfo

from backbench.catalogue import find_scenario

AGENTS = ("reference", "null", "files")
SCENARIO_LINE = re.compile(r"^# Task `([A-Za-z0-9_.-]+)`", re.MULTILINE)
# Files the scripted agents never copy: caches and version control are not a submission.
SKIPPED_PARTS = {"__pycache__", ".git", ".pytest_cache", ".mypy_cache", ".ruff_cache"}


@modelapi(name="backbench")
class BackbenchModel(ModelAPI):
    """Scripted agents that write a fixed set of files, then submit."""

    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())
        if model_name not in AGENTS:
            raise ValueError(
                f"unknown backbench agent {model_name!r}: use one of {', '.join(AGENTS)}"
            )
        unknown = set(model_args) - {"path", "paths"}
        if unknown:
            raise ValueError(
                f"unknown -M argument(s) for backbench/{model_name}: {sorted(unknown)}"
            )
        self.path: Path | None = None
        self.queue: list[Path] = []  # -M paths: the folders not handed out yet
        self.handed: dict[str, Path] = {}  # a write call's id -> the folder it wrote
        if model_name == "files":
            if ("path" in model_args) == ("paths" in model_args):
                raise ValueError(
                    "backbench/files needs -M path=DIR (the files to submit) or -M paths=FILE"
                    " (a folder a line, one for each sample)"
                )
            if "path" in model_args:
                self.path = _folder(model_args["path"])
            else:
                self.queue = _folders(model_args["paths"])
        elif model_args:
            raise ValueError(f"backbench/{model_name} takes no -M arguments")

    async def count_text_tokens(self, text: str) -> int:
        return max(1, len(text) // 4)

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        turn = sum(isinstance(m, ChatMessageAssistant) for m in input)
        calls = self._plan(input, turn)
        return self._output(calls, input)

    def _plan(self, input: list[ChatMessage], turn: int) -> list[ToolCall]:
        if self.model_name == "null" or turn >= 2:
            return [_call("submit", {"answer": self._answer(input)})]
        if turn == 0:
            # text_editor needs absolute paths: learn where the workspace is first
            return [_call("bash", {"command": "pwd"})]
        workspace = _last_tool_output(input).strip().splitlines()[-1]
        source = self._source(input)
        calls = write_calls(source, Path(workspace))
        if calls and self.model_name == "files" and self.path is None:
            self.handed[calls[0].id] = source
        return calls

    def _source(self, input: list[ChatMessage]) -> Path:
        if self.path is not None:
            return self.path
        if self.model_name == "files":
            if not self.queue:
                raise ValueError("backbench/files: more samples than folders in -M paths")
            return self.queue.pop(0)
        scenario = find_scenario(scenario_of(input))
        return scenario.reference_dir

    def _answer(self, input: list[ChatMessage]) -> str:
        """ "submitted", naming the folder when each sample writes one of -M paths: samples of
        one scenario run side by side, so their answers say which is which."""
        for message in reversed(input):
            if isinstance(message, ChatMessageAssistant) and message.tool_calls:
                folder = self.handed.get(message.tool_calls[0].id)
                if folder is not None:
                    return f"submitted {folder}"
        return "submitted"

    def _output(self, calls: list[ToolCall], input: list[ChatMessage]) -> ModelOutput:
        message = ChatMessageAssistant(
            content="", model=f"backbench/{self.model_name}", source="generate", tool_calls=calls
        )
        prompt_tokens = sum(len(m.text) for m in input) // 4
        output_tokens = sum(len(str(c.arguments)) for c in calls) // 4
        return ModelOutput(
            model=f"backbench/{self.model_name}",
            choices=[ChatCompletionChoice(message=message, stop_reason="tool_calls")],
            usage=ModelUsage(
                input_tokens=prompt_tokens,
                output_tokens=output_tokens,
                total_tokens=prompt_tokens + output_tokens,
            ),
        )


def _folder(value: Any) -> Path:
    path = Path(str(value)).expanduser().resolve()
    if not path.is_dir():
        raise ValueError(f"backbench/files: {path} is not a directory")
    return path


def _folders(value: Any) -> list[Path]:
    """The folders a -M paths file lists, one a line."""
    listing = Path(str(value)).expanduser()
    try:
        lines = listing.read_text().splitlines()
    except OSError as ex:
        raise ValueError(f"backbench/files: cannot read -M paths={listing}: {ex}") from None
    folders = [_folder(line.strip()) for line in lines if line.strip()]
    if not folders:
        raise ValueError(f"backbench/files: -M paths={listing} lists no folder")
    return folders


def _call(function: str, arguments: dict[str, Any]) -> ToolCall:
    return ToolCall(id=f"call_{uuid.uuid4().hex[:12]}", function=function, arguments=arguments)


def scenario_of(input: list[ChatMessage]) -> str:
    """The scenario id stated in the task prompt's first line."""
    for message in input:
        if isinstance(message, ChatMessageUser):
            match = SCENARIO_LINE.search(message.text)
            if match:
                return match.group(1)
    raise ValueError("backbench agents need a backbench task: no '# Task `id`' line in the prompt")


def _last_tool_output(input: list[ChatMessage]) -> str:
    for message in reversed(input):
        if isinstance(message, ChatMessageTool):
            return message.text
    raise ValueError("expected the output of `pwd` before writing files")


def submission_files(source: Path) -> list[Path]:
    """The files under `source` that make up a submission, relative and sorted."""
    files = []
    for path in sorted(source.rglob("*")):
        rel = path.relative_to(source)
        if path.is_file() and not SKIPPED_PARTS & set(rel.parts):
            files.append(rel)
    return files


def write_calls(source: Path, workspace: Path) -> list[ToolCall]:
    """Tool calls that recreate the files of `source` inside `workspace`."""
    files = submission_files(source)
    dirs = sorted({str(workspace / f.parent) for f in files if str(f.parent) != "."})
    calls = []
    # text_editor's create refuses a file that exists: a workspace that starts with files/
    # holds the ones the submission changes
    targets = " ".join(_quote(str(workspace / f)) for f in files)
    if targets:
        calls.append(_call("bash", {"command": f"rm -f {targets}"}))
    if dirs:
        calls.append(_call("bash", {"command": "mkdir -p " + " ".join(_quote(d) for d in dirs)}))
    executables = []
    for rel in files:
        data = (source / rel).read_bytes()
        target = workspace / rel
        try:
            text = data.decode("utf-8")
            calls.append(
                _call("text_editor", {"command": "create", "path": str(target), "file_text": text})
            )
        except UnicodeDecodeError:
            calls.append(_call("bash", {"command": _binary_write(data, target)}))
        if (source / rel).stat().st_mode & 0o111:
            executables.append(str(target))
    if executables:
        calls.append(
            _call("bash", {"command": "chmod +x " + " ".join(_quote(e) for e in executables)})
        )
    return calls


def _binary_write(data: bytes, target: Path) -> str:
    import base64

    encoded = base64.b64encode(data).decode()
    return f"echo {encoded} | base64 -d > {_quote(str(target))}"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"
