"""The runner of `backbench validate`: scores submissions with the real `inspect eval` CLI.

The judgement and rendering it relies on are pure functions in backbench.validate.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from backbench.catalogue import Mutant, Scenario, tasks_dir
from backbench.catalogue_check import (
    catch_problem,
    coverage_problems,
    hidden_test_names,
    rule_matrix,
)
from backbench.identity import validation_sha256
from backbench.model import SKIPPED_PARTS
from backbench.scoring.attack_surface import possible_probe_ids
from backbench.validate import (
    ERROR,
    INSPECT_TIMEOUT,
    PARALLEL_EVALS,
    Check,
    Observation,
    _number,
    describe_catch,
    judge_mutant,
    judge_null,
    judge_reference,
    judge_rules,
    judge_starting,
    merged_run,
    observation,
    reference_needs,
    render_readme,
    rules_to_tests,
    run_record,
)

__all__ = ["hidden_test_names"]  # where tests and older callers import it from

# -- the runner -------------------------------------------------------------------------------


def apply_patch(reference: Path, patch_file: Path, target: Path) -> str:
    """Copy `reference` to `target` and apply `patch_file` there; '' or why it failed."""
    if not patch_file.is_file():
        return f"patch file {patch_file.name} is missing"
    shutil.copytree(reference, target, ignore=shutil.ignore_patterns(*SKIPPED_PARTS))
    proc = subprocess.run(
        ["patch", "-p1", "--batch", "--forward", "--no-backup-if-mismatch", "-d", str(target),
         "-i", str(patch_file.resolve())],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        output = (proc.stdout + proc.stderr).strip().replace("\n", " | ")
        return f"patch {patch_file.name} does not apply: {output[-400:]}"
    return ""


@dataclass
class EvalCall:
    """One `inspect eval` subprocess: a model over some scenarios of one section."""

    label: str
    section: str
    scenario_ids: list[str]
    model: str
    log_dir: Path
    model_path: Path | None = None
    # several submissions in one eval: a file of folders, one sample (epoch) each
    model_paths: Path | None = None
    epochs: int = 1
    max_samples: int = 2
    robust: bool = True  # the schemathesis stage; mutants and null are judged without it
    stages: str = "all"  # the task's `stages`: a mutant's declared check needs only some


def inspect_command(
    call: EvalCall, task_arg: str, load_seconds: float, sandbox: str | None = None,
    beside_reference: bool = True,
) -> list[str]:  # fmt: skip
    """The argv of `inspect eval` for a call (run from the folder that holds tasks/)."""
    argv = [
        str(Path(sys.executable).parent / "inspect"), "eval", task_arg,
        "--model", call.model,
        "-T", f"scenarios={','.join(call.scenario_ids)}",
        "-T", f"load_seconds={_number(load_seconds)}",
        "--log-dir", str(call.log_dir),
        "--display", "none",
        "--no-fail-on-error",
        "--max-samples", str(call.max_samples),
    ]  # fmt: skip
    if call.model_path is not None:
        argv += ["-M", f"path={call.model_path}"]
    if call.model_paths is not None:
        argv += ["-M", f"paths={call.model_paths}"]
    if call.epochs > 1:
        argv += ["--epochs", str(call.epochs)]
    if sandbox:
        argv += ["-T", f"sandbox={sandbox}"]
    if not call.robust:
        argv += ["-T", "robust=false"]
    if call.stages != "all":
        argv += ["-T", f"stages={call.stages}"]
    if not beside_reference:
        argv += ["-T", "load_baseline=none"]
    return argv


def read_observations(
    log_dir: Path, failure: str, by_answer: bool = False
) -> dict[str, list[Observation]]:
    """Observations per sample id from the .eval log in `log_dir`, in epoch order; with
    `by_answer`, per folder named in each sample's answer ("submitted <folder>", -M paths)."""
    from inspect_ai.log import read_eval_log

    found: dict[str, list[Observation]] = {}
    logs = sorted(log_dir.glob("*.eval"))
    if not logs:
        return {}
    log = read_eval_log(str(logs[-1]))
    for sample in sorted(log.samples or [], key=lambda s: (str(s.id), s.epoch)):
        error = sample.error.message.strip().splitlines()[-1][:500] if sample.error else ""
        score = next(iter((sample.scores or {}).values()), None)
        if score is None and not error:
            error = "no score in the log" + (f" ({failure})" if failure else "")
        key = str(sample.id)
        if by_answer:
            # a sample that failed before it submitted names no folder: its mutant has none
            key = sample.output.completion.removeprefix("submitted ").strip()
        found.setdefault(key, []).append(
            observation(
                score.value if score and isinstance(score.value, dict) else None,
                score.metadata if score else None,
                error,
            )
        )
    return found


