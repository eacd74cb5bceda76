"""The mutator of `backbench adequacy`: each operator on a small snippet, ids, selection."""

from __future__ import annotations

import ast
import textwrap

import pytest

from backbench.adequacy.mutate import (
    OPERATORS,
    Mutant,
    mutants_of_folder,
    mutants_of_source,
    select_mutants,
)
from backbench.adequacy.report import METHOD
from backbench.adequacy.sql_text import flip_directions, looks_like_dml, sql_mutations
from backbench.catalogue import find_scenario


def mutants(code: str, operator: str | None = None) -> list[Mutant]:
    found = mutants_of_source(textwrap.dedent(code).lstrip(), "app.py")
    return [m for m in found if operator is None or m.operator == operator]


def sources(code: str, operator: str) -> list[str]:
    return [m.source for m in mutants(code, operator)]


def body_of(source: str, name: str) -> str:
    """The unparsed body of one function, to compare mutants without caring for layout."""
    tree = ast.parse(source)
    func = next(n for n in ast.walk(tree) if getattr(n, "name", None) == name)
    return "\n".join(ast.unparse(s) for s in func.body)  # type: ignore[attr-defined]


LIMIT = """
def check(limit):
    if limit < 1 or limit > 100:
        raise ValueError("limit")
    return limit
"""


def test_boundary_changes_each_comparison_to_its_neighbour() -> None:
    found = sources(LIMIT, "boundary")
    assert "    if limit <= 1 or limit > 100:\n" in found[0]
    assert "    if limit < 1 or limit >= 100:\n" in found[1]
    assert len(found) == 2


def test_comparison_reverses_the_operator() -> None:
    found = sources("def f(a, b):\n    return a == b\n", "comparison")
    assert found == ["def f(a, b):\n    return a != b\n"]


def test_negate_condition_wraps_or_unwraps_not() -> None:
    found = sources(LIMIT, "negate_condition")
    assert "    if not (limit < 1 or limit > 100):\n" in found[0]
    unwrapped = sources(
        "def f(x):\n    if not x:\n        return 1\n    return 2\n", "negate_condition"
    )
    assert unwrapped == ["def f(x):\n    if x:\n        return 1\n    return 2\n"]


def test_drop_condition_term_and_drop_condition() -> None:
    terms = sources(LIMIT, "drop_condition_term")
    assert [body_of(s, "check").splitlines()[0] for s in terms] == [
        "if limit > 100:",
        "if limit < 1:",
    ]
    always = sources(LIMIT, "drop_condition")
    assert "    if True:\n" in always[0]


def test_bool_operator_swaps_and_or() -> None:
    assert "    if limit < 1 and limit > 100:\n" in sources(LIMIT, "bool_operator")[0]


def test_arithmetic_swaps_operators_but_not_string_concatenation() -> None:
    found = sources("def f(a, b):\n    return a + b * 2\n", "arithmetic")
    assert [s.splitlines()[1] for s in found] == ["    return a - b * 2", "    return a + b / 2"]
    assert sources("def f(a):\n    return 'x' + a\n", "arithmetic") == []


def test_remove_statement_and_early_return() -> None:
    removed = sources(LIMIT, "remove_statement")
    assert removed[0].count("pass") == 1 and "if limit" not in removed[0]
    assert "        pass\n" in removed[1]  # the raise
    early = sources("def f(x):\n    if x:\n        return 1\n    return 2\n", "remove_early_return")
    assert early == ["def f(x):\n    if x:\n        pass\n    return 2\n"]


def test_the_last_return_and_docstrings_are_kept() -> None:
    code = 'def f(x):\n    """Doc."""\n    return x\n'
    assert mutants(code, "remove_early_return") == []
    assert mutants(code, "remove_statement") == []
    assert mutants(code, "string_constant") == []


def test_constants_and_status_codes() -> None:
    code = """
    def f(response):
        response.status_code = 200
        return error(404, "not_found", retries=3, enabled=True)
    """
    assert any("error(400," in s for s in sources(code, "status_code"))
    assert any("status_code = 201" in s for s in sources(code, "status_code"))
    assert any("retries=4" in s for s in sources(code, "constant"))
    assert any("enabled=False" in s for s in sources(code, "constant"))
    assert any('"XXnot_foundXX"' in s for s in sources(code, "string_constant"))
    # a status code is only changed by its own operator
    assert not any("404" not in s for s in sources(code, "constant"))


