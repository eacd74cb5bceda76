"""The `backbench` command line: `backbench validate` (more subcommands to come)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from backbench.catalogue import CatalogueError, Scenario, all_scenarios, select
from backbench.identity import folder_sha256
from backbench.validate import (
    FAST_LOAD_SECONDS,
    FULL_LOAD_SECONDS,
    changed,
    exit_code,
    render_table,
    validated_hashes,
)
from backbench.validate_run import (
    Plan,
    default_output,
    recorded_runs,
    run_validation,
    write_results,
)

USAGE_ERROR = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `backbench` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except CatalogueError as ex:
        print(f"backbench: error: {ex}", file=sys.stderr)
        return USAGE_ERROR
    return code


def build_parser() -> argparse.ArgumentParser:
    """The argument parser: one sub-parser per subcommand, each with its handler."""
    parser = argparse.ArgumentParser(
        prog="backbench", description="Tools for the backbench evaluation harness."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_validate(commands)
    return parser


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
    if args.repeat < 1:
        raise CatalogueError(f"--repeat must be at least 1, got {args.repeat}")
    load_seconds = args.load_seconds or (FAST_LOAD_SECONDS if args.fast else FULL_LOAD_SECONDS)
    if load_seconds <= 0:
        raise CatalogueError(f"--load-seconds must be positive, got {load_seconds:g}")
    scenarios = chosen_scenarios(args.section, args.scenarios)
    output = args.output or default_output()
    if args.changed:
        current = {s.id: folder_sha256(s.folder) for s in scenarios}
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
        keep_logs=args.keep_logs,
        sandbox=args.sandbox,
    )
    print(
        f"validating {len(plan.scenarios)} scenario(s) with {load_seconds:g} s load tests",
        file=sys.stderr,
    )
    checks, run = run_validation(plan, lambda line: print(line, file=sys.stderr, flush=True))
    print(render_table(checks))
    whole = {s.id for s in plan.scenarios} >= {s.id for s in all_scenarios()}
    path = write_results(run, output, args.fast, readme=whole)
    s = run["summary"]
    print(
        f"\n{s['errors']} error(s), {s['warnings']} warning(s) in {run['wall_seconds']:.0f} s; "
        f"results: {path}"
    )
    return exit_code(checks)