def run_call(call: EvalCall, argv: list[str], cwd: Path) -> dict[str, list[Observation]]:
    """Run one `inspect eval`; every scenario it should have scored gets its observations."""
    call.log_dir.mkdir(parents=True, exist_ok=True)
    try:
        proc = subprocess.run(
            argv, cwd=cwd, capture_output=True, text=True, timeout=INSPECT_TIMEOUT, check=False
        )
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        failure = (
            f"inspect eval exited {proc.returncode}: {' '.join(tail)[-400:]}"
            if proc.returncode
            else ""
        )
    except subprocess.TimeoutExpired:
        failure = f"inspect eval timed out after {INSPECT_TIMEOUT} s"
    batch = call.model_paths is not None
    found = read_observations(call.log_dir, failure, by_answer=batch)
    wanted = call.model_paths.read_text().splitlines() if call.model_paths else call.scenario_ids
    for key in wanted:
        if not found.get(key):
            what = "submission" if batch else "scenario"
            found[key] = [Observation(error=failure or f"the log has no sample for this {what}")]
    return found


@dataclass
class Plan:
    """What one validation run does."""

    scenarios: list[Scenario]
    load_seconds: float
    repeat: int = 1
    fast: bool = False
    full: bool = False  # every stage for every mutant, not only what its declared check needs
    keep_logs: Path | None = None
    sandbox: str | None = None  # the task's `sandbox` parameter; None: the task's default
    jobs: int = PARALLEL_EVALS  # `inspect eval`s at once


def run_validation(plan: Plan, echo: Callable[[str], None]) -> tuple[list[Check], dict[str, Any]]:
    """Score reference, null and every mutant through `inspect eval`, and judge them."""
    started = datetime.now(UTC)
    clock = time.monotonic()
    scratch = Path(tempfile.mkdtemp(prefix="backbench-validate-"))
    stamp = started.strftime("%Y-%m-%dT%H-%M-%SZ")
    logs = plan.keep_logs.resolve() / stamp if plan.keep_logs else scratch / "logs"
    # --fast checks what catches what: its 2 s loads are judged absolute, without the reference
    # beside them (the full run judges the ratios)
    runner = _Runner(tasks_dir(), plan.load_seconds, plan.sandbox, clock, echo, not plan.fast)
    # the content this run validates: taken before it starts, so an edit during the run is not
    # recorded as validated
    hashes = {s.id: validation_sha256(s.folder) for s in plan.scenarios}
    try:
        checks = _validate(plan, runner, scratch, logs)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    wall = time.monotonic() - clock
    record = run_record(checks, started, wall, plan.fast, plan.load_seconds, plan.repeat, hashes)
    record["mutant_stages"] = "all" if plan.full else "declared"
    return checks, record


@dataclass
class _Runner:
    """Runs `inspect eval` from the folder that holds the tasks folder, reporting progress."""

    root: Path
    load_seconds: float
    sandbox: str | None
    clock: float
    echo: Callable[[str], None]
    beside_reference: bool = True

    def progress(self, text: str) -> None:
        self.echo(f"[{time.monotonic() - self.clock:5.0f} s] {text}")

    def run(self, call: EvalCall) -> dict[str, list[Observation]]:
        task_arg = f"{self.root.name}/{call.section}"
        argv = inspect_command(
            call, task_arg, self.load_seconds, self.sandbox, self.beside_reference
        )
        found = run_call(call, argv, self.root.parent)
        failed = sum(o.error != "" for observations in found.values() for o in observations)
        self.progress(f"{call.label}: scored" + (f" ({failed} sample error(s))" if failed else ""))
        return found


