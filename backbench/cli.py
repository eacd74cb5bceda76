"""The `backbench` command line: `catalogue`, `validate`, `adequacy`, `report` and `gate`."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from backbench.adequacy.mutate import mutants_of_folder, select_mutants
from backbench.adequacy.report import DEFAULT_MIN_KILL_RATE, last_digests, last_kill_rates
from backbench.adequacy.report import exit_code as adequacy_exit_code
from backbench.adequacy.report import render_table as adequacy_table
from backbench.catalogue import (
    ERROR,
    CatalogueError,
    Scenario,
    all_scenarios,
    scenario_folders,
    select,
    tasks_dir,
)
from backbench.catalogue_check import check_folder, hidden_test_names
from backbench.identity import adequacy_sha256, validation_sha256
from backbench.report_cli import USAGE_ERROR, add_gate, add_report
from backbench.schema_docs import write_schema_docs
from backbench.validate import (
    FAST_LOAD_SECONDS,
    FULL_LOAD_SECONDS,
    PARALLEL_EVALS,
    changed,
    exit_code,
    render_table,
    validated_hashes,
)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `backbench` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except CatalogueError as ex:
        for line in str(ex).splitlines():
            print(f"backbench: error: {line}", file=sys.stderr)
        return USAGE_ERROR
    return code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-parser per subcommand, each with its handler."""
    parser = argparse.ArgumentParser(
        prog="backbench", description="Tools for the backbench evaluation harness."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_catalogue(commands)
    _add_validate(commands)
    _add_adequacy(commands)
    add_report(commands)
    add_gate(commands)
    return parser


def _add_catalogue(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    catalogue = commands.add_parser(
        "catalogue",
        help="list the scenarios; --check validates every scenario folder",
        description=(
            "List the sections and scenarios of tasks/. With --check, validate every scenario "
            "folder (scenario.yaml against the schema, and the files it needs): one line per "
            f"problem, exit {USAGE_ERROR} on any error. With --schema, write the JSON Schema of "
            "scenario.yaml and the field table of docs/scenarios.md."
        ),
    )
    catalogue.add_argument("--check", action="store_true", help="validate the scenario folders")
    catalogue.add_argument("--scenarios", help="comma-separated scenario ids (default: all)")
    catalogue.add_argument("--section", help="only the scenarios of this section of tasks/")
    catalogue.add_argument(
        "--schema", nargs="?", type=Path, const=Path(), metavar="DIR",
        help="write scenario.schema.json (and refresh scenarios.md) in DIR (default: docs/)",
    )  # fmt: skip
    catalogue.set_defaults(handler=_catalogue)


def _add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = commands.add_parser(
        "validate",
        help="prove every scenario's oracles: the reference passes, null fails, mutants are caught",
        description=(
            "Score each scenario's reference solution, the empty submission and every mutant "
            "through `inspect eval`, and check each is judged as its scenario declares."
        ),
    )
    validate.add_argument("--scenarios", help="comma-separated scenario ids (default: all)")
    validate.add_argument("--section", help="only the scenarios of this section of tasks/")
    validate.add_argument(
        "--fast", action="store_true",
        help=f"{FAST_LOAD_SECONDS:g} s load tests (default {FULL_LOAD_SECONDS:g} s); "
        "results/validation/README.md is left as it is",
    )  # fmt: skip
    validate.add_argument(
        "--full", action="store_true",
        help="every stage for every mutant (default: the functional stage and the one its "
        "declared check needs: the probes for a probe, the load for an SLO metric)",
    )  # fmt: skip
    validate.add_argument(
        "--load-seconds", type=float, help="load test duration (overrides --fast's)"
    )
    validate.add_argument(
        "--changed", action="store_true",
        help="only the scenarios whose content differs from the last full validation recorded "
        "in the output folder (what CI runs); none changed: exit 0 at once",
    )  # fmt: skip
    validate.add_argument(
        "--repeat", type=int, default=1, metavar="N",
        help="score the reference N times; a verdict that flips is an error",
    )  # fmt: skip
    validate.add_argument(
        "--keep-logs", type=Path, metavar="DIR", help="keep the .eval logs under DIR"
    )
    validate.add_argument(
        "--jobs", type=int, default=PARALLEL_EVALS, metavar="J",
        help=f"`inspect eval`s run at once (default {PARALLEL_EVALS})",
    )  # fmt: skip
    validate.add_argument(
        "--sandbox", help="passed on as the task's sandbox parameter (default: the task's)"
    )
    validate.add_argument(
        "--output", type=Path, metavar="DIR",
        help="where the JSON results and README go (default: results/validation/)",
    )  # fmt: skip
    validate.set_defaults(handler=_validate)


def chosen_scenarios(section: str | None, scenarios: str | None) -> list[Scenario]:
    """The scenarios a --section and --scenarios selection names; CatalogueError if unknown."""
    catalogue = all_scenarios()
    if section:
        sections = sorted({s.section for s in catalogue})
        if section not in sections:
            raise CatalogueError(f"unknown section {section!r}; known: {', '.join(sections)}")
        catalogue = [s for s in catalogue if s.section == section]
    chosen = select(catalogue, scenarios)
    if not chosen:
        raise CatalogueError("no scenarios to validate")
    return chosen


def _validate(args: argparse.Namespace) -> int:
    # imported here: it loads inspect_ai, which `backbench catalogue` has no use for
    from backbench.validate_run import (
        Plan,
        default_output,
        recorded_runs,
        run_validation,
        write_results,
    )

    if args.repeat < 1:
        raise CatalogueError(f"--repeat must be at least 1, got {args.repeat}")
    if args.jobs < 1:
        raise CatalogueError(f"--jobs must be at least 1, got {args.jobs}")
    load_seconds = args.load_seconds or (FAST_LOAD_SECONDS if args.fast else FULL_LOAD_SECONDS)
    if load_seconds <= 0:
        raise CatalogueError(f"--load-seconds must be positive, got {load_seconds:g}")
    scenarios = chosen_scenarios(args.section, args.scenarios)
    output = args.output or default_output()
    if args.changed:
        current = {s.id: validation_sha256(s.folder) for s in scenarios}
        stale = set(changed(current, validated_hashes(recorded_runs(output))))
        scenarios = [s for s in scenarios if s.id in stale]
        print(f"{len(scenarios)} scenario(s) changed since their last full validation: "
              f"{', '.join(s.id for s in scenarios) or 'none'}", file=sys.stderr)  # fmt: skip
        if not scenarios:
            return 0
    plan = Plan(
        scenarios=scenarios,
        load_seconds=load_seconds,
        repeat=args.repeat,
        fast=args.fast,
        full=args.full,
        keep_logs=args.keep_logs,
        sandbox=args.sandbox,
        jobs=args.jobs,
    )
    print(
        f"validating {len(plan.scenarios)} scenario(s) with {load_seconds:g} s load tests",
        file=sys.stderr,
    )
    checks, run = run_validation(plan, lambda line: print(line, file=sys.stderr, flush=True))
    print(render_table(checks))
    # the README shows every scenario's newest full run: a run of the changed ones refreshes it
    catalogue = [s.id for s in all_scenarios()]
    path = write_results(run, output, args.fast, catalogue=catalogue)
    s = run["summary"]
    print(
        f"\n{s['errors']} error(s), {s['warnings']} warning(s) in {run['wall_seconds']:.0f} s; "
        f"results: {path}"
    )
    return exit_code(checks)


def _catalogue(args: argparse.Namespace) -> int:
    if args.schema is not None:
        docs = args.schema if args.schema != Path() else tasks_dir().parent / "docs"
        for path in write_schema_docs(docs):
            print(f"wrote {path}")
        return 0
    if args.check:
        return _check(chosen_folders(args.section, args.scenarios))
    for section, scenarios in _by_section(chosen_scenarios(args.section, args.scenarios)):
        print(f"{section}: {len(scenarios)} scenario(s)")
        print(render_listing(scenarios))
    return 0


def chosen_folders(section: str | None, scenarios: str | None) -> list[Path]:
    """The scenario folders a selection names, by folder name (the id may be what is broken)."""
    folders = scenario_folders()
    if section:
        sections = sorted({f.parent.name for f in folders})
        if section not in sections:
            raise CatalogueError(f"unknown section {section!r}; known: {', '.join(sections)}")
        folders = [f for f in folders if f.parent.name == section]
    if scenarios:
        wanted = [w.strip() for w in scenarios.split(",")]
        known = {f.name for f in folders}
        unknown = [w for w in wanted if w not in known]
        if unknown:
            raise CatalogueError(
                f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        folders = [f for f in folders if f.name in wanted]
    if not folders:
        raise CatalogueError("no scenarios to check")
    return folders


def _check(folders: list[Path]) -> int:
    problems = [p for folder in folders for p in check_folder(folder)]
    for problem in problems:
        print(problem)
    errors = sum(p.severity == ERROR for p in problems)
    warnings = len(problems) - errors
    print(f"checked {len(folders)} scenario folder(s): {errors} error(s), {warnings} warning(s)")
    return USAGE_ERROR if errors else 0


def _by_section(scenarios: list[Scenario]) -> list[tuple[str, list[Scenario]]]:
    sections = sorted({s.section for s in scenarios})
    return [(sec, [s for s in scenarios if s.section == sec]) for sec in sections]


LISTING_COLUMNS = ("id", "title", "services", "tests", "mutants", "rules")


def render_listing(scenarios: list[Scenario]) -> str:
    """One row per scenario: id, title, services, and how many tests, mutants and rules."""
    rows = [
        [s.id, s.title, ",".join(s.services), str(len(hidden_test_names(s.tests_dir))),
         str(len(s.mutants)), str(len(s.rules))]
        for s in scenarios
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in [list(LISTING_COLUMNS), *rows]) for i in range(6)]
    lines = [list(LISTING_COLUMNS), *rows]
    return "\n".join(
        "  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in lines
    )


DEFAULT_MAX_MUTANTS = 40
DEFAULT_JOBS = 2


def _add_adequacy(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "adequacy",
        help="mutate each reference solution and report how many mutants the hidden tests kill",
        description=(
            "Generate mutants of each scenario's reference solution, score each through the "
            "functional stage (start.sh against a fresh database, the hidden tests over HTTP), "
            "and report the kill rate and every surviving mutant. Exit 1 if a scenario is "
            "under --min-kill-rate."
        ),
    )
    parser.add_argument("--scenarios", help="comma-separated scenario ids (default: all)")
    parser.add_argument("--section", help="only the scenarios of this section of tasks/")
    parser.add_argument(
        "--changed", action="store_true",
        help="only scenarios whose metadata, reference or tests changed since their last "
        "measurement under the output folder (what CI runs)",
    )  # fmt: skip
    parser.add_argument(
        "--max-mutants", type=int, default=DEFAULT_MAX_MUTANTS, metavar="N",
        help=f"most mutants run per scenario, 0 for all (default {DEFAULT_MAX_MUTANTS})",
    )  # fmt: skip
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the mutant selection (default 0)"
    )
    parser.add_argument(
        "--jobs", type=int, default=DEFAULT_JOBS, metavar="J",
        help=f"sandboxes scoring mutants at once (default {DEFAULT_JOBS})",
    )  # fmt: skip
    parser.add_argument(
        "--no-regression", action="store_true",
        help="a scenario under --min-kill-rate passes while it is not under its last recorded "
        "kill rate (what CI runs: tests may land before the target is reached)",
    )  # fmt: skip
    parser.add_argument(
        "--min-kill-rate", type=float, default=DEFAULT_MIN_KILL_RATE, metavar="R",
        help=f"fail under this kill rate in any scenario (default {DEFAULT_MIN_KILL_RATE:g})",
    )  # fmt: skip
    parser.add_argument(
        "--sandbox", choices=["namespace", "local"],
        help="sample sandbox (default: namespace where supported, else local)",
    )  # fmt: skip
    parser.add_argument("--list", action="store_true", help="print the selected mutants and stop")
    parser.add_argument(
        "--output", type=Path, metavar="DIR",
        help="where the JSON results and README go (default: results/adequacy/)",
    )  # fmt: skip
    parser.set_defaults(handler=_adequacy)


def _adequacy(args: argparse.Namespace) -> int:
    if args.max_mutants < 0 or args.jobs < 1 or not 0 <= args.min_kill_rate <= 1:
        raise CatalogueError("--max-mutants >= 0, --jobs >= 1 and 0 <= --min-kill-rate <= 1")
    # imported here: it loads inspect_ai, which `backbench catalogue` has no use for
    from backbench.adequacy import run as adequacy

    output = args.output or adequacy.default_output()
    # read before this run records its own
    floors = last_kill_rates(output) if args.no_regression else None
    scenarios = chosen_scenarios(args.section, args.scenarios)
    # a review or a test suite has no code of its own to mutate: validate's declared mutants
    # and the reference suite's kill rate stand in for it (docs/scenarios.md)
    offline = [s.id for s in scenarios if not s.kind_spec.server]
    if offline:
        print(f"adequacy: not for {', '.join(offline)} (no server code; validate stands in)",
              file=sys.stderr)  # fmt: skip
    scenarios = [s for s in scenarios if s.kind_spec.server]
    if args.changed:
        recorded = last_digests(output)
        scenarios = [s for s in scenarios if recorded.get(s.id) != adequacy_sha256(s.folder)]
        print(f"{len(scenarios)} scenario(s) changed since their last adequacy measurement: "
              f"{', '.join(s.id for s in scenarios) or 'none'}", file=sys.stderr)  # fmt: skip
        if not scenarios:
            return 0
    max_mutants = args.max_mutants or None
    if args.list:
        for scenario in scenarios:
            chosen = select_mutants(
                mutants_of_folder(scenario.reference_dir, scenario.unmutated),
                max_mutants,
                args.seed,
            )
            for mutant in chosen:
                print(f"{scenario.id}\t{mutant.id}\t{mutant.description}")
        return 0
    plan = adequacy.Plan(
        scenarios=scenarios, max_mutants=max_mutants, seed=args.seed, jobs=args.jobs,
        min_kill_rate=args.min_kill_rate, sandbox=args.sandbox or adequacy.default_sandbox(),
    )  # fmt: skip
    print(f"adequacy: {len(scenarios)} scenario(s), {plan.sandbox} sandbox", file=sys.stderr)
    reports, run = adequacy.run_adequacy(
        plan, lambda line: print(line, file=sys.stderr, flush=True)
    )
    whole = {s.id for s in scenarios} == {s.id for s in all_scenarios()}
    path = adequacy.write_results(run, output, readme=whole)
    print(adequacy_table(run))
    print(f"\n{run['wall_seconds']:.0f} s; results: {path}")
    return adequacy_exit_code(reports, args.min_kill_rate, floors)