def test_sort_direction_of_sorted() -> None:
    found = sources("def f(xs):\n    return sorted(xs)\n", "sort_direction")
    assert found == ["def f(xs):\n    return sorted(xs, reverse=True)\n"]
    back = sources("def f(xs):\n    return sorted(xs, reverse=True)\n", "sort_direction")
    assert back == ["def f(xs):\n    return sorted(xs, reverse=False)\n"]


SQL_CODE = """
def page(conn, name, limit):
    return conn.execute(
        "SELECT id FROM items WHERE name = %s AND deleted = false"
        " ORDER BY price DESC, id LIMIT %s OFFSET 10 FOR UPDATE",
        (name, limit),
    ).fetchall()
"""


def sql_of(source: str) -> str:
    tree = ast.parse(source)
    return next(
        n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    )


@pytest.mark.parametrize(
    ("operator", "expected"),
    [
        ("sql_drop_where", "SELECT id FROM items WHERE TRUE OR (name = %s AND deleted = false) "),
        ("sql_drop_where_term", "SELECT id FROM items WHERE (TRUE OR name = %s) AND deleted"),
        ("sql_drop_order_by", "SELECT id FROM items WHERE name = %s AND deleted = false LIMIT"),
        ("sql_sort_direction", "ORDER BY price ASC, id LIMIT"),
        ("sql_drop_limit", "LIMIT NULL + 0 * (%s) OFFSET 10"),
        ("sql_drop_offset", "LIMIT %s FOR UPDATE"),
        ("sql_drop_for_update", "OFFSET 10"),
    ],
)
def test_sql_operators_on_a_query(operator: str, expected: str) -> None:
    found = [sql_of(s) for s in sources(SQL_CODE, operator)]
    assert any(expected in q for q in found), found
    assert all(q.count("%s") == 2 for q in found), "positional placeholders must stay in step"


def test_sql_drop_where_term_without_placeholder_cuts_the_term() -> None:
    found = [sql_of(s) for s in sources(SQL_CODE, "sql_drop_where_term")]
    assert any("WHERE name = %s ORDER BY" in q for q in found)


def test_sql_direction_is_added_or_flipped_per_item() -> None:
    texts = [m.text for m in flip_directions("SELECT 1 ORDER BY a DESC, b")]
    assert texts == ["SELECT 1 ORDER BY a ASC, b", "SELECT 1 ORDER BY a DESC, b DESC"]
    fragment = [m.text for m in flip_directions("price ASC, id ASC")]
    assert fragment == ["price DESC, id ASC", "price ASC, id DESC"]


def test_sql_fragments_in_sql_SQL_are_mutated_but_ddl_is_not() -> None:
    code = """
    from psycopg import sql
    SORTS = {"price": sql.SQL("price ASC, id ASC")}
    SCHEMA = "CREATE INDEX i ON t (created_at DESC)"
    """
    assert len(mutants(code, "sql_sort_direction")) == 2
    assert not any("CREATE" in m.description for m in mutants(code))
    assert looks_like_dml(" select 1") and not looks_like_dml("CREATE TABLE t ()")


def test_sql_keywords_in_subqueries_and_literals_are_left_alone() -> None:
    query = "SELECT (SELECT max(x) FROM t WHERE y = 1) FROM u WHERE note = 'a WHERE b'"
    dropped = [m.text for m in sql_mutations(query) if m.operator == "sql_drop_where"]
    assert dropped == ["SELECT (SELECT max(x) FROM t WHERE y = 1) FROM u "]


TRANSACTION = """
def move(pool, a, b):
    with pool.connection() as conn:
        with conn.transaction():
            # both or neither
            debit(conn, a)
            credit(conn, b)
        log(conn)
"""


def test_remove_transaction_unwraps_the_body_keeping_comments() -> None:
    found = sources(TRANSACTION, "remove_transaction")
    assert found == [
        "def move(pool, a, b):\n    with pool.connection() as conn:\n"
        "        debit(conn, a)\n        credit(conn, b)\n        log(conn)\n"
    ]


def test_remove_transaction_drops_one_item_of_a_with() -> None:
    code = (
        "def f(pool):\n    with pool.connection() as conn, conn.transaction():\n        g(conn)\n"
    )
    assert sources(code, "remove_transaction") == [
        "def f(pool):\n    with pool.connection() as conn:\n        g(conn)\n"
    ]


def test_remove_transaction_turns_on_autocommit_and_off_pipelines() -> None:
    code = """
    pool = ConnectionPool(url, kwargs={"row_factory": dict_row})
    def f(r):
        return r.pipeline(transaction=True)
    """
    found = sources(code, "remove_transaction")
    assert any("'autocommit': True" in s for s in found)
    assert any("pipeline(transaction=False)" in s for s in found)