def _validate(plan: Plan, runner: _Runner, scratch: Path, logs: Path) -> list[Check]:
    sections = sorted({s.section for s in plan.scenarios})
    ids = {sec: [s.id for s in plan.scenarios if s.section == sec] for sec in sections}
    calls: list[EvalCall] = []
    for section in sections:
        calls.append(
            EvalCall(
                "reference", section, ids[section], "backbench/reference",
                logs / section / "reference", epochs=plan.repeat,
            )
        )  # fmt: skip
        calls.append(
            EvalCall(
                "null", section, ids[section], "backbench/null", logs / section / "null",
                robust=False, stages="functional",
            )
        )  # fmt: skip
    mutant_checks: dict[tuple[str, str], Check] = {}
    batches: dict[str, tuple[Scenario, list[tuple[Mutant, Path]]]] = {}
    for scenario in plan.scenarios:
        groups: dict[str, list[tuple[Mutant, Path]]] = {}
        for mutant in scenario.mutants:
            copy = scratch / "mutants" / scenario.id / mutant.name
            problem = _prepare_mutant(scenario, mutant, copy)
            if problem:
                mutant_checks[(scenario.id, mutant.name)] = Check(
                    scenario.id, f"mutant:{mutant.name}",
                    describe_catch(mutant.catches, scenario.slo), "not run", ERROR, [problem],
                )  # fmt: skip
                continue
            stages = "all" if plan.full else mutant_stages(mutant.catches)
            groups.setdefault(stages, []).append((mutant, copy.resolve()))
        for stages, members in groups.items():
            for number, chunk in enumerate(balanced_chunks(members, MUTANTS_PER_EVAL)):
                label = f"{scenario.id}/mutants-{stages.replace(',', '+')}-{number}"
                listing = scratch / "mutants" / f"{label.replace('/', '_')}.txt"
                listing.write_text("".join(f"{copy}\n" for _, copy in chunk))
                calls.append(
                    EvalCall(
                        label, scenario.section, [scenario.id], "backbench/files",
                        logs / scenario.section / "mutants" / label, model_paths=listing,
                        epochs=len(chunk), max_samples=1, robust=False, stages=stages,
                    )
                )  # fmt: skip
                batches[label] = (scenario, chunk)

    # a kind that starts from code: that code, unchanged, must not pass
    starting: dict[str, Scenario] = {}
    for scenario in plan.scenarios:
        if scenario.kind != "service" and scenario.files_dir.is_dir():
            label = f"{scenario.id}/starting"
            calls.append(
                EvalCall(
                    label, scenario.section, [scenario.id], "backbench/files",
                    logs / scenario.section / "starting" / scenario.id, scenario.files_dir,
                    robust=False,
                    stages="functional,load" if scenario.kind == "speedup" else "functional",
                )
            )  # fmt: skip
            starting[label] = scenario
    starting_checks: dict[str, Check] = {}

    solutions: dict[str, tuple[Scenario, str]] = {}
    for scenario in plan.scenarios:
        for name, folder in scenario_solutions(scenario).items():
            label = f"{scenario.id}/solution-{name}"
            log_dir = logs / scenario.section / "solutions" / label
            calls.append(
                EvalCall(label, scenario.section, [scenario.id], "backbench/files", log_dir, folder)
            )
            solutions[label] = (scenario, name)
    solution_checks: dict[tuple[str, str], Check] = {}

    reference: dict[str, list[Observation]] = {}
    null: dict[str, list[Observation]] = {}
    runner.progress(
        f"reference, null, {sum(len(c) for _, c in batches.values())} mutant(s) in "
        f"{len(batches)} eval(s) and {len(solutions)} other solution(s), "
        f"{plan.jobs} at a time"
    )
    # the longest first, so that the last to finish is a short one
    calls.sort(key=lambda c: -expected_seconds(c, plan.repeat))
    with ThreadPoolExecutor(max_workers=plan.jobs) as pool:
        for call, found in zip(calls, pool.map(runner.run, calls), strict=True):
            if call.label in solutions:
                scenario, name = solutions[call.label]
                solution_checks[(scenario.id, name)] = judge_reference(
                    scenario.id, found[scenario.id], scenario.slo, f"solution:{name}",
                    reference_needs(scenario.kind),
                )  # fmt: skip
            elif call.label in starting:
                scenario = starting[call.label]
                # a speed-up keeps the behaviour: its starting code passes every hidden test
                starting_checks[scenario.id] = judge_starting(
                    scenario.id, found.get(scenario.id, []), scenario.kind == "speedup"
                )
            elif call.label in batches:
                scenario, chunk = batches[call.label]
                for mutant, copy in chunk:
                    mutant_checks[(scenario.id, mutant.name)] = judge_mutant(
                        scenario.id, mutant.name, mutant.catches, found[str(copy)], scenario.slo
                    )
            elif call.label == "reference":
                reference |= found
            else:
                null |= found

    checks: list[Check] = []
    for scenario in plan.scenarios:
        checks.append(rules_check(scenario))
        checks.append(
            judge_reference(
                scenario.id, reference.get(scenario.id, []), scenario.slo,
                needs=reference_needs(scenario.kind),
            )
        )  # fmt: skip
        checks += [solution_checks[(scenario.id, n)] for n in scenario_solutions(scenario)]
        checks.append(judge_null(scenario.id, null.get(scenario.id, [])))
        if scenario.id in starting_checks:
            checks.append(starting_checks[scenario.id])
        checks += [mutant_checks[(scenario.id, m.name)] for m in scenario.mutants]
    return checks


