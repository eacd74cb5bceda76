"""What a submission's source reveals to the security stage: routes, request keys, regexes and
string literals.

The agent's Python is read with `ast`, never imported or run (it is hostile), so the probe
families (backbench.scoring.exploits) can attack what the code exposes beyond what the contract
documents: routes nobody documented and the request keys their handlers read, the attack strings
of its regular expressions that backtrack catastrophically, and the literals that may be
hard-coded credentials (CWE-798). Everything is best effort and bounded: a file that does not
parse is skipped, each file is walked once, every list has a cap, and regexploit (whose branch
expansion is exponential on a hostile pattern) runs in a child process with a timer on every
pattern.

The work is split by what is read: `tree` parses the files and indexes what they say about one
another, `routes` finds the routes, `params` the request keys, `regexes` the vulnerable regexes
(its `_worker` is the child process) and `literals` the credential candidates.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from backbench.sandbox.paths import read_no_follow
from backbench.scoring.code_surface.literals import _literals
from backbench.scoring.code_surface.params import _params
from backbench.scoring.code_surface.regexes import _patterns, _vulnerable, attack_string
from backbench.scoring.code_surface.routes import _routes
from backbench.scoring.code_surface.tree import _dedupe, _index, _parse
from backbench.scoring.source_files import python_files

__all__ = ["MAX_ROUTES", "attack_string", "code_surface", "code_surface_of"]

MAX_ROUTES, MAX_PARAMS, MAX_REGEXES, MAX_LITERALS = 200, 200, 50, 60
READ_LIMIT = 512_000
# all files together, smallest first: the service's own modules are rarely the big ones
TOTAL_LIMIT = 2_000_000


def code_surface(files: dict[str, str]) -> dict[str, Any]:
    """Routes, request keys, vulnerable regexes and credential candidates of a submission's
    .py files (relative path -> source), as JSON; see the module's docstring."""
    index = _index(_parse(files))
    order = {f: n for n, f in enumerate(index.files)}
    every = [r for f in index.files.values() for r in _routes(index, f)]
    every.sort(key=lambda r: (order[r.file], r.line))
    routes = _dedupe(every, lambda r: r.label)[:MAX_ROUTES]
    params, per_route = _params(index, routes)
    patterns = _patterns(index)
    exclude = {p["name"] for p in params} | {p for p, _, _, _ in patterns}
    return {
        "routes": [
            {"method": r.method, "path": r.path, "file": r.file, "line": r.line,
             "params": per_route.get(r.label, [])}
            for r in routes
        ],
        "params": params[:MAX_PARAMS],
        "regexes": _vulnerable(patterns)[:MAX_REGEXES],
        "literals": _literals(index, exclude)[:MAX_LITERALS],
    }  # fmt: skip


def code_surface_of(root: Path) -> dict[str, Any]:
    """code_surface of a workspace's own .py files, read without following any link the agent
    made: up to READ_LIMIT bytes each, TOTAL_LIMIT in all, smallest files first."""
    files: dict[str, str] = {}
    total = 0
    for path in sorted(python_files(root), key=_size):
        name = path.relative_to(root).as_posix()
        data = read_no_follow(root, name, limit=READ_LIMIT)
        if data is None or total + len(data) > TOTAL_LIMIT:
            continue
        total += len(data)
        files[name] = data.decode("utf-8", errors="replace")
    return code_surface(files)


def _size(path: Path) -> int:
    try:
        return path.lstat().st_size
    except OSError:
        return 0