def test_remove_lock_async_with_and_advisory_locks() -> None:
    code = """
    async def f(conn, lock):
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (1,))
        async with lock:
            await g()
    """
    found = sources(code, "remove_lock")
    assert len(found) == 2
    assert any("pg_advisory" not in s for s in found)
    assert any("async with" not in s and "    await g()\n" in s for s in found)


def test_remove_decorator_of_a_middleware() -> None:
    code = '@app.middleware("http")\nasync def guard(request, call_next):\n    return 1\n'
    assert sources(code, "remove_decorator") == [
        "async def guard(request, call_next):\n    return 1\n"
    ]


def test_every_mutant_compiles_differs_and_has_a_unique_id() -> None:
    found = mutants(SQL_CODE + LIMIT + TRANSACTION)
    assert len({m.id for m in found}) == len(found)
    original = ast.dump(ast.parse(textwrap.dedent(SQL_CODE + LIMIT + TRANSACTION).lstrip()))
    for mutant in found:
        assert ast.dump(ast.parse(mutant.source)) != original
        assert mutant.diff.startswith("--- reference/app.py\n+++ mutant/app.py\n")


def test_ids_survive_an_edit_of_an_unrelated_function() -> None:
    before = {m.id: m.description for m in mutants(LIMIT + SQL_CODE)}
    edited = LIMIT + "\n\ndef other(x):\n    return x * 2 if x > 0 else -1\n" + SQL_CODE
    after = {m.id: m.description for m in mutants(edited)}
    assert set(before) <= set(after)
    assert all(after[i] == d for i, d in before.items())


def test_ids_name_file_scope_and_operator_not_lines() -> None:
    mutant = mutants(LIMIT, "boundary")[0]
    file, scope, operator, digest = mutant.id.split(":")
    assert (file, scope, operator) == ("app.py", "check", "boundary")
    assert len(digest) == 8 and str(mutant.line) not in mutant.id


def test_identical_sites_in_one_function_get_ordinals() -> None:
    code = "def f(a, b):\n    x = a < 1\n    y = b < 1\n    z = a < 1\n    return x, y, z\n"
    ids = [m.id for m in mutants(code, "boundary")]
    assert len(ids) == 3 and ids[2] == f"{ids[0]}:1"


def test_selection_is_capped_deterministic_and_spread_over_operators() -> None:
    found = mutants(SQL_CODE + LIMIT + TRANSACTION)
    first = select_mutants(found, 8, seed=1)
    assert [m.id for m in first] == [m.id for m in select_mutants(found, 8, seed=1)]
    assert len(first) == 8 and len({m.operator for m in first}) == 8
    assert [m.id for m in select_mutants(found, 8, seed=2)] != [m.id for m in first]
    assert select_mutants(found, None, seed=1) == found


def test_selection_is_stable_when_an_unrelated_mutant_disappears() -> None:
    found = mutants(SQL_CODE + LIMIT)
    chosen = select_mutants(found, 6, seed=3)
    others = [m for m in found if m not in chosen and m.operator == "constant"]
    fewer = [m for m in found if m not in others[:1]]
    assert [m.id for m in select_mutants(fewer, 6, seed=3)] == [m.id for m in chosen]


def test_defaults_and_decorators_belong_to_their_function() -> None:
    code = '@app.post("/x", status_code=201)\ndef create(limit: int = 20):\n    return limit\n'
    scopes = {m.operator: m.scope for m in mutants(code)}
    assert scopes == {"status_code": "create", "constant": "create"}


def test_a_return_that_ends_the_function_through_its_blocks_is_not_early() -> None:
    code = "def f(pool):\n    with pool.connection() as conn:\n        return conn.execute('q')\n"
    assert mutants(code, "remove_early_return") == []
    branches = "def f(x):\n    if x:\n        return 1\n    else:\n        return 2\n"
    assert mutants(branches, "remove_early_return") == []


def test_every_operator_is_named_in_the_report_method_and_used_on_a_reference() -> None:
    assert all(f"`{name}`" in METHOD for name in OPERATORS)
    # one reference, not the catalogue: generating a reference's mutants takes seconds, and
    # `backbench adequacy` generates those of every scenario whose reference changed
    scenario = find_scenario("inventory-crud")
    generated = mutants_of_folder(scenario.reference_dir)
    assert {m.operator for m in generated} <= set(OPERATORS)
    # a change of the mutator's ids shows here first: its declared equivalents are still there
    assert {e.id for e in scenario.equivalent_mutants} <= {m.id for m in generated}
