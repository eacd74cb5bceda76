"""The regular expressions a submission's code uses and the ones that backtrack catastrophically:
the patterns given to re's functions or named as a pattern, regexploit's analysis of them in a
child process (this module's `_worker`, started with `python -I -c`, with a
timer on every pattern, since the analysis can run for ever on a hostile one), and the attack
string of each finding.
"""

from __future__ import annotations

import ast
import json
import math
import re
import subprocess
import sys
from typing import Any

from backbench.scoring.code_surface.tree import _arg, _dedupe, _Index, _last

MAX_PATTERN = 500
MAX_CANDIDATES = 200
PATTERN_SECONDS = 0.5
ANALYSIS_TIMEOUT = 20
# attack sizes, about 4e9 backtracking steps: seconds of CPython's re (measured here: the
# weakest cubic and quartic patterns take 4-5 s, (a+)+ takes 20-45 s at 30 repeats)
EXPONENTIAL_REPEATS = 30
POLYNOMIAL_STEPS = 4e9
MAX_ATTACK = 100_000
# re's functions, and the position of their flags argument
RE_FUNCS = {"compile": 1, "match": 2, "fullmatch": 2, "search": 2, "sub": 4, "subn": 4,
            "findall": 2, "finditer": 2, "split": 3}  # fmt: skip
REGEX_NAME = re.compile(r"pattern|regex|(^|_)re($|_)", re.I)


def _flags(node: ast.AST | None) -> int:
    flags = 0
    for n in ast.walk(node) if node is not None else []:
        name = _last(n)
        if name and name.isupper() and isinstance(getattr(re, name, None), re.RegexFlag):
            flags |= int(getattr(re, name))
    return flags


def _patterns(index: _Index) -> list[tuple[str, int, str, int]]:
    """(pattern, flags, file, line) of every string the code uses as a regular expression."""
    found: list[tuple[ast.AST, int, str, int]] = []
    for file in index.files.values():
        for node in file.nodes:
            if isinstance(node, ast.Call):
                name, func = _last(node.func), node.func
                module = _last(func.value) if isinstance(func, ast.Attribute) else None
                if isinstance(func, ast.Name):  # from re import compile (as rx)
                    module, _, name = file.imports.get(func.id, "").rpartition(".")
                if name in RE_FUNCS and module in ("re", "regex") and node.args:
                    flags = _arg(node, RE_FUNCS[name], "flags")
                    found.append((node.args[0], _flags(flags), file.name, node.lineno))
                found += [(k.value, 0, file.name, node.lineno) for k in node.keywords
                          if k.arg in ("pattern", "regex")]  # fmt: skip
            elif (
                isinstance(node, ast.Assign)
                and isinstance(file.scope_of(node), (ast.ClassDef, type(None)))
                and any(isinstance(t, ast.Name) and REGEX_NAME.search(t.id) for t in node.targets)
            ):  # module or class level  # fmt: skip
                found.append((node.value, 0, file.name, node.lineno))
    kept = [
        (node.value, flags, file, line) for node, flags, file, line in found
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and 0 < len(node.value) <= MAX_PATTERN
    ]  # fmt: skip
    return _dedupe(kept, lambda p: (p[0], p[1]))[:MAX_CANDIDATES]


def _vulnerable(patterns: list[tuple[str, int, str, int]]) -> list[dict[str, Any]]:
    """The patterns regexploit finds vulnerable, exponential ones first, with attack strings."""
    found = _analyse([(p, flags) for p, flags, _, _ in patterns])
    regexes = [
        {"pattern": p, "attack": found[(p, flags)][0], "file": f, "line": line,
         "kind": found[(p, flags)][1]}
        for p, flags, f, line in patterns if (p, flags) in found
    ]  # fmt: skip
    return sorted(regexes, key=lambda r: r["kind"] != "exponential")


def _analyse(candidates: list[tuple[str, int]]) -> dict[tuple[str, int], tuple[str, str]]:
    """(attack, kind) of each vulnerable (pattern, flags), found by regexploit in a child
    process: its analysis can run for ever on a hostile pattern, and a thread cannot be
    stopped. The child times each pattern; the timeout here only backs that up."""
    if not candidates:
        return {}
    # -c, not -m: running a module of an imported package as __main__ warns on every run
    command = [sys.executable, "-I", "-c", f"from {__name__} import _worker; _worker()"]
    try:
        done = subprocess.run(
            command, input=json.dumps(candidates), capture_output=True, text=True,
            timeout=min(ANALYSIS_TIMEOUT, 5 + PATTERN_SECONDS * len(candidates)), check=False,
        )  # fmt: skip
        output: str | bytes | None = done.stdout
    except subprocess.TimeoutExpired as expired:
        output = expired.stdout
    text = output.decode(errors="replace") if isinstance(output, bytes) else output or ""
    found = {}
    for line in text.splitlines():
        try:
            pattern, flags, attack, kind = json.loads(line)
        except (ValueError, TypeError):
            continue  # a line cut by the timeout
        found[(pattern, flags)] = (attack, kind)
    return found


def attack_string(redos: Any) -> tuple[str, str]:
    """(attack string, kind) of one of regexploit's findings: its prefix, the repeated
    character enough times for seconds of CPython backtracking, then the character that
    makes the match fail (as regexploit's own Redos.example builds it)."""
    repeated, killer = redos.repeated_character, redos.killer
    if killer is not None and (both := repeated & killer):
        repeated, killer = both, None
    prefix, tail = redos.example_prefix, killer.example() if killer is not None else ""
    if redos.starriness > 10:
        kind, repeats = "exponential", EXPONENTIAL_REPEATS
    else:
        degree = redos.starriness
        kind = "polynomial"
        repeats = math.ceil((POLYNOMIAL_STEPS * math.factorial(degree)) ** (1 / degree))
    repeats = min(repeats, MAX_ATTACK - len(prefix) - len(tail))
    return prefix + repeated.example() * repeats + tail, kind


def _worker() -> None:
    """The child of _analyse: [pattern, flags] pairs on stdin, one JSON line per vulnerable
    one, each pattern's analysis under a timer (regexploit never catches the alarm)."""
    import resource
    import signal

    from regexploit.ast.sre import SreOpParser
    from regexploit.redos import find

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError

    resource.setrlimit(resource.RLIMIT_AS, (2**31, 2**31))
    signal.signal(signal.SIGALRM, expire)
    for pattern, flags in json.load(sys.stdin):
        signal.setitimer(signal.ITIMER_REAL, PATTERN_SECONDS)
        try:
            parsed = SreOpParser().parse_sre(pattern, flags)
            worst = next((r for r in find(parsed) if r.starriness > 2), None) if parsed else None
            found = attack_string(worst) if worst is not None else None
        except Exception:  # noqa: BLE001 - unparsable, too slow, or too big: not reported
            found = None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
        if found is not None:
            print(json.dumps([pattern, flags, *found]), flush=True)
