"""Notes: exact round trips through both versions, listing, paging, filtering, storage."""

from datetime import datetime, timezone

import pytest

TRICKY_TEXT = [
    'it\'s a "quoted" note; -- not a comment',
    "back\\slash \\' and %s %(q)s $1 {0} ?",
    "'); DROP TABLE notes; --",
    "tab\tnewline\ncarriage\r\nend",
    "unicode: caf\u00e9 \u6f22\u5b57 \U0001f4dd \u00a0 done",
]


@pytest.fixture
def fresh(auth_headers, unique):
    """fresh() -> headers with a never-used client id (a full budget of 20)."""
    return lambda: {**auth_headers, "X-Client-Id": unique("client")}


@pytest.mark.rules("v1-create", "v1-get", "v2-get", "v1-seen-in-v2", "shared-store")
def test_v1_text_round_trips_exactly(api, fresh, unique):
    token = unique("rt1")
    headers = fresh()
    for i, text in enumerate(TRICKY_TEXT[:3]):
        title = f"{text[:150]} {token}"
        r = api.post("/v1/notes", headers=headers, json={"title": title, "body": text})
        assert r.status_code == 201, r.text
        note = r.json()
        assert (note["title"], note["body"]) == (title, text), i
        assert api.get(f"/v1/notes/{note['id']}", headers=headers).json() == note
        seen = api.get(f"/v2/notes/{note['id']}", headers=headers).json()
        assert (seen["id"], seen["title"], seen["content"], seen["tags"]) == (
            note["id"],
            title,
            text,
            [],
        )


@pytest.mark.rules(
    "v2-create", "v2-get", "v1-get", "v2-tags-order", "v2-seen-in-v1", "shared-store"
)
def test_v2_text_and_tags_round_trip_exactly(api, fresh, unique):
    token = unique("rt2")
    headers = fresh()
    for i, text in enumerate(TRICKY_TEXT[2:]):
        title = f"{text[:150]} {token}"
        tags = ["zeta", text[:50], "Alpha", "a'b\"c", "mid"]
        payload = {"title": title, "content": text, "tags": tags}
        r = api.post("/v2/notes", headers=headers, json=payload)
        assert r.status_code == 201, r.text
        note = r.json()
        assert (note["title"], note["content"], note["tags"], note["version"]) == (
            title,
            text,
            tags,
            2,
        ), i
        assert api.get(f"/v2/notes/{note['id']}", headers=headers).json() == note
        seen = api.get(f"/v1/notes/{note['id']}", headers=headers).json()
        assert seen == {
            "id": note["id"],
            "title": title,
            "body": text,
            "created_at": seen["created_at"],
        }


@pytest.mark.rules("list-q", "v2-meta-total")
def test_q_is_a_literal_case_insensitive_substring_of_the_title(api, fresh, unique):
    token = unique("q")
    headers = fresh()
    titles = [f"{token} 100% Sure", f"{token} 100x sure", f"{token} a_b", f"{token} axb"]
    ids = []
    for title in titles:
        r = api.post("/v2/notes", headers=headers, json={"title": title, "content": "c"})
        assert r.status_code == 201
        ids.append(r.json()["id"])
    body_only = api.post(
        "/v2/notes", headers=headers, json={"title": "elsewhere", "content": token}
    )
    assert body_only.status_code == 201
    headers = fresh()
    expectations = [
        (token.upper(), ids),
        (f"{token} 100% s", [ids[0]]),
        (f"{token} a_b", [ids[2]]),
        (f"{token} A_B", [ids[2]]),
        (f"{token} 100%", [ids[0]]),
    ]
    for q, expected in expectations:
        r = api.get("/v2/notes", headers=headers, params={"q": q})
        assert [n["id"] for n in r.json()["data"]] == expected, q
        assert r.json()["meta"]["total"] == len(expected), q
        r = api.get("/v1/notes", headers=headers, params={"q": q})
        assert [n["id"] for n in r.json()] == expected, q


@pytest.mark.rules(
    "list-paging", "list-order", "v2-meta-total", "v1-list-array", "v2-list-envelope"
)
def test_default_page_is_twenty_oldest_first(api, fresh, unique):
    token = unique("page")
    ids = []
    headers = fresh()
    for i in range(21):
        if i in (10, 20):
            headers = fresh()
        version = "v1" if i % 2 else "v2"
        body = {"title": f"{token} {i}", ("body" if i % 2 else "content"): "x"}
        r = api.post(f"/{version}/notes", headers=headers, json=body)
        assert r.status_code == 201
        ids.append(r.json()["id"])
    assert ids == sorted(ids)
    headers = fresh()
    r = api.get("/v1/notes", headers=headers, params={"q": token})
    assert [n["id"] for n in r.json()] == ids[:20]
    r = api.get("/v1/notes", headers=headers, params={"q": token, "limit": 100})
    assert [n["id"] for n in r.json()] == ids
    r = api.get("/v1/notes", headers=headers, params={"q": token, "offset": 20})
    assert [n["id"] for n in r.json()] == ids[20:]
    r = api.get("/v2/notes", headers=headers, params={"q": token})
    assert r.json()["meta"] == {"total": 21, "limit": 20, "offset": 0}
    assert [n["id"] for n in r.json()["data"]] == ids[:20]
    r = api.get("/v2/notes", headers=headers, params={"q": token, "limit": 5, "offset": 18})
    assert r.json()["meta"] == {"total": 21, "limit": 5, "offset": 18}
    assert [n["id"] for n in r.json()["data"]] == ids[18:]
    r = api.get("/v2/notes", headers=headers, params={"q": token, "offset": 30})
    assert r.json() == {"data": [], "meta": {"total": 21, "limit": 20, "offset": 30}}


