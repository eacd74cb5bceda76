"""Ownership and roles: a member reaches their own objects only (another user's is a 404), an
admin reaches every object and the admin-only summary, and owners never come from a body."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from team_api import (
    assert_error,
    people,  # noqa: F401 - a fixture
    projects_named,
    stored_project,
    stored_task,
    tasks_titled,
)


def listed(person, **params):
    """The person's first page of projects (100), as {"items", "total"}."""
    response = person.client.get("/v1/projects", params={"limit": 100, **params})
    assert response.status_code == 200, response.text
    return {k: response.json()[k] for k in ("items", "total")}


def counts(response):
    """The user summary's three fields."""
    assert response.status_code == 200, response.text
    return {k: response.json()[k] for k in ("user_id", "projects", "tasks")}


@pytest.mark.rules("project-owner", "project-create")
def test_a_project_belongs_to_the_subject_of_the_token_that_created_it(people, db):
    alice = people.member("alice")
    project = alice.project("Quarterly plan")
    assert project["owner_id"] == alice.sub
    assert stored_project(db, project["id"]) == (alice.sub, "Quarterly plan")


@pytest.mark.rules("mass-assignment", "project-owner", "ids-server")
def test_owner_role_and_id_in_a_create_body_are_ignored(people, db):
    alice, bob = people.member("alice"), people.member("bob")
    name = people.unique("claimed")
    response = alice.client.post(
        "/v1/projects",
        json={"name": name, "owner_id": bob.sub, "role": "admin", "id": 987654321,
              "owner": bob.sub, "user_id": bob.sub},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    project = response.json()
    assert project["owner_id"] == alice.sub and project["id"] != 987654321, project
    assert db.execute("SELECT owner_id FROM projects WHERE name = %s", (name,)).fetchall() == [
        (alice.sub,)
    ]
    assert_error(bob.client.get(f"/v1/projects/{project['id']}"), 404, "not_found")
    # a role in a body gives no role: alice is still no admin
    assert_error(alice.client.get(f"/v1/admin/users/{alice.sub}"), 403, "forbidden")
    # a task's body cannot choose its project or id either
    bobs = bob.project()
    title = people.unique("placed")
    task = alice.task(project["id"], title, project_id=bobs["id"], id=987654322)
    assert task["project_id"] == project["id"] and task["id"] != 987654322, task
    assert stored_task(db, task["id"]) == (project["id"], title, False)
    assert db.scalar("SELECT count(*) FROM tasks WHERE project_id = %s", (bobs["id"],)) == 0


@pytest.mark.rules("mass-assignment", "task-patch")
def test_a_task_patch_ignores_project_id_and_every_unlisted_field(people, db):
    alice, bob = people.member("alice"), people.member("bob")
    mine, bobs = alice.project(), bob.project()
    task = alice.task(mine["id"], "Stay home")
    response = alice.client.patch(
        f"/v1/tasks/{task['id']}",
        json={"project_id": bobs["id"], "title": "Still home", "id": 987654323,
              "owner_id": bob.sub, "role": "admin"},
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert response.json() == {**task, "title": "Still home"}
    assert stored_task(db, task["id"]) == (mine["id"], "Still home", False)
    assert db.scalar("SELECT count(*) FROM tasks WHERE project_id = %s", (bobs["id"],)) == 0
    assert stored_project(db, mine["id"]) == (alice.sub, mine["name"])


@pytest.mark.rules("list-own", "list-order")
def test_a_member_lists_only_their_own_projects(people):
    alice, bob = people.member("alice"), people.member("bob")
    first, other, second = alice.project(), bob.project(), alice.project()
    assert listed(alice) == {"items": [second, first], "total": 2}
    assert listed(bob) == {"items": [other], "total": 1}
    assert listed(people.member("carol")) == {"items": [], "total": 0}


@pytest.mark.rules("admin-lists-all", "list-order")
def test_an_admin_lists_every_users_projects_newest_first(people, db):
    alice, bob, admin = people.member("alice"), people.member("bob"), people.admin()
    hers, his = alice.project(), bob.project()
    page = listed(admin)
    assert page["items"][:2] == [his, hers], page["items"][:2]
    ids = [p["id"] for p in page["items"]]
    assert ids == sorted(ids, reverse=True)
    assert page["total"] == db.scalar("SELECT count(*) FROM projects")


@pytest.mark.rules("bola-project", "refused-changes-nothing")
def test_another_members_project_is_404_to_read_and_to_delete(people, db):
    alice, bob = people.member("alice"), people.member("bob")
    project = alice.project()
    alice.task(project["id"], "Hers")
    missing = bob.client.get("/v1/projects/9223372036854775807")
    assert_error(missing, 404, "not_found")
    read = bob.client.get(f"/v1/projects/{project['id']}")
    assert_error(read, 404, "not_found")
    assert project["name"] not in read.text and alice.sub not in read.text
    assert_error(bob.client.delete(f"/v1/projects/{project['id']}"), 404, "not_found")
    assert stored_project(db, project["id"]) == (alice.sub, project["name"])
    assert db.scalar("SELECT count(*) FROM tasks WHERE project_id = %s", (project["id"],)) == 1
    assert alice.client.get(f"/v1/projects/{project['id']}").json() == project


@pytest.mark.rules("bola-task-create", "refused-changes-nothing")
def test_a_member_cannot_add_a_task_to_another_members_project(people, db):
    alice, bob = people.member("alice"), people.member("bob")
    project = alice.project()
    title = people.unique("intruder")
    response = bob.client.post(f"/v1/projects/{project['id']}/tasks", json={"title": title})
    assert_error(response, 404, "not_found")
    assert tasks_titled(db, title) == 0


@pytest.mark.rules("bola-task", "task-owner", "refused-changes-nothing")
def test_another_members_task_is_404_to_read_and_to_change(people, db):
    alice, bob = people.member("alice"), people.member("bob")
    project = alice.project()
    task = alice.task(project["id"], "Private task")
    read = bob.client.get(f"/v1/tasks/{task['id']}")
    assert_error(read, 404, "not_found")
    assert "Private task" not in read.text
    changed = bob.client.patch(f"/v1/tasks/{task['id']}", json={"title": "Mine now", "done": True})
    assert_error(changed, 404, "not_found")
    assert stored_task(db, task["id"]) == (project["id"], "Private task", False)
    assert alice.client.get(f"/v1/tasks/{task['id']}").json() == task


@pytest.mark.rules("admin-all", "task-owner")
def test_an_admin_reads_changes_and_deletes_every_users_objects(people, db):
    alice, admin = people.member("alice"), people.admin()
    project = alice.project()
    task = alice.task(project["id"], "Reviewed")
    assert admin.client.get(f"/v1/projects/{project['id']}").json() == project
    assert admin.client.get(f"/v1/tasks/{task['id']}").json() == task
    patched = admin.client.patch(f"/v1/tasks/{task['id']}", json={"done": True})
    assert patched.status_code == 200 and patched.json() == {**task, "done": True}, patched.text
    added = admin.client.post(f"/v1/projects/{project['id']}/tasks", json={"title": "From admin"})
    assert added.status_code == 201, added.text
    assert added.json()["project_id"] == project["id"]
    assert stored_project(db, project["id"]) == (alice.sub, project["name"])
    assert stored_task(db, task["id"]) == (project["id"], "Reviewed", True)
    # the owner stays alice: she sees the admin's task, and the summary counts it as hers
    assert alice.client.get(f"/v1/tasks/{added.json()['id']}").json() == added.json()
    summary = counts(admin.client.get(f"/v1/admin/users/{alice.sub}"))
    assert summary == {"user_id": alice.sub, "projects": 1, "tasks": 2}
    deleted = admin.client.delete(f"/v1/projects/{project['id']}")
    assert deleted.status_code == 204, deleted.text
    assert stored_project(db, project["id"]) is None
    assert stored_task(db, task["id"]) is None


@pytest.mark.rules("admin-own")
def test_a_project_an_admin_creates_is_the_admins_own(people, db):
    alice, admin = people.member("alice"), people.admin()
    project = admin.project()
    assert project["owner_id"] == admin.sub
    assert stored_project(db, project["id"]) == (admin.sub, project["name"])
    assert_error(alice.client.get(f"/v1/projects/{project['id']}"), 404, "not_found")
    assert project not in listed(alice)["items"]


@pytest.mark.rules("admin-summary")
def test_the_user_summary_counts_a_users_projects_and_their_tasks(people):
    alice, bob, admin = people.member("alice"), people.member("bob"), people.admin()
    first, second = alice.project(), alice.project()
    alice.task(first["id"])
    alice.task(first["id"], "Second", done=True)
    alice.task(second["id"])
    bob.task(bob.project()["id"])

    def summary(user_id):
        return counts(admin.client.get(f"/v1/admin/users/{quote(user_id, safe='')}"))

    assert summary(alice.sub) == {"user_id": alice.sub, "projects": 2, "tasks": 3}
    assert summary(bob.sub) == {"user_id": bob.sub, "projects": 1, "tasks": 1}
    assert admin.client.delete(f"/v1/projects/{first['id']}").status_code == 204
    assert summary(alice.sub) == {"user_id": alice.sub, "projects": 1, "tasks": 1}
    for nobody in (people.unique("nobody"), "a b?c%d#e", "\u00e9t\u00e9 \u2603", "x\u0000y"):
        assert summary(nobody) == {"user_id": nobody, "projects": 0, "tasks": 0}


@pytest.mark.rules("admin-only", "error-403", "auth-first")
def test_the_user_summary_is_403_for_members_and_401_without_a_token(people, api):
    alice = people.member("alice")
    alice.project()
    for user_id in (alice.sub, people.unique("other"), "1"):
        assert_error(alice.client.get(f"/v1/admin/users/{user_id}"), 403, "forbidden")
        assert_error(api.get(f"/v1/admin/users/{user_id}"), 401, "unauthorized")


@pytest.mark.rules("bola-project", "bola-task", "refused-changes-nothing")
def test_a_deleted_or_foreign_object_answers_like_one_that_never_existed(people, db):
    alice, bob = people.member("alice"), people.member("bob")
    project = alice.project()
    task = alice.task(project["id"], "Gone soon")
    gone = bob.project()
    assert bob.client.delete(f"/v1/projects/{gone['id']}").status_code == 204
    for path in (f"/v1/projects/{gone['id']}", f"/v1/projects/{project['id']}"):
        assert_error(bob.client.get(path), 404, "not_found")
        assert_error(bob.client.post(f"{path}/tasks", json={"title": "x"}), 404, "not_found")
    assert_error(bob.client.get(f"/v1/tasks/{task['id']}"), 404, "not_found")
    assert_error(
        bob.client.patch(f"/v1/tasks/{task['id']}", json={"done": True}), 404, "not_found"
    )
    assert projects_named(db, project["name"]) == 1
    assert stored_task(db, task["id"]) == (project["id"], "Gone soon", False)