T = TypeVar("T")
# Mutants of one scenario and stages share an `inspect eval` (one start-up of inspect instead
# of one each: about 7 s a mutant here), at most this many, in evals of even size.
MUTANTS_PER_EVAL = 7
# rough seconds a sample takes here, to hand the longest calls out first (a mutant's by the
# stages it runs: the probes add about 4 s, the load beside the reference about 28 s), and the
# start-up and tear-down of one `inspect eval` (measured with three at once on 2 cores)
SAMPLE_SECONDS = {"reference": 65.0, "solution": 70.0, "mutant": 18.0, "null": 1.0}
STAGE_SECONDS = {"security": 4.0, "load": 28.0}
EVAL_SECONDS = 7.0


def balanced_chunks(items: list[T], most: int) -> list[list[T]]:
    """`items` cut into the fewest runs of at most `most`, their lengths differing by 1 at most."""
    count = -(-len(items) // most) if items else 0
    return [items[i::count] for i in range(count)]


def expected_seconds(call: EvalCall, repeat: int) -> float:
    """A rough duration of `call`, to order the calls."""
    kind = (
        "reference" if call.label == "reference" else "null" if call.label == "null"
        else "solution" if "/solution-" in call.label else "mutant"
    )  # fmt: skip
    if kind == "mutant":
        stages = ("security", "load") if call.stages == "all" else call.stages.split(",")
        extra = sum(STAGE_SECONDS.get(stage, 0.0) for stage in stages)
        return EVAL_SECONDS + (SAMPLE_SECONDS["mutant"] + extra) * call.epochs
    return EVAL_SECONDS + SAMPLE_SECONDS[kind] * repeat * len(call.scenario_ids)


def mutant_stages(catches: dict[str, str]) -> str:
    """The live stages a mutant's declared check needs: the functional stage always (every
    failed test is reported, the declared one or not), the probes for a probe, the load for an
    SLO metric or a speed-up. The rest tells validate nothing about whether the declared check
    catches it."""
    if "probe" in catches:
        return "functional,security"
    if "slo" in catches or catches.get("check") == "speedup":
        return "functional,load"
    return "functional"


def scenario_solutions(scenario: Scenario) -> dict[str, Path]:
    """The scenario's other correct solutions: solutions/<name>/ folders with a start.sh."""
    base = scenario.folder / "solutions"
    return {p.parent.name: p.parent for p in sorted(base.glob("*/start.sh"))}


def checked_rules(scenario: Scenario) -> dict[str, list[str]]:
    """Per hidden test (and per kind check, as `check:<name>`), the rules it checks."""
    matrix = rule_matrix(scenario.tests_dir)
    for rule in scenario.rules:
        if rule.check:
            matrix.setdefault(f"check:{rule.check}", []).append(rule.id)
    return matrix


def rules_check(scenario: Scenario) -> Check:
    """The scenario's rule coverage, judged from its hidden tests' marks and its kind's checks."""
    matrix = checked_rules(scenario)
    problems = [str(p) for p in coverage_problems(scenario) if p.severity == ERROR]
    return judge_rules(scenario.id, [r.id for r in scenario.rules], matrix, problems)


def scenario_rule_matrix(scenario: Scenario) -> dict[str, list[str]]:
    """The rule -> tests matrix of one scenario."""
    return rules_to_tests([r.id for r in scenario.rules], checked_rules(scenario))


def _prepare_mutant(scenario: Scenario, mutant: Mutant, copy: Path) -> str:
    """Check the mutant's declaration and build its patched copy; '' or the problem."""
    probes = possible_probe_ids(scenario.probes)
    tests = hidden_test_names(scenario.tests_dir)
    problem = catch_problem(mutant.catches, probes, tests, scenario.slo, scenario.kind_spec.checks)
    return problem or apply_patch(scenario.reference_dir, mutant.patch, copy)


def write_results(
    run: dict[str, Any], output: Path, fast: bool, readme: bool = True,
    catalogue: list[str] | None = None,
) -> Path:  # fmt: skip
    """Write <output>/<UTC date-time>.json; a full run with `readme` also regenerates
    <output>/README.md: from this run, or with `catalogue` (the ids of every scenario) from the
    newest full run of each, this one included."""
    output.mkdir(parents=True, exist_ok=True)
    stamp = datetime.fromisoformat(run["started"]).strftime("%Y-%m-%dT%H-%M-%SZ")
    path = output / f"{stamp}.json"
    path.write_text(json.dumps(run, indent=2) + "\n")
    if not fast and readme:
        shown = merged_run(recorded_runs(output), catalogue) if catalogue else run
        (output / "README.md").write_text(render_readme(shown, path.name))
    return path


def recorded_runs(output: Path) -> list[dict[str, Any]]:
    """Every validation run recorded under `output` (unreadable files are skipped)."""
    runs = []
    for path in sorted(output.glob("*.json")):
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, json.JSONDecodeError):
            continue
    return runs


def default_output() -> Path:
    """results/validation/ of the repository that holds the tasks/ folder."""
    return tasks_dir().parent / "results" / "validation"
