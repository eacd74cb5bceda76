"""Mutations of SQL text held in string literals: clauses dropped, sort directions flipped.

The scanner is deliberately small: it finds clause keywords at the top level of one statement
(outside parentheses and quoted literals) and cuts at the next one. That is enough for the
queries a reference solution writes by hand; anything it cannot read yields no mutant.

A positional placeholder (`%s`) cannot simply be cut out: the call would then pass one
parameter too many, and the mutant would die of a driver error instead of breaking the rule
it targets. Text holding one is neutralised instead (`WHERE TRUE OR (...)`, `LIMIT NULL + 0 *
(...)`), so the parameters still line up. Named placeholders and `sql.SQL` format fields may
go unused, so text holding only those is cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CLAUSES = [
    "WHERE", "GROUP BY", "HAVING", "ORDER BY", "LIMIT", "OFFSET", "RETURNING", "ON CONFLICT",
    "FOR NO KEY UPDATE", "FOR UPDATE", "FOR KEY SHARE", "FOR SHARE", "UNION", "WINDOW", "FETCH",
]  # fmt: skip
LOCK_CLAUSES = ("FOR NO KEY UPDATE", "FOR UPDATE", "FOR KEY SHARE", "FOR SHARE")
_CLAUSE_RE = re.compile(
    r"\b(" + "|".join(c.replace(" ", r"\s+") for c in CLAUSES) + r")\b", re.IGNORECASE
)
_POSITIONAL = re.compile(r"%s")
_DIRECTION = re.compile(r"\b(ASC|DESC)\b(\s+NULLS\s+(?:FIRST|LAST))?\s*$", re.IGNORECASE)
_DML = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH)\b", re.IGNORECASE)
_DDL = re.compile(r"^\s*(CREATE|ALTER|DROP|TRUNCATE|COMMENT|GRANT)\b", re.IGNORECASE)


@dataclass(frozen=True)
class SqlMutation:
    """One mutated SQL text."""

    operator: str
    text: str
    description: str


@dataclass(frozen=True)
class Clause:
    """A top-level clause: its keyword (normalised) and where it starts, its body and ends."""

    keyword: str
    start: int
    body_start: int
    end: int


def looks_like_dml(text: str) -> bool:
    """Whether a string literal is a query worth mutating (DDL never is: it runs once)."""
    return bool(_DML.match(text)) and not _DDL.match(text)


def is_ddl(text: str) -> bool:
    """Whether a string literal is schema DDL (its ASC/DESC, WHERE are not query logic)."""
    return bool(_DDL.match(text))


def depth_map(text: str) -> list[int]:
    """Per character: parenthesis depth, or -1 inside a quoted literal."""
    depths, depth, quote = [], 0, ""
    for ch in text:
        if quote:
            depths.append(-1)
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
            depths.append(-1)
            continue
        if ch == ")":
            depth -= 1
        depths.append(depth)
        if ch == "(":
            depth += 1
    return depths


def clauses(text: str) -> list[Clause]:
    """The top-level clauses of `text`, in order."""
    depths = depth_map(text)
    found = [m for m in _CLAUSE_RE.finditer(text) if depths[m.start()] == 0]
    result = []
    for i, match in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(text.rstrip().rstrip(";"))
        keyword = " ".join(match.group(1).upper().split())
        result.append(Clause(keyword, match.start(), match.end(), end))
    return result


def split_top_level(text: str, separator: str) -> list[tuple[int, int]]:
    """Spans of the parts of `text` between top-level `separator` words (or commas)."""
    depths = depth_map(text)
    pattern = re.compile(r"," if separator == "," else rf"\b{separator}\b", re.IGNORECASE)
    spans, start = [], 0
    for match in pattern.finditer(text):
        if depths[match.start()] == 0:
            spans.append((start, match.start()))
            start = match.end()
    spans.append((start, len(text)))
    return spans


def _strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """Narrow a span to exclude surrounding whitespace."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def _short(text: str, limit: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def drop_where(text: str) -> list[SqlMutation]:
    """Drop each top-level WHERE clause, and each of its AND (or else OR) terms."""
    result = []
    for clause in (c for c in clauses(text) if c.keyword == "WHERE"):
        b_start, b_end = _strip_span(text, clause.body_start, clause.end)
        body = text[b_start:b_end]
        if not body:
            continue
        if _POSITIONAL.search(body):
            new = text[:b_start] + f"TRUE OR ({body})" + text[b_end:]
        else:
            new = text[: clause.start] + text[clause.end :]
        result.append(SqlMutation("sql_drop_where", new, f"drop `WHERE {_short(body)}`"))
        result.extend(_drop_terms(text, b_start, body))
    return result