@pytest.mark.rules("note-id-int", "created-at-offset", "list-order")
def test_ids_are_assigned_in_creation_order_with_current_timestamps(api, fresh, unique):
    token = unique("ts")
    headers = fresh()
    notes = []
    for version, text_field in (("v1", "body"), ("v2", "content"), ("v1", "body")):
        before = datetime.now(timezone.utc)
        r = api.post(f"/{version}/notes", headers=headers, json={"title": token, text_field: "t"})
        after = datetime.now(timezone.utc)
        assert r.status_code == 201
        note = r.json()
        assert type(note["id"]) is int
        created = datetime.fromisoformat(note["created_at"].replace("Z", "+00:00"))
        assert created.utcoffset() is not None, note["created_at"]
        assert before.timestamp() - 5 <= created.timestamp() <= after.timestamp() + 5
        notes.append(note)
    assert notes[0]["id"] < notes[1]["id"] < notes[2]["id"]


@pytest.mark.rules("notes-in-postgres")
def test_notes_are_stored_in_postgresql(api, fresh, unique, db):
    title = unique("stored")
    content = unique("content")
    r = api.post("/v2/notes", headers=fresh(), json={"title": title, "content": content})
    assert r.status_code == 201
    columns = db.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
        "AND data_type IN ('text', 'character varying', 'character', 'json', 'jsonb')"
    ).fetchall()
    found = set()
    for schema, table, column in columns:
        query = f'SELECT count(*) FROM "{schema}"."{table}" WHERE strpos("{column}"::text, %s) > 0'
        found |= {v for v in (title, content) if db.execute(query, (v,)).fetchone()[0]}
    assert found == {title, content}, "the note's title and text are in no table"


@pytest.mark.rules("v2-meta-total", "v1-get", "v2-get", "list-order", "list-paging")
def test_unfiltered_lists_count_and_serve_every_note(api, fresh, unique):
    headers = fresh()
    r = api.post("/v1/notes", headers=headers, json={"title": unique("all"), "body": "b"})
    assert r.status_code == 201
    r = api.get("/v2/notes", headers=headers, params={"limit": 3})
    total, oldest = r.json()["meta"]["total"], r.json()["data"]
    assert total >= 1 and oldest, r.json()
    ids = [n["id"] for n in oldest]
    assert ids == sorted(ids)
    r = api.get("/v1/notes", headers=headers, params={"limit": 3})
    assert [n["id"] for n in r.json()] == ids
    for note in oldest[:2]:
        assert api.get(f"/v2/notes/{note['id']}", headers=headers).json() == note
        assert api.get(f"/v1/notes/{note['id']}", headers=headers).status_code == 200
    r = api.get("/v2/notes", headers=headers, params={"offset": total - 1})
    assert len(r.json()["data"]) == 1 and r.json()["meta"]["total"] == total
    r = api.get("/v2/notes", headers=headers, params={"offset": total})
    assert r.json()["data"] == []


@pytest.mark.rules("list-order")
def test_lists_follow_ids_whatever_the_order_rows_are_stored_in(api, fresh, unique, db):
    # PostgreSQL hands rows back in storage order when a query names none, and that order is
    # the order of creation until a row is written again: here the oldest note's row is
    # rewritten with the same values (it moves to the end of its table), so only a server that
    # orders by id still lists it first
    token = unique("heap")
    headers = fresh()
    ids = []
    for i in range(3):
        r = api.post("/v2/notes", headers=headers, json={"title": f"{token} {i}", "content": "c"})
        assert r.status_code == 201
        ids.append(r.json()["id"])
    columns = db.execute(
        "SELECT table_schema, table_name, column_name FROM information_schema.columns "
        "WHERE table_schema NOT IN ('pg_catalog', 'information_schema') "
        "AND data_type IN ('text', 'character varying', 'character')"
    ).fetchall()
    for schema, table, column in columns:
        db.execute(
            f'UPDATE "{schema}"."{table}" SET "{column}" = "{column}" WHERE "{column}" = %s',
            (f"{token} 0",),
        )
    for version, key in (("v1", None), ("v2", "data")):
        r = api.get(f"/{version}/notes", headers=headers, params={"q": token})
        assert r.status_code == 200
        listed = r.json() if key is None else r.json()[key]
        assert [n["id"] for n in listed] == ids, f"GET /{version}/notes"
