"""Projects and tasks as stored and served: fields, validation, paging, deletes, path ids."""

from __future__ import annotations

import pytest
from team_api import (
    MAX_ID,
    assert_error,
    people,  # noqa: F401 - a fixture
    projects_named,
    stored_project,
    stored_task,
    tasks_titled,
)

# not a whole number from 1 to 2**63 - 1: each names nothing
MALFORMED_IDS = ["abc", "0", "-1", "1.5", "1e3", "9223372036854775808", "%201", "0x10"]


def page(person, **params):
    response = person.client.get("/v1/projects", params=params)
    assert response.status_code == 200, response.text
    body = response.json()
    return body["items"], body["total"]


@pytest.mark.rules("db-tables")
def test_the_tables_hold_the_stated_columns_and_foreign_key(db, people):
    people.member().project()  # the server has started and made its schema
    projects, tasks = db.columns("projects"), db.columns("tasks")
    whole, text = {"integer", "bigint"}, {"text", "character varying"}
    assert projects.get("id") in whole and projects.get("owner_id") in text, projects
    assert projects.get("name") in text, projects
    assert tasks.get("id") in whole and tasks.get("project_id") in whole, tasks
    assert tasks.get("title") in text and tasks.get("done") == "boolean", tasks
    assert ("tasks", "projects") in db.foreign_keys()


@pytest.mark.rules("project-create", "strings-verbatim", "ids-server")
def test_create_project_answers_201_with_the_project_as_stored(people, db):
    alice = people.member("alice")
    for name in ("Launch", "Robert'); DROP TABLE projects;--", "\u00e9t\u00e9 \u2603 \U0001f680",
                 "  spaced  ", "%_\\"):  # fmt: skip
        response = alice.client.post("/v1/projects", json={"name": name})
        assert response.status_code == 201, response.text
        project = response.json()
        assert project["name"] == name and project["owner_id"] == alice.sub, project
        assert isinstance(project["id"], int) and project["id"] >= 1, project
        assert stored_project(db, project["id"]) == (alice.sub, name)


@pytest.mark.rules("project-name", "error-422", "strings-nul", "refused-changes-nothing")
def test_a_project_name_is_a_string_of_1_to_100_characters(people, db):
    alice = people.member("alice")
    longest = "\u00e9" * 100  # 100 characters, 200 bytes
    assert alice.client.post("/v1/projects", json={"name": longest}).status_code == 201
    before = db.scalar("SELECT count(*) FROM projects WHERE owner_id = %s", (alice.sub,))
    for body in ({"name": ""}, {"name": "\u00e9" * 101}, {}, {"name": None}, {"name": 5},
                 {"name": ["x"]}, {"name": "a\u0000b"}, {"title": "not a name"}):  # fmt: skip
        assert_error(alice.client.post("/v1/projects", json=body), 422, "validation_error")
    after = db.scalar("SELECT count(*) FROM projects WHERE owner_id = %s", (alice.sub,))
    assert after == before