def _drop_terms(text: str, offset: int, body: str) -> list[SqlMutation]:
    """Drop one term of a WHERE body: AND terms when there are several, else OR terms."""
    if re.search(r"\bBETWEEN\b", body, re.IGNORECASE):
        return []  # its AND is not a conjunction
    for word, neutral in (("AND", "TRUE OR"), ("OR", "FALSE AND")):
        spans = split_top_level(body, word)
        if len(spans) < 2:
            continue
        result = []
        for i, (start, end) in enumerate(spans):
            t_start, t_end = _strip_span(body, start, end)
            term = body[t_start:t_end]
            if _POSITIONAL.search(term):
                new_body = body[:t_start] + f"({neutral} {term})" + body[t_end:]
            elif i == 0:
                new_body = body[spans[1][0] :].lstrip()
            else:
                new_body = body[: spans[i - 1][1]].rstrip() + " " + body[end:].lstrip()
            new = text[:offset] + new_body.strip() + text[offset + len(body) :]
            description = f"drop the {word} term `{_short(term)}` from WHERE"
            result.append(SqlMutation("sql_drop_where_term", new, description))
        return result
    return []


def drop_clause(text: str, keyword: str, operator: str, neutral: str | None) -> list[SqlMutation]:
    """Drop each top-level `keyword` clause; `neutral` replaces a body holding a `%s`."""
    result = []
    for clause in (c for c in clauses(text) if c.keyword == keyword):
        body = text[clause.body_start : clause.end]
        if _POSITIONAL.search(body):
            if neutral is None:
                continue
            b_start, b_end = _strip_span(text, clause.body_start, clause.end)
            new = text[:b_start] + neutral.format(text[b_start:b_end]) + text[b_end:]
        else:
            new = text[: clause.start] + text[clause.end :]
        description = f"drop `{_short(text[clause.start : clause.end])}`"
        result.append(SqlMutation(operator, new, description))
    return result


def drop_lock_clauses(text: str) -> list[SqlMutation]:
    """Drop each row-locking clause (FOR UPDATE, FOR SHARE, ...)."""
    result = []
    for keyword in LOCK_CLAUSES:
        result.extend(drop_clause(text, keyword, "sql_drop_for_update", None))
    return result


def flip_directions(text: str) -> list[SqlMutation]:
    """Flip ASC/DESC of each ORDER BY item (adding DESC where none is given).

    A fragment with no ORDER BY of its own (`sql.SQL("price ASC, id ASC")`, spliced into one)
    has its explicit directions flipped.
    """
    order_clauses = [c for c in clauses(text) if c.keyword == "ORDER BY"]
    spans = [(c.body_start, c.end) for c in order_clauses]
    explicit_only = False
    if not spans and re.search(r"\b(ASC|DESC)\b", text, re.IGNORECASE) and not clauses(text):
        spans, explicit_only = [(0, len(text))], True
    result = []
    for body_start, body_end in spans:
        body = text[body_start:body_end]
        for start, end in split_top_level(body, ","):
            i_start, i_end = _strip_span(body, start, end)
            item = body[i_start:i_end]
            if not item or "{" in item:
                continue  # a format field: its direction is decided elsewhere
            match = _DIRECTION.search(item)
            if match:
                flipped = "DESC" if match.group(1).upper() == "ASC" else "ASC"
                new_item = item[: match.start(1)] + flipped + item[match.end(1) :]
            elif explicit_only:
                continue
            else:
                new_item = f"{item} DESC"
            at = body_start + i_start
            new = text[:at] + new_item + text[at + len(item) :]
            description = f"sort `{_short(item)}` → `{_short(new_item)}`"
            result.append(SqlMutation("sql_sort_direction", new, description))
    return result


def sql_mutations(text: str) -> list[SqlMutation]:
    """Every SQL mutation of one query text or fragment, in a fixed order."""
    return [
        *drop_where(text),
        *drop_clause(text, "ORDER BY", "sql_drop_order_by", None),
        *flip_directions(text),
        *drop_clause(text, "LIMIT", "sql_drop_limit", "NULL + 0 * ({})"),
        *drop_clause(text, "OFFSET", "sql_drop_offset", "0 * ({})"),
        *drop_lock_clauses(text),
    ]
