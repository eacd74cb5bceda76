"""Outcomes of `backbench adequacy`, kill rates, the JSON record and the README: pure functions."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from backbench.adequacy.mutate import Mutant

KILLED, KILLED_BY_START, SURVIVED, EQUIVALENT, ERROR = (
    "killed", "killed_by_start", "survived", "equivalent", "error",
)  # fmt: skip
DEFAULT_MIN_KILL_RATE = 0.9


@dataclass
class Outcome:
    """What happened to one mutant."""

    id: str
    operator: str
    description: str
    file: str
    line: int
    status: str  # killed | killed_by_start | survived | equivalent | error
    failed_tests: list[str] = field(default_factory=list)
    detail: str = ""  # why it did not start, the harness error, or the equivalence reason
    seconds: float = 0.0
    diff: str = ""


def outcome(mutant: Mutant, status: str, **extra: Any) -> Outcome:
    """An Outcome for a mutant; its diff is kept where a reader needs it (not for kills)."""
    keep_diff = status in (SURVIVED, EQUIVALENT, ERROR)
    return Outcome(
        id=mutant.id, operator=mutant.operator, description=mutant.description,
        file=mutant.file, line=mutant.line, status=status,
        diff=mutant.diff if keep_diff else "", **extra,
    )  # fmt: skip


@dataclass
class ScenarioReport:
    """One scenario's measurement."""

    scenario: str
    digest: str
    generated: int
    outcomes: list[Outcome] = field(default_factory=list)
    unknown_equivalents: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # the run cannot be trusted
    seconds: float = 0.0
    reference_seconds: float = 0.0

    def count(self, *statuses: str) -> int:
        return sum(o.status in statuses for o in self.outcomes)

    @property
    def kill_rate(self) -> float | None:
        """Killed (by a test or at start) over every mutant run that is not equivalent."""
        judged = self.count(KILLED, KILLED_BY_START, SURVIVED)
        return self.count(KILLED, KILLED_BY_START) / judged if judged else None

    @property
    def seconds_per_mutant(self) -> float:
        """Mean time of one mutant in its sandbox (start, tests, stop)."""
        timed = [o.seconds for o in self.outcomes if o.status != EQUIVALENT]
        return sum(timed) / len(timed) if timed else 0.0

    def meets(self, min_kill_rate: float) -> bool:
        """At the target, with nothing in the way: no problem, and no declared equivalent that
        the mutator no longer generates (a stale declaration: its mutant changed id or went)."""
        rate = self.kill_rate
        return (
            not self.problems
            and not self.unknown_equivalents
            and (rate is None or rate >= min_kill_rate)
        )

    def record(self, min_kill_rate: float) -> dict[str, Any]:
        """The JSON record: counts first, then every outcome."""
        return {
            "scenario": self.scenario,
            "digest": self.digest,
            "generated": self.generated,
            "run": self.count(KILLED, KILLED_BY_START, SURVIVED, ERROR),
            "killed": self.count(KILLED),
            "killed_by_start": self.count(KILLED_BY_START),
            "survived": self.count(SURVIVED),
            "equivalent": self.count(EQUIVALENT),
            "errors": self.count(ERROR),
            "kill_rate": None if self.kill_rate is None else round(self.kill_rate, 4),
            "meets_target": self.meets(min_kill_rate),
            "seconds": round(self.seconds, 1),
            "seconds_per_mutant": round(self.seconds_per_mutant, 2),
            "reference_seconds": round(self.reference_seconds, 2),
            "unknown_equivalents": self.unknown_equivalents,
            "problems": self.problems,
            "outcomes": [asdict(o) for o in self.outcomes],
        }


def run_record(
    reports: list[ScenarioReport], started: datetime, wall_seconds: float, settings: dict[str, Any]
) -> dict[str, Any]:
    """The whole run as JSON-ready data."""
    min_kill_rate = float(settings["min_kill_rate"])
    return {
        "started": started.isoformat(timespec="seconds"),
        "wall_seconds": round(wall_seconds, 1),
        "settings": settings,
        "ok": all(r.meets(min_kill_rate) for r in reports),
        "scenarios": [r.record(min_kill_rate) for r in reports],
    }