@pytest.mark.rules("project-get")
def test_get_project_answers_the_project(people):
    alice = people.member("alice")
    project = alice.project("Read me")
    response = alice.client.get(f"/v1/projects/{project['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == project


@pytest.mark.rules("project-delete")
def test_deleting_a_project_deletes_its_tasks(people, db):
    alice = people.member("alice")
    project, kept = alice.project(), alice.project()
    tasks = [alice.task(project["id"], f"t{i}") for i in range(3)]
    other = alice.task(kept["id"], "Kept")
    response = alice.client.delete(f"/v1/projects/{project['id']}")
    assert response.status_code == 204 and response.content == b"", response.text
    assert stored_project(db, project["id"]) is None
    assert all(stored_task(db, t["id"]) is None for t in tasks)
    assert_error(alice.client.get(f"/v1/projects/{project['id']}"), 404, "not_found")
    assert_error(alice.client.get(f"/v1/tasks/{tasks[0]['id']}"), 404, "not_found")
    assert_error(alice.client.delete(f"/v1/projects/{project['id']}"), 404, "not_found")
    assert stored_task(db, other["id"]) == (kept["id"], "Kept", False)


@pytest.mark.rules("list-paging", "list-order", "unknown-query")
def test_the_project_list_pages_newest_first_with_a_total(people):
    alice = people.member("alice")
    made = [alice.project(f"p{i}") for i in range(5)]
    newest_first = list(reversed(made))
    assert page(alice) == (newest_first, 5)
    assert page(alice, limit=2) == (newest_first[:2], 5)
    assert page(alice, limit=2, offset=2) == (newest_first[2:4], 5)
    assert page(alice, limit=100, offset=4) == (newest_first[4:], 5)
    assert page(alice, offset=5) == ([], 5)
    assert page(alice, offset=99999999999999999999) == ([], 5)
    assert page(alice, limit="01", offset="00") == (newest_first[:1], 5)
    assert page(alice, sort="name", page=3, owner_id="x") == (newest_first, 5)


@pytest.mark.rules("list-paging", "error-422", "query-utf8")
def test_a_limit_or_offset_that_is_not_digits_in_range_is_422(people):
    alice = people.member("alice")
    alice.project()
    for query in ("limit=0", "limit=101", "limit=abc", "limit=1.0", "limit=-1", "limit=%2B5",
                  "limit=", "limit=%FF", "offset=-1", "offset=1.5", "offset=abc",
                  "offset=%C3%28", "limit=99999999999999999999"):  # fmt: skip
        assert_error(alice.client.get(f"/v1/projects?{query}"), 422, "validation_error")


@pytest.mark.rules("task-create", "strings-verbatim", "ids-server")
def test_create_task_answers_201_with_the_task_in_its_project(people, db):
    alice = people.member("alice")
    project = alice.project()
    plain = alice.task(project["id"], "Buy milk")
    assert plain["project_id"] == project["id"] and plain["done"] is False, plain
    assert isinstance(plain["id"], int) and plain["id"] >= 1, plain
    assert stored_task(db, plain["id"]) == (project["id"], "Buy milk", False)
    title = "O'Brien's \"task\"; SELECT 1 \u2603"
    finished = alice.task(project["id"], title, done=True)
    assert finished["title"] == title and finished["done"] is True, finished
    assert stored_task(db, finished["id"]) == (project["id"], title, True)
    assert alice.client.get(f"/v1/tasks/{finished['id']}").json() == finished


@pytest.mark.rules("task-fields", "error-422", "strings-nul", "refused-changes-nothing")
def test_a_task_title_and_done_are_validated(people, db):
    alice = people.member("alice")
    project = alice.project()
    longest = "\u00e9" * 200
    assert alice.task(project["id"], longest)["title"] == longest
    for body in ({"title": ""}, {"title": "x" * 201}, {}, {"title": None}, {"title": 5},
                 {"title": "a\u0000b"}, {"title": "ok", "done": "true"},
                 {"title": "ok", "done": 1}, {"title": "ok", "done": None},
                 {"title": "ok", "done": "yes"}):  # fmt: skip
        response = alice.client.post(f"/v1/projects/{project['id']}/tasks", json=body)
        assert_error(response, 422, "validation_error")
    assert db.scalar("SELECT count(*) FROM tasks WHERE project_id = %s", (project["id"],)) == 1


@pytest.mark.rules("task-get")
def test_get_task_answers_the_task(people):
    alice = people.member("alice")
    task = alice.task(alice.project()["id"], "Read this")
    response = alice.client.get(f"/v1/tasks/{task['id']}")
    assert response.status_code == 200, response.text
    assert response.json() == task


@pytest.mark.rules("task-patch")
def test_a_task_patch_changes_only_the_fields_sent(people, db):
    alice = people.member("alice")
    project = alice.project()
    task = alice.task(project["id"], "Draft")
    steps = [
        ({"done": True}, {"done": True}),
        ({"title": "Final"}, {"title": "Final"}),
        ({}, {}),
        ({"title": "Again", "done": False}, {"title": "Again", "done": False}),
    ]
    expected = dict(task)
    for body, change in steps:
        expected.update(change)
        response = alice.client.patch(f"/v1/tasks/{task['id']}", json=body)
        assert response.status_code == 200, response.text
        assert response.json() == expected
        assert stored_task(db, task["id"]) == (project["id"], expected["title"], expected["done"])


@pytest.mark.rules("task-patch", "error-422", "strings-nul", "refused-changes-nothing")
def test_a_task_patch_with_null_or_invalid_fields_is_422_and_changes_nothing(people, db):
    alice = people.member("alice")
    project = alice.project()
    task = alice.task(project["id"], "Unchanged")
    for body in ({"title": None}, {"done": None}, {"done": "false"}, {"done": 0}, {"title": ""},
                 {"title": "x" * 201}, {"title": 7}, {"title": "a\u0000b"},
                 {"title": "Half", "done": "true"}):  # fmt: skip
        assert_error(
            alice.client.patch(f"/v1/tasks/{task['id']}", json=body), 422, "validation_error"
        )
    assert stored_task(db, task["id"]) == (project["id"], "Unchanged", False)


@pytest.mark.rules("not-found", "error-404", "refused-changes-nothing")
def test_unknown_project_and_task_ids_are_404(people, db):
    alice = people.member("alice")
    unknown = MAX_ID
    assert_error(alice.client.get(f"/v1/projects/{unknown}"), 404, "not_found")
    assert_error(alice.client.delete(f"/v1/projects/{unknown}"), 404, "not_found")
    title = people.unique("orphan")
    response = alice.client.post(f"/v1/projects/{unknown}/tasks", json={"title": title})
    assert_error(response, 404, "not_found")
    assert tasks_titled(db, title) == 0
    assert_error(alice.client.get(f"/v1/tasks/{unknown}"), 404, "not_found")
    assert_error(alice.client.patch(f"/v1/tasks/{unknown}", json={"done": True}), 404, "not_found")


@pytest.mark.rules("path-id", "refused-changes-nothing")
@pytest.mark.parametrize("bad", MALFORMED_IDS)
def test_a_malformed_path_id_names_nothing(people, db, bad):
    admin = people.admin()  # an admin sees every object: none may answer to a malformed id
    project = admin.project()
    task = admin.task(project["id"], "Stays")
    title = people.unique("malformed")
    for method, path, body in (
        ("GET", f"/v1/projects/{bad}", None),
        ("DELETE", f"/v1/projects/{bad}", None),
        ("POST", f"/v1/projects/{bad}/tasks", {"title": title}),
        ("GET", f"/v1/tasks/{bad}", None),
        ("PATCH", f"/v1/tasks/{bad}", {"title": title}),
    ):
        response = admin.client.request(method, path, json=body)
        assert_error(response, 404, "not_found")
    assert tasks_titled(db, title) == 0
    assert stored_task(db, task["id"]) == (project["id"], "Stays", False)
    assert projects_named(db, project["name"]) == 1
