"""The review check: the agent's JSON review against the planted defects and the clean changes.

A planted defect is found when a comment names its change and path, points at a line within its
range and files it under its category. Recall is found over planted; precision counts only what
a review can be proven wrong about: comments on a change that has no defect (review.yaml
`clean`), so a remark on a real but unplanted flaw of the defective change is never a false
alarm. Precision is found / (found + comments on clean changes), 1.0 when both are 0 (nothing
claimed, nothing wrong) and recall then decides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from backbench.scoring.kinds import KindVerdict
from backbench.scoring.kinds.workspace_runs import read_workspace_file

CATEGORIES = (
    "logic", "race", "injection", "auth", "error-handling", "resource-leak", "performance",
    "data-loss", "other",
)  # fmt: skip
SEVERITIES = ("low", "medium", "high")
MAX_REVIEW_BYTES = 1 << 20


@dataclass(frozen=True)
class Defect:
    """A planted defect: where a comment must point to find it, and its category."""

    id: str
    change: str
    path: str
    first: int
    last: int
    category: str


@dataclass(frozen=True)
class Answer:
    """review.yaml: the planted defects and the changes that have none."""

    defects: tuple[Defect, ...]
    clean: tuple[str, ...]


def read_answer(file: Path) -> Answer:
    """Parse a scenario's hidden review.yaml."""
    data = yaml.safe_load(file.read_text())
    defects = tuple(
        Defect(str(d["id"]), str(d["change"]), str(d["path"]), int(d["lines"][0]),
               int(d["lines"][1]), str(d["category"]))
        for d in data["defects"]
    )  # fmt: skip
    return Answer(defects, tuple(str(c) for c in data.get("clean", [])))


def read_review(workspace: Path, name: str) -> str | None:
    """The review's text (at most 1 MiB, never through a link), or None when there is none."""
    return read_workspace_file(workspace, name, MAX_REVIEW_BYTES)


def parse_comments(text: str) -> tuple[list[dict[str, Any]], str]:
    """The well-formed comments of a review, and what was wrong with the rest ('' if nothing)."""
    try:
        data = json.loads(text)
    except ValueError as ex:
        return [], f"not JSON ({ex})"
    comments = data.get("comments") if isinstance(data, dict) else None
    if not isinstance(comments, list):
        return [], 'expected an object with a "comments" list'
    good = [c for c in comments if _well_formed(c)]
    bad = len(comments) - len(good)
    return good, (f"{bad} malformed comment(s) ignored" if bad else "")


def _well_formed(comment: Any) -> bool:
    return (
        isinstance(comment, dict)
        and all(isinstance(comment.get(k), str) for k in ("change", "path", "category", "message"))
        and comment.get("severity") in SEVERITIES
        and isinstance(comment.get("line"), int)
        and not isinstance(comment.get("line"), bool)
    )


def found_by(defect: Defect, comment: dict[str, Any]) -> bool:
    """Whether `comment` finds `defect`: same change, path and category, a line in its range."""
    return (
        comment["change"] == defect.change
        and comment["path"].removeprefix("./") == defect.path
        and defect.first <= comment["line"] <= defect.last
        and comment["category"] == defect.category
    )


def review_verdict(
    text: str | None, answer: Answer, min_recall: float, min_precision: float
) -> KindVerdict:
    """`review_recall` and `review_precision` of a review (None: no review was written)."""
    if text is None:
        return _nothing("review: no review file was written")
    comments, problem = parse_comments(text)
    if problem and not comments:
        return _nothing(f"review: {problem}")
    found = [d for d in answer.defects if any(found_by(d, c) for c in comments)]
    alarms = [c for c in comments if c["change"] in answer.clean]
    recall = len(found) / len(answer.defects) if answer.defects else 1.0
    claimed = len(found) + len(alarms)
    precision = len(found) / claimed if claimed else 1.0
    failed = [
        name for name, value, floor in (
            ("review_recall", recall, min_recall), ("review_precision", precision, min_precision)
        ) if value < floor
    ]  # fmt: skip
    missed = [d.id for d in answer.defects if d not in found]
    lines = [
        f"review: found {len(found)}/{len(answer.defects)} planted defects (recall "
        f"{recall:.2f}, needs {min_recall}); {len(alarms)} comment(s) on clean changes "
        f"(precision {precision:.2f}, needs {min_precision})"
    ]
    if missed:
        lines.append(f"  missed: {', '.join(missed)}")
    if problem:
        lines.append(f"  {problem}")
    return KindVerdict(
        {"review_recall": round(recall, 4), "review_precision": round(precision, 4)},
        failed, "\n".join(lines),
    )  # fmt: skip


def _nothing(why: str) -> KindVerdict:
    return KindVerdict(
        {"review_recall": 0.0, "review_precision": 0.0},
        ["review_recall", "review_precision"], why,
    )  # fmt: skip