def exit_code(
    reports: Iterable[ScenarioReport], min_kill_rate: float,
    floors: dict[str, float] | None = None,
) -> int:  # fmt: skip
    """1 when a scenario is under the target (or could not be measured), else 0. With `floors`
    (a ratchet), a scenario's target is at most its last recorded kill rate: more tests may land
    before the target is reached, a drop may not."""
    floors = floors or {}
    return (
        0 if all(r.meets(min(min_kill_rate, floors.get(r.scenario, 1.0))) for r in reports) else 1
    )


def last_kill_rates(output: Path) -> dict[str, float]:
    """Each scenario's kill rate at its latest recorded measurement under `output`."""
    return {
        str(s.get("scenario")): float(s["kill_rate"])
        for s in _recorded(output)
        if s.get("kill_rate") is not None
    }


def _recorded(output: Path) -> Iterator[dict[str, Any]]:
    """Every scenario record of the measurements under `output`, oldest run first."""
    for path in sorted(output.glob("*.json")):  # names are UTC times: oldest first
        try:
            run = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        yield from run.get("scenarios", [])


def last_digests(output: Path) -> dict[str, str]:
    """Each scenario's digest (backbench.identity.adequacy_sha256) at its latest recorded
    measurement under `output`."""
    return {str(s.get("scenario")): str(s.get("digest")) for s in _recorded(output)}


# -- rendering ----------------------------------------------------------------------------------


def percent(rate: float | None) -> str:
    """A kill rate for a table."""
    return "n/a" if rate is None else f"{rate:.0%}"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if minutes else f"{rest} s"


