"""backbench eval logs read into one table: a row per sample and epoch, a column per score key."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from inspect_ai.analysis import EvalColumn, SampleColumn, samples_df
from inspect_ai.log import EvalSample, EvalSampleSummary, list_eval_logs, read_eval_log
from inspect_ai.model import ChatMessageAssistant

from backbench.scoring.verdict import SCORE_KEYS

SCORER = "backbench_scorer"
# a key some scenarios may add; every other scenario shows "not measured"
COVERAGE_KEY = "coverage"
SHA_SHOWN = 8


class LogInputError(Exception):
    """Logs that cannot be reported on: none found, unreadable, or not of a backbench task."""


def log_paths(locations: Sequence[str | Path]) -> list[str]:
    """The eval logs named by files and folders (folders are searched recursively)."""
    if not locations:
        raise LogInputError("no logs given")
    paths: list[str] = []
    for location in locations:
        where = Path(location)
        if where.is_dir():
            found = [info.name for info in list_eval_logs(str(where.resolve()), recursive=True)]
            if not found:
                raise LogInputError(f"no eval logs in {where}")
            paths += sorted(found)
        elif where.is_file():
            paths.append(str(where.resolve()))
        else:
            raise LogInputError(f"no such log or folder: {where}")
    return list(dict.fromkeys(paths))


def check_log(path: str) -> None:
    """Raise LogInputError unless `path` is a readable log of a backbench section task."""
    try:
        header = read_eval_log(path, header_only=True)
    except Exception as ex:  # any parse failure of a damaged file is the same input error
        first = (str(ex).strip().splitlines() or [type(ex).__name__])[0]
        raise LogInputError(f"cannot read {path}: {first[:200]}") from None
    metadata = header.eval.metadata or {}
    if "system_prompt_sha256" not in metadata or "scenario_sha256" not in metadata:
        raise LogInputError(
            f"{path}: not a backbench log (task {header.eval.task!r} has no prompt and "
            "scenario identity in its metadata)"
        )


Sample = EvalSample | EvalSampleSummary


def _score(sample: Sample) -> dict[str, Any]:
    score = (sample.scores or {}).get(SCORER)
    value = score.value if score is not None else None
    return value if isinstance(value, dict) else {}


def _score_metadata(sample: Sample) -> dict[str, Any]:
    score = (sample.scores or {}).get(SCORER)
    return (score.metadata or {}) if score is not None else {}


def _number(value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return math.nan
    return number


def _probe_cwes(sample: Sample) -> str:
    """Probe id -> CWE: a family's entry tries several CWEs, each a probe `cwe-<n>` (exploited
    ids name them so); older logs have one entry per probe with its own id and CWE."""
    evidence = _score_metadata(sample).get("probe_evidence") or []
    probes: dict[str, int] = {}
    for e in evidence:
        if "cwes" in e:
            probes |= {f"cwe-{int(c)}": int(c) for c in e["cwes"]}
        elif "id" in e and "cwe" in e:
            probes[str(e["id"])] = int(e["cwe"])
    return json.dumps(probes)


def _messages(sample: Sample) -> int:
    return len(sample.messages) if isinstance(sample, EvalSample) else 0


def _tool_calls(sample: Sample) -> int:
    messages = sample.messages if isinstance(sample, EvalSample) else []
    return sum(len(m.tool_calls or []) for m in messages if isinstance(m, ChatMessageAssistant))


def _harness_error(sample: Sample) -> str:
    error = sample.error
    return "" if not error else error if isinstance(error, str) else error.message


def _exploited(sample: Sample) -> str:
    return json.dumps(_score_metadata(sample).get("exploited_probes") or [])


def _not_served(sample: Sample) -> str:
    return str(_score_metadata(sample).get("not_served") or "")


def _tokens(sample: Sample) -> int:
    return sum(u.total_tokens for u in sample.model_usage.values())


def _score_column(key: str) -> SampleColumn:
    return SampleColumn(key, path=lambda s: _number(_score(s).get(key)), full=True)


COLUMNS = [
    EvalColumn("model", path="eval.model", required=True),
    EvalColumn("task", path="eval.task", required=True),
    EvalColumn("prompt_file", path="eval.metadata.system_prompt_file"),
    EvalColumn("eval_prompt_sha256", path="eval.metadata.system_prompt_sha256"),
    SampleColumn("id", path="id", required=True, type=str),
    SampleColumn("epoch", path="epoch", required=True),
    SampleColumn("section", path="metadata.section"),
    SampleColumn("scenario_sha256", path="metadata.scenario_sha256"),
    SampleColumn("prompt_sha256", path="metadata.system_prompt_sha256"),
    SampleColumn("harness_error", path=_harness_error, full=True),
    SampleColumn("scored", path=lambda s: bool(_score(s)), full=True),
    *[_score_column(k) for k in [*SCORE_KEYS, COVERAGE_KEY]],
    SampleColumn("exploited_probes", path=_exploited, full=True),
    SampleColumn("probe_cwes", path=_probe_cwes, full=True),
    SampleColumn("not_served", path=_not_served, full=True),
    SampleColumn("tokens", path=_tokens),
    SampleColumn("total_time", path="total_time"),
    SampleColumn("working_time", path="working_time"),
    SampleColumn("messages", path=_messages, full=True),
    SampleColumn("tool_calls", path=_tool_calls, full=True),
]


def read_samples(locations: Sequence[str | Path]) -> pd.DataFrame:
    """One row per sample and epoch of the backbench logs in `locations`.

    Columns: the run's `model`, `prompt_sha256`, `prompt_file` and `group` (model and prompt
    identity); the sample's `scenario`, `section`, `epoch`, `harness_error` (empty when the
    harness did not fail), every score key, the exploited probes with their CWEs, and the
    agent's cost (`tokens`, `total_time`, `messages`, `tool_calls`). Raises LogInputError.
    """
    paths = log_paths(locations)
    for path in paths:
        check_log(path)
    try:
        with warnings.catch_warnings():
            # inspect_ai's own use of a keyword pandas 3.1 deprecates, repeated on every read
            warnings.filterwarnings("ignore", message="The inplace keyword", category=Warning)
            frame = samples_df(paths, columns=COLUMNS, full=True, quiet=True)
    except Exception as ex:  # a log whose header reads but whose samples do not
        first = (str(ex).strip().splitlines() or [""])[0][:200]
        raise LogInputError(f"cannot read the samples: {type(ex).__name__}: {first}") from None
    if frame.empty:
        raise LogInputError(f"no samples in {len(paths)} log(s)")
    return tidy(frame)


def tidy(frame: pd.DataFrame) -> pd.DataFrame:
    """Plain numpy columns, named as the report uses them, the JSON ones decoded."""
    frame = plain_columns(frame.rename(columns={"id": "scenario"}))
    frame["prompt_sha256"] = frame["prompt_sha256"].fillna(frame["eval_prompt_sha256"])
    frame["prompt_file"] = frame["prompt_file"].fillna("?")
    frame["section"] = frame["section"].fillna(frame["task"].map(lambda t: str(t).split("/")[-1]))
    frame["harness_error"] = frame["harness_error"].fillna("").astype(str)
    frame["errored"] = frame["harness_error"] != ""
    frame["exploited_probes"] = frame["exploited_probes"].map(json.loads)
    frame["probe_cwes"] = frame["probe_cwes"].map(json.loads)
    frame["epoch"] = frame["epoch"].astype(int)
    for key in [*SCORE_KEYS, COVERAGE_KEY]:
        frame[key] = pd.to_numeric(frame[key], errors="coerce")
    frame["group"] = group_labels(frame)
    return frame


def plain_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with numpy dtypes: floats with NaN for missing numbers, objects for the rest.

    samples_df gives pyarrow columns, whose missing values (pd.NA) numpy arithmetic refuses.
    """
    columns = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column.dtype) and not column.isna().any():
            columns[name] = column.astype(bool)
        elif pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(
            column.dtype
        ):
            columns[name] = column.astype("float64")
        else:
            columns[name] = column.astype(object).where(column.notna(), None)
    return pd.DataFrame(columns, index=frame.index)


def group_labels(frame: pd.DataFrame) -> pd.Series:
    """`model · prompt-file sha` for each row: runs are grouped by model and prompt content."""
    files = frame.groupby(["model", "prompt_sha256"])["prompt_file"].agg(
        lambda names: "/".join(sorted(set(names)))
    )
    return pd.Series(
        [
            f"{model} · {files[(model, sha)]} {str(sha)[:SHA_SHOWN]}"
            for model, sha in zip(frame["model"], frame["prompt_sha256"], strict=True)
        ],
        index=frame.index,
        dtype=object,
    )
