"""The static rules: each in both directions, the pure verdict, the run, and honest flags."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from inspect_ai.util import ExecResult

from backbench.runtime import HarnessError
from backbench.sandbox.processes import run_capped
from backbench.scoring.static_rules import (
    RULES,
    UNSCORED_BY_CHOICE,
    StaticFinding,
    run_static_rules,
    scan,
    scan_folder,
    static_findings,
)
from tests.conftest import REPO

# (rule, vulnerable code, its fixed twin); each file is app.py unless the code names one
CASES: list[tuple[str, str, str]] = [
    ("debug-mode", "app.run(host='0.0.0.0', debug=True)", "app.run(host='0.0.0.0', debug=False)"),
    ("debug-mode", "app.debug = True", "app.debug = False"),
    ("debug-mode", "app.config['DEBUG'] = True", "app.config['DEBUG'] = False"),
    ("debug-mode", "app.config.update(DEBUG=True)", "app.config.update(TESTING=True)"),
    ("debug-mode", "app = FastAPI(debug=True)", "app = FastAPI()"),
    ("debug-mode", "app = Starlette(debug=True, routes=[])", "app = Starlette(routes=[])"),
    (
        "debug-mode",
        "# settings.py\nINSTALLED_APPS = []\nDEBUG = True",
        "# settings.py\nDEBUG = False",
    ),
    (
        "debug-mode",
        "run_simple('0.0.0.0', 80, app, use_debugger=True)",
        "run_simple('0.0.0.0', 80, app)",
    ),
    ("debug-mode", "run_simple('0.0.0.0', 80, app, use_evalex=True)", "run_simple('::', 80, app)"),
    (
        "sql-value-spliced",
        "def get(cur, item_id):\n    cur.execute(f'SELECT * FROM items WHERE id = {item_id}')",
        "def get(cur, item_id):\n    cur.execute('SELECT * FROM items WHERE id = %s', (item_id,))",
    ),
    (
        "sql-value-spliced",
        "def get(cur, name):\n    cur.execute(\"SELECT * FROM t WHERE name = '%s'\" % name)",
        "def get(cur, name):\n    cur.execute('SELECT * FROM t WHERE name = %s', (name,))",
    ),
    (
        "sql-value-spliced",
        "def get(cur, name):\n"
        '    cur.executemany("DELETE FROM t WHERE name = \'" + name + "\'", [])',
        "def get(cur, name):\n    cur.executemany('DELETE FROM t WHERE name = %s', [(name,)])",
    ),
    (
        "sql-value-spliced",
        "def get(pool, n):\n"
        "    q = 'UPDATE t SET a = 1 WHERE id = {}'.format(n)\n    pool.fetchval(q)",
        "def get(pool, n):\n    q = 'UPDATE t SET a = 1 WHERE id = $1'\n    pool.fetchval(q, n)",
    ),
    (
        "sql-value-spliced",
        "def get(pool, n):\n    return pool.fetchrow(f'SELECT a FROM t LIMIT {n}')",
        "def get(pool, n):\n    return pool.fetchrow(f'SELECT a FROM t LIMIT {int(n)}')",
    ),
    (
        "sql-value-spliced",
        "def get(s, q):\n    where = f\"WHERE title ~* '{q}'\" if q else ''\n"
        "    return s.execute(text(f'SELECT id FROM notes {where}'))",
        "def get(s, q):\n    where = 'WHERE title ~* :q' if q else ''\n"
        "    return s.execute(text(f'SELECT id FROM notes {where}'), {'q': q})",
    ),
    (
        "sql-value-spliced",
        'def get(m, x):\n    return m.objects.raw(f"SELECT * FROM t WHERE a IN ({x})")',
        "def get(m, x):\n    return m.objects.raw('SELECT * FROM t WHERE a IN %s', [x])",
    ),
    (
        "sql-value-spliced",
        "SELECT_ONE = 'SELECT * FROM t WHERE id = %s'\n"
        "def get(c, raw):\n    return c.exec_driver_sql(SELECT_ONE.replace('%s', raw))",
        "SELECT_ONE = 'SELECT * FROM t WHERE id = %s'\n"
        "def get(c, raw):\n    return c.exec_driver_sql(SELECT_ONE, (int(raw),))",
    ),
    (
        "sql-value-spliced",
        "def get(c, name):\n    c.executescript(f\"INSERT INTO t (n) VALUES ('{name}')\")",
        "def get(c, name):\n    c.execute('INSERT INTO t (n) VALUES (?)', (name,))",
    ),
    (
        "sql-value-spliced",
        "from psycopg import sql\ndef get(conditions, name):\n"
        '    conditions.append(sql.SQL("name = \'" + name + "\'"))',
        "from psycopg import sql\ndef get(conditions, name):\n"
        "    conditions.append(sql.SQL('name = {}').format(sql.Literal(name)))",
    ),
    (
        "sql-string-built",
        "def page(cur, column):\n    cur.execute(f'SELECT a FROM t ORDER BY {column}')",
        "ORDERS = {'a': 'a ASC', '-a': 'a DESC'}\n"
        "def page(cur, sort):\n    cur.execute(f'SELECT a FROM t ORDER BY {ORDERS[sort]}')",
    ),
    (
        "sql-string-built",
        "def page(cur, cols):\n    cur.mogrify('SELECT ' + ', '.join(cols) + ' FROM t')",
        "COLUMNS = 'id, name'\ndef page(cur):\n    cur.mogrify(f'SELECT {COLUMNS} FROM t')",
    ),
    (
        "sql-value-spliced",
        "FIND = 'SELECT * FROM t WHERE id = '\ndef get(cur, n):\n    cur.execute(FIND + n)",
        "FIND = 'SELECT * FROM t WHERE id = %s'\ndef get(cur, n):\n    cur.execute(FIND, (n,))",
    ),
    (
        "eval-exec",
        "def run(expr):\n    return eval(expr)",
        "def run(expr):\n    return eval('1 + 2')",
    ),
    (
        "eval-exec",
        "def run(code):\n    exec(code, {})",
        "import ast\ndef run(code):\n    ast.literal_eval(code)",
    ),
    (
        "unsafe-deserialization",
        "import pickle\nobj = pickle.loads(data)",
        "import json\nobj = json.loads(data)",
    ),
    (
        "unsafe-deserialization",
        "from pickle import load as l\nobj = l(f)",
        "import json\nobj = json.load(f)",
    ),
    (
        "unsafe-deserialization",
        "import yaml\nyaml.load(text)",
        "import yaml\nyaml.load(text, Loader=yaml.SafeLoader)",
    ),
    (
        "unsafe-deserialization",
        "import yaml\nyaml.load(text, Loader=yaml.Loader)",
        "import yaml\nyaml.safe_load(text)",
    ),
    (
        "unsafe-deserialization",
        "import yaml\nyaml.unsafe_load(text)",
        "import yaml\nyaml.safe_load_all(text)",
    ),
    (
        "unsafe-deserialization",
        "import marshal\nmarshal.loads(blob)",
        "import json\njson.loads(blob)",
    ),
    (
        "unsafe-deserialization",
        "import jsonpickle\njsonpickle.decode(s)",
        "import jsonpickle\njsonpickle.encode(s)",
    ),
    ("hardcoded-secret", "SECRET_KEY = 'dev'", "import os\nSECRET_KEY = os.environ['SECRET_KEY']"),
    (
        "hardcoded-secret",
        "app.secret_key = 'changeme'",
        "import secrets\napp.secret_key = secrets.token_hex(32)",
    ),
    (
        "hardcoded-secret",
        "app.config['SECRET_KEY'] = 'x'",
        "app.config['SECRET_KEY'] = key_from_vault()",
    ),
    ("hardcoded-secret", "API_TOKEN = 'ghp_1234567890abcdef'", "API_TOKEN_HEADER = 'X-Api-Token'"),
    (
        "hardcoded-secret",
        "db = connect(password='postgres123')",
        "db = connect(password=os.environ['PGPASSWORD'])",
    ),
    (
        "hardcoded-secret",
        "CREDS = {'api_key': 'abcd1234efgh'}",
        "CREDS = {'api_key': os.environ['API_KEY']}",
    ),
    (
        "hardcoded-secret",
        "import jwt\njwt.encode(claims, 'k', algorithm='HS256')",
        "import jwt\njwt.encode(claims, KEY, algorithm='HS256')",
    ),
    (
        "hardcoded-secret",
        "import jwt\njwt.decode(t, key='k', algorithms=['HS256'])",
        "import jwt\njwt.decode(t, key=k, algorithms=['HS256'])",
    ),
    (
        "hardcoded-secret",
        "import hmac\nhmac.new(b'key', msg, 'sha256')",
        "import hmac\nhmac.new(key, msg, 'sha256')",
    ),
    (
        "hardcoded-secret",
        "from itsdangerous import URLSafeTimedSerializer\ns = URLSafeTimedSerializer('k')",
        "from itsdangerous import URLSafeTimedSerializer\ns = URLSafeTimedSerializer(k)",
    ),
    (
        "secret-env-default",
        "import os\nkey = os.environ.get('JWT_SECRET', 'dev')",
        "import os\nkey = os.environ.get('JWT_SECRET', '')",
    ),
    (
        "secret-env-default",
        "import os\nkey = os.getenv('API_KEY', 'abc')",
        "import os\nsize = os.getenv('TOKEN_BUCKET_SIZE', '20')",
    ),
    (
        "hardcoded-secret",
        "def ok(password):\n    return password == 'hunter2hunter2'",
        "def ok(scheme):\n    return scheme == 'bearer'",
    ),
    (
        "hardcoded-secret",
        "def f(token='root:Milvus'):\n    pass",
        "def f(token_type='Bearer'):\n    pass",
    ),
    (
        "hardcoded-secret",
        "PASSWORD = 'Pa55word!'",
        "RESET_TOKEN = 'set-password'\nshown = url(password='********')",
    ),
    (
        "weak-password-hash",
        "import hashlib\ndef store(password):\n"
        "    return hashlib.sha256(password.encode()).hexdigest()",
        "import hashlib\ndef store(password, salt):\n"
        "    return hashlib.pbkdf2_hmac('sha256', password.encode(), salt, 600_000)",
    ),
    (
        "weak-password-hash",
        "import hashlib\ndef store(body):\n    return hashlib.new('md5', body.pwd.encode())",
        "import hashlib\ndef store(body, salt):\n"
        "    return hashlib.scrypt(body.pwd.encode(), salt=salt, n=2**14, r=8, p=1)",
    ),
    (
        "weak-password-hash",
        "import hashlib\ndef store(user, secret):\n"
        "    user.password_hash = hashlib.sha1(secret).hexdigest()",
        "import bcrypt\ndef store(user, secret):\n"
        "    user.password_hash = bcrypt.hashpw(secret, bcrypt.gensalt())",
    ),
    (
        "weak-password-hash",
        "import hashlib\ndef store(password):\n"
        "    h = hashlib.sha512()\n    h.update(password)\n    return h",
        "import hashlib\nimport bcrypt\ndef store(password):\n"
        "    return bcrypt.hashpw(hashlib.sha256(password).digest(), bcrypt.gensalt())",
    ),
    (
        "weak-password-hash",
        "from hashlib import blake2b\nrow = {'pass_hash': blake2b(data).hexdigest()}",
        "from hashlib import blake2b\nrow = {'etag': blake2b(data).hexdigest()}",
    ),
    (
        "shell-command",
        "import subprocess\ndef ls(path):\n    subprocess.run(f'ls {path}', shell=True)",
        "import subprocess\ndef ls(path):\n    subprocess.run(['ls', path])",
    ),
    (
        "shell-command",
        "import os\ndef ping(host):\n    os.system('ping ' + host)",
        "import os\nos.system('uptime')",
    ),
    (
        "tls-unverified",
        "import requests\nrequests.get(url, verify=False)",
        "import requests\nrequests.get(url, timeout=5)",
    ),
    (
        "tls-unverified",
        "import httpx\nc = httpx.AsyncClient(verify=False)",
        "import httpx\nc = httpx.AsyncClient()",
    ),
    (
        "tls-unverified",
        "import ssl\nctx = ssl._create_unverified_context()",
        "import ssl\nctx = ssl.create_default_context()",
    ),
    (
        "tls-unverified",
        "import ssl\nctx.verify_mode = ssl.CERT_NONE",
        "import ssl\nctx.verify_mode = ssl.CERT_REQUIRED",
    ),
    (
        "tls-unverified",
        "import ssl\nwrap(sock, cert_reqs=ssl.CERT_NONE)",
        "import ssl\nchecked = mode != ssl.CERT_NONE",
    ),
    (
        "jwt-unverified",
        "import jwt\njwt.decode(t, k, algorithms=['HS256'], options={'verify_signature': False})",
        "import jwt\njwt.decode(t, k, algorithms=['HS256'])",
    ),
    (
        "jwt-unverified",
        "import jwt\njwt.decode(t, k, algorithms=['none'])",
        "import jwt\njwt.decode(t, k, algorithms=['RS256'])",
    ),
]


def readme_table(name: str) -> list[list[str]]:
    """The rows (cells stripped) of the README table between `<!-- name: -->` and its end."""
    text = (REPO / "README.md").read_text()
    match = re.search(rf"<!-- {name}:.*?-->(.*?)<!-- /{name} -->", text, re.S)
    assert match, f"README has no {name} block"
    rows = [line for line in match.group(1).splitlines() if line.startswith("| ")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def write(folder: Path, code: str) -> Path:
    """`code` as app.py in `folder` (or as the file its first-line comment names)."""
    first = code.splitlines()[0]
    name = first[2:].strip() if first.startswith("# ") and first.endswith(".py") else "app.py"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(textwrap.dedent(code) + "\n")
    return folder


def rules_found(folder: Path) -> set[str]:
    return {f.rule for f in scan_folder(folder)}


@pytest.mark.parametrize(("rule", "vulnerable", "fixed"), CASES)
def test_rule_flags_the_vulnerable_code_and_passes_its_fixed_twin(
    tmp_path: Path, rule: str, vulnerable: str, fixed: str
) -> None:
    assert rule in rules_found(write(tmp_path / "bad", vulnerable))
    assert rule not in rules_found(write(tmp_path / "good", fixed))


def test_every_rule_has_a_case() -> None:
    assert {rule for rule, _, _ in CASES} == set(RULES)


def test_a_value_spliced_into_sql_is_found_through_the_variable_it_was_built_in(
    tmp_path: Path,
) -> None:
    code = (
        "def create(conn, title, tags):\n"
        "    sql = (\n        'INSERT INTO notes (title, tags) '\n"
        "        f\"VALUES ('{title}', %s)\"\n    )\n"
        "    return conn.execute(sql, (tags,)).fetchone()\n"
    )
    [finding] = [f for f in scan_folder(write(tmp_path, code)) if f.rule == "sql-value-spliced"]
    assert (finding.file, finding.line, finding.end_line, finding.cwe) == ("app.py", 3, 4, 89)


def test_constants_imported_from_another_module_of_the_submission_are_constant(
    tmp_path: Path,
) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "columns.py").write_text("COLUMNS = 'id, name'\nORDER = {'a': 'id'}\n")
    (tmp_path / "pkg" / "store.py").write_text(
        "from .columns import COLUMNS, ORDER\n"
        "def page(cur, sort):\n"
        "    return cur.execute(f'SELECT {COLUMNS} FROM t ORDER BY {ORDER[sort]}')\n"
    )
    assert rules_found(tmp_path) == set()


def test_test_files_are_not_scanned(tmp_path: Path) -> None:
    write(tmp_path / "tests", "SECRET_KEY = 'test-only-secret'")
    write(tmp_path, "# conftest.py\nSECRET_KEY = 'test-only-secret'")
    assert rules_found(tmp_path) == set()


def test_files_behind_links_are_not_read(tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", "import pickle\npickle.loads(x)")
    (tmp_path / "service").mkdir()
    os.symlink(outside, tmp_path / "service" / "linked")
    os.symlink(outside / "app.py", tmp_path / "service" / "app.py")
    assert rules_found(tmp_path / "service") == set()


def test_a_file_that_does_not_parse_is_skipped_and_the_rest_scanned(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def (:\n")
    write(tmp_path, "import pickle\npickle.loads(x)")
    assert rules_found(tmp_path) == {"unsafe-deserialization"}


def test_hostile_shapes_stay_cheap_and_bounded(tmp_path: Path) -> None:
    chain = ["A0 = 'SELECT x FROM t WHERE a = '"]
    chain += [f"A{i} = A{i - 1} + A{i - 1}" for i in range(1, 60)]  # 2**59 copies, if built
    chain += ["def f(cur, v):", "    cur.execute(A59 + v)", "    cur.execute(A3 + v)"]
    (tmp_path / "chain.py").write_text("\n".join(chain) + "\n")
    select = "select " * 60_000  # no FROM: a backtracking pattern would crawl over it
    (tmp_path / "big.py").write_text(f"def f(cur, v):\n    cur.execute('{select}' + v)\n")
    (tmp_path / "huge.py").write_text("x = 1\n" * 200_000)
    start = time.monotonic()
    report = scan(tmp_path, ["big.py", "chain.py", "huge.py"])
    assert time.monotonic() - start < 30
    assert report["skipped"] == [{"file": "huge.py", "why": "over the size budget"}]
    found = {(r["rule"], r["file"], r["line"]) for r in report["results"]}
    assert ("sql-value-spliced", "chain.py", 63) in found


# -- the pure verdict -------------------------------------------------------------------------


def test_static_findings_carry_the_rules_cwe_and_scored_flag() -> None:
    report = {
        "results": [
            {
                "rule": "sql-string-built",
                "file": "app/db.py",
                "line": 7,
                "end_line": 8,
                "text": "t",
            },
            {"rule": "eval-exec", "file": "app.py", "line": 3, "text": "u"},
            {"rule": "no-such-rule", "file": "app.py", "line": 1, "text": "v"},
        ]
    }
    built = RULES["sql-string-built"]
    assert static_findings(report) == [
        StaticFinding("sql-string-built", 89, "app/db.py", 7, "t", built.scored, 8),
        StaticFinding("eval-exec", 94, "app.py", 3, "u", RULES["eval-exec"].scored, 3),
    ]
    assert static_findings({}) == []


# -- the run through the runtime --------------------------------------------------------------


@dataclass
class StaticOnlyRuntime:
    """The one part of a ScoringRuntime the rules use: run_static, on this machine."""

    workspace: Path
    fail: bool = False

    async def run_static(
        self, argv: list[str], *, env: dict[str, str], cwd: Path, timeout: float
    ) -> ExecResult[str]:
        if self.fail:
            return ExecResult(False, 1, "", "boom")
        base = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
        return await run_capped(argv, env={**base, **env}, cwd=cwd, timeout=timeout)


def test_run_static_rules_reports_from_a_subprocess(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", "import os\nkey = os.environ.get('JWT_SECRET', 'dev')")
    (tmp_path / "private").mkdir()
    runtime = StaticOnlyRuntime(workspace)
    private = tmp_path / "private"
    report = asyncio.run(run_static_rules(runtime, {}, private))  # type: ignore[arg-type]
    assert [(f.rule, f.file, f.line) for f in static_findings(report)] == [
        ("secret-env-default", "app.py", 2)
    ]


def test_a_broken_run_is_a_harness_error(tmp_path: Path) -> None:
    workspace = write(tmp_path / "ws", "x = 1")
    runtime = StaticOnlyRuntime(workspace, fail=True)
    with pytest.raises(HarnessError):
        asyncio.run(run_static_rules(runtime, {}, tmp_path))  # type: ignore[arg-type]


# -- the flags stay honest ---------------------------------------------------------------------


def correct_folders() -> list[Path]:
    tasks = REPO / "tasks"
    return [
        *sorted(tasks.glob("*/*/reference")),
        *sorted(p for p in tasks.glob("*/*/solutions/*") if p.is_dir()),
        tasks / "performance" / "product-catalog-speedup" / "files",
    ]


def test_scored_rules_raise_no_alarm_on_any_reference_or_solution() -> None:
    alarms = [
        f"{folder.relative_to(REPO)}/{f.file}:{f.line} {f.rule}"
        for folder in correct_folders()
        for f in scan_folder(folder)
        if RULES[f.rule].scored
    ]
    assert alarms == []


def test_scored_flags_are_what_the_measurement_found() -> None:
    measured = json.loads((REPO / "results" / "static_rules.json").read_text())["rules"]
    assert set(measured) == set(RULES)
    for rule, row in measured.items():
        clean = row["false_alarms"] == 0 and rule not in UNSCORED_BY_CHOICE
        assert RULES[rule].scored == row["scored"] == clean, rule
        assert row["cwe"] == RULES[rule].cwe


def test_readme_table_matches_the_rules_and_the_measurement() -> None:
    measured = json.loads((REPO / "results" / "static_rules.json").read_text())["rules"]
    rows = readme_table("static-rules")
    assert [r[0].strip("`") for r in rows] == list(RULES)
    for rule_id, cwe, scored, false_alarms in rows:
        rule = RULES[rule_id.strip("`")]
        assert (int(cwe), scored) == (rule.cwe, "yes" if rule.scored else "no")
        assert int(false_alarms) == measured[rule.id]["false_alarms"]