def render_table(run: dict[str, Any]) -> str:
    """The per-scenario table (Markdown, also readable in a terminal)."""
    lines = [
        "| scenario | generated | run | killed by tests | killed at start | survived "
        "| equivalent | errors | kill rate | target met | s per mutant |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in run["scenarios"]:
        lines.append(
            f"| {s['scenario']} | {s['generated']} | {s['run']} | {s['killed']} "
            f"| {s['killed_by_start']} | {s['survived']} | {s['equivalent']} | {s['errors']} "
            f"| {percent(s['kill_rate'])} | {'yes' if s['meets_target'] else 'no'} "
            f"| {s['seconds_per_mutant']:.1f} |"
        )
    return "\n".join(lines)


def _survivor_lines(scenario: dict[str, Any]) -> list[str]:
    survivors = [o for o in scenario["outcomes"] if o["status"] == SURVIVED]
    if not survivors:
        return ["None."]
    lines: list[str] = []
    for operator in sorted({o["operator"] for o in survivors}):
        group = [o for o in survivors if o["operator"] == operator]
        lines += [f"#### `{operator}` ({len(group)})", ""]
        for o in group:
            lines += [
                f"- `{o['id']}` ({o['file']} line {o['line']}): {o['description']}",
                "",
                "  ```diff",
                *[f"  {line}" for line in o["diff"].rstrip("\n").splitlines()],
                "  ```",
                "",
            ]
    return lines


def render_readme(run: dict[str, Any], json_name: str) -> str:
    """results/adequacy/README.md for a run."""
    settings = run["settings"]
    scenarios = run["scenarios"]
    per_mutant = [s["seconds_per_mutant"] for s in scenarios if s["run"]]
    ran = sum(s["run"] for s in scenarios)
    cap = settings["max_mutants"]
    lines = [
        "# Mutation adequacy of the hidden tests",
        "",
        f"Generated by `backbench adequacy` from [`{json_name}`]({json_name}). Do not edit: "
        "rerun `backbench adequacy` to refresh it.",
        "",
        "| | |",
        "|---|---|",
        f"| Started (UTC) | {run['started']} |",
        f"| Scenarios | {len(scenarios)} ({', '.join(s['scenario'] for s in scenarios)}) |",
        f"| Mutants run | {ran} ({'all generated' if cap is None else f'at most {cap}'} per "
        f"scenario, seed {settings['seed']}) |",
        f"| Parallel sandboxes | {settings['jobs']} ({settings['sandbox']}) |",
        f"| Time per mutant | {sum(per_mutant) / max(len(per_mutant), 1):.1f} s in its sandbox; "
        f"{run['wall_seconds'] / max(ran, 1):.1f} s of wall time |",
        f"| Wall time | {_duration(run['wall_seconds'])} |",
        f"| Target | at least {settings['min_kill_rate']:.0%} of non-equivalent mutants killed "
        "in every scenario |",
        f"| Result | {'met' if run['ok'] else 'NOT met'} |",
        "",
        "## Per scenario",
        "",
        render_table(run),
        "",
        "A mutant is *killed* when a hidden test fails against it, *killed at start* when its "
        "server never became ready (it does not import, or crashes on start-up), *equivalent* "
        "when `scenario.yaml` declares it so (not run), an *error* when the harness itself "
        "failed. The kill rate counts both kinds of kill over every mutant run but errors.",
        "",
    ]
    for s in scenarios:
        notes = [f"- problem: {p}" for p in s["problems"]]
        notes += [f"- declared equivalent but no longer generated: `{i}`" for i in
                  s["unknown_equivalents"]]  # fmt: skip
        equivalents = [o for o in s["outcomes"] if o["status"] == EQUIVALENT]
        notes += [f"- equivalent: `{o['id']}`: {o['detail']}" for o in equivalents]
        errors = [o for o in s["outcomes"] if o["status"] == ERROR]
        notes += [f"- harness error on `{o['id']}`: {o['detail'][:300]}" for o in errors]
        lines += [f"## {s['scenario']}: survivors", "", *_survivor_lines(s), ""]
        if notes:
            lines += [f"### {s['scenario']}: notes", "", *notes, ""]
    lines += [METHOD]
    return "\n".join(lines)


METHOD = """## Method

`backbench adequacy [--scenarios a,b] [--max-mutants N] [--seed S] [--jobs J] [--changed]`
mutates each scenario's reference solution (`backbench/adequacy/mutate.py`), and scores every
mutant through the functional stage the scorer uses: the mutated copy goes into a sample
sandbox, `start.sh` runs against a fresh PostgreSQL database (and an empty Redis), and the
hidden tests run over HTTP with the same pytest invocation. One sandbox per parallel job is
reused across the mutants of a scenario; the unmutated reference runs first and must pass.

The mutator is our own small one on Python's `ast`, not mutmut or cosmic-ray: those run a test
command in the mutated tree (mutmut 3 switches mutants inside the test process), while here the
code runs as a separate server started from a copied folder and is only reached over HTTP; and
many faults that matter sit inside SQL strings, which neither tool mutates. Operators: `boundary`,
`comparison`, `arithmetic`, `bool_operator`, `negate_condition`, `drop_condition` (an `if`
always taken), `drop_condition_term`, `remove_statement`, `remove_early_return`,
`remove_decorator` (middleware, exception handlers, validators), `constant`, `string_constant`,
`status_code`, `sort_direction`, `remove_transaction` (`with conn.transaction()` unwrapped, pool
connections in autocommit, Redis pipelines without MULTI), `remove_lock` (`with lock`, advisory
locks), and on SQL text: `sql_drop_where`, `sql_drop_where_term`, `sql_drop_order_by`,
`sql_sort_direction`, `sql_drop_limit`, `sql_drop_offset`, `sql_drop_for_update`. Mutants that
do not compile or only change layout are dropped. With `--max-mutants`, the choice is seeded
and spread over the operators in turn; a mutant's rank depends only on the seed and its id.

A mutant id is `file:scope:operator:hash`, where the scope is the enclosing function (or the
module-level name assigned) and the hash covers the original code and the change: ids survive
edits elsewhere in the file. Every survivor is either killed by a new hidden test for the rule
it breaks, or declared equivalent in the scenario's `scenario.yaml`, with a one-line reason
that `backbench validate` checks:

```yaml
equivalent_mutants:
  - id: app.py:create_order:sort_direction:536b142f
    reason: reversing the lock order keeps one order for every request, so still no deadlock
```

In CI, `backbench adequacy --changed` measures only the scenarios whose hidden tests, reference,
contract, services, peers or declared equivalents changed since their last measurement recorded
here (none: nothing to do); probes, hand-written mutants and other solutions take no part.
"""
