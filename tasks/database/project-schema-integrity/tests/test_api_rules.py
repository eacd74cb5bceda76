"""The API over the schema: answers, the database's refusals mapped to 409 / 422, lists."""

import datetime

import pytest

BAD_IDS = ["0", "-1", "abc", "1.5", "1e3", "99999999999999999999999", "2000000000"]


def assert_error(response, status, code):
    assert response.status_code == status, (
        response.request.method,
        str(response.request.url),
        response.text,
    )
    body = response.json()
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def created(response):
    assert response.status_code == 201, response.text
    return response.json()


def new_org(api, unique, name=None):
    return created(api.post("/organisations", json={"name": name or unique("org")}))


def new_project(api, unique, org=None, name=None):
    org = org or new_org(api, unique)
    return created(
        api.post("/projects", json={"organisation_id": org["id"], "name": name or unique("proj")})
    )


def new_task(api, unique, project=None, **fields):
    project = project or new_project(api, unique)
    body = {"project_id": project["id"], "title": unique("task"), **fields}
    return created(api.post("/tasks", json=body))


def new_member(api, unique, email=None):
    email = email or f"{unique('m')}@example.com"
    return created(api.post("/members", json={"email": email, "name": "Member"}))


def stored_task(db, task_id):
    row = db.execute(
        "SELECT project_id, title, status, estimate_hours, start_date, due_date FROM tasks"
        " WHERE id = %s",
        (task_id,),
    ).fetchone()
    return row


def count(db, table, where, params):
    return db.scalar(f"SELECT count(*) FROM {table} WHERE {where}", params)


@pytest.mark.rules("health", "org-create", "org-get", "ids-positive", "reads-open", "nul-422")
def test_organisation_is_created_stored_and_read_without_a_token(api, authed_api, unique, db):
    assert api.get("/health").json() == {"status": "ok"}
    name = "  " + unique("Acme Ltd") + " "
    org = new_org(authed_api, unique, name)
    assert isinstance(org["id"], int) and not isinstance(org["id"], bool) and org["id"] >= 1
    assert org == {"id": org["id"], "name": name}
    assert api.get(f"/organisations/{org['id']}").json() == org
    assert db.scalar("SELECT name FROM organisations WHERE id = %s", (org["id"],)) == name
    assert new_org(authed_api, unique)["id"] != org["id"]
    # unknown body fields are ignored
    extra = created(authed_api.post("/organisations", json={"name": name, "id": 1, "owner": "x"}))
    assert extra["id"] != 1 or org["id"] == 1
    assert extra == {"id": extra["id"], "name": name}


@pytest.mark.rules("path-id-404", "error-body", "org-get", "project-get", "task-get")
def test_unknown_or_malformed_path_ids_are_404(api, authed_api):
    for bad in BAD_IDS:
        for path in ("/organisations/{}", "/projects/{}", "/tasks/{}"):
            assert_error(api.get(path.format(bad)), 404, "not_found")
        assert_error(authed_api.delete(f"/organisations/{bad}"), 404, "not_found")
        assert_error(authed_api.delete(f"/projects/{bad}"), 404, "not_found")
        assert_error(authed_api.patch(f"/tasks/{bad}", json={"title": "x"}), 404, "not_found")
        assert_error(
            authed_api.post(f"/tasks/{bad}/assignees", json={"member_id": 1}), 404, "not_found"
        )


@pytest.mark.rules("name-rules", "validation-422", "nul-422", "refused-changes-nothing")
def test_names_must_be_1_to_200_characters_and_not_blank(authed_api, unique, db):
    org = new_org(authed_api, unique)
    token = unique("n")
    assert new_org(authed_api, unique, "x" * 200)["name"] == "x" * 200
    for bad in ("", "   ", "\t\n", "x" * 201, f"{token}\x00", None, 5, ["a"]):
        assert_error(authed_api.post("/organisations", json={"name": bad}), 422, "validation_error")
        assert_error(
            authed_api.post("/projects", json={"organisation_id": org["id"], "name": bad}),
            422,
            "validation_error",
        )
        assert_error(
            authed_api.post("/members", json={"email": f"{unique('e')}@x.io", "name": bad}),
            422,
            "validation_error",
        )
    assert_error(authed_api.post("/organisations", json={}), 422, "validation_error")
    assert count(db, "projects", "organisation_id = %s", (org["id"],)) == 0
    assert count(db, "organisations", "strpos(name, %s) > 0", (token,)) == 0


@pytest.mark.rules("project-create", "project-get", "project-list")
def test_project_is_created_as_sent_and_listed_by_organisation(api, authed_api, unique, db):
    org, other = new_org(authed_api, unique), new_org(authed_api, unique)
    name = unique("Apollo Moon")
    made = [new_project(authed_api, unique, org, name if n == 0 else None) for n in range(3)]
    new_project(authed_api, unique, other)
    assert made[0] == {"id": made[0]["id"], "organisation_id": org["id"], "name": name}
    assert api.get(f"/projects/{made[0]['id']}").json() == made[0]
    assert db.scalar("SELECT name FROM projects WHERE id = %s", (made[0]["id"],)) == name
    page = api.get("/projects", params={"organisation_id": org["id"], "limit": 2}).json()
    assert page == {"items": made[:2], "total": 3}
    page = api.get("/projects", params={"organisation_id": org["id"], "offset": 2}).json()
    assert page == {"items": made[2:], "total": 3}
    everything = api.get("/projects", params={"limit": 100}).json()
    assert everything["total"] >= 4
    ids = [p["id"] for p in everything["items"]]
    assert ids == sorted(ids)


@pytest.mark.rules("project-unknown-organisation", "ref-id-422", "refused-changes-nothing")
def test_a_project_of_an_unknown_organisation_is_422_and_not_stored(authed_api, unique, db):
    name = unique("orphan")
    top = db.scalar("SELECT coalesce(max(id), 0) FROM organisations")
    for org_id in (top + 1000000, 0, -3, 2**63):
        r = authed_api.post("/projects", json={"organisation_id": org_id, "name": name})
        assert_error(r, 422, "validation_error")
    assert count(db, "projects", "name = %s", (name,)) == 0


@pytest.mark.rules("project-unique", "refused-changes-nothing")
def test_a_project_name_taken_in_any_case_is_409_but_fine_elsewhere(authed_api, unique, db):
    org, other = new_org(authed_api, unique), new_org(authed_api, unique)
    name = unique("Apollo")
    first = new_project(authed_api, unique, org, name)
    for variant in (name, name.upper(), name.lower(), name.swapcase()):
        r = authed_api.post("/projects", json={"organisation_id": org["id"], "name": variant})
        assert_error(r, 409, "conflict")
    assert count(db, "projects", "lower(name) = lower(%s)", (name,)) == 1
    elsewhere = new_project(authed_api, unique, other, name.upper())
    assert elsewhere["name"] == name.upper()
    assert new_project(authed_api, unique, org, name + " II")["id"] > first["id"]
    assert count(db, "projects", "lower(name) = lower(%s)", (name,)) == 2


@pytest.mark.rules("org-delete", "org-delete-conflict", "refused-changes-nothing")
def test_deleting_an_organisation_with_projects_is_409_and_keeps_it(api, authed_api, unique, db):
    org = new_org(authed_api, unique)
    project = new_project(authed_api, unique, org)
    assert_error(authed_api.delete(f"/organisations/{org['id']}"), 409, "conflict")
    assert api.get(f"/organisations/{org['id']}").json() == org
    assert api.get(f"/projects/{project['id']}").json() == project
    assert count(db, "projects", "organisation_id = %s", (org["id"],)) == 1
    assert authed_api.delete(f"/projects/{project['id']}").status_code == 204
    r = authed_api.delete(f"/organisations/{org['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_error(api.get(f"/organisations/{org['id']}"), 404, "not_found")
    assert_error(authed_api.delete(f"/organisations/{org['id']}"), 404, "not_found")
    assert count(db, "organisations", "id = %s", (org["id"],)) == 0


@pytest.mark.rules("project-delete", "db-cascade-project")
def test_deleting_a_project_deletes_its_tasks_and_assignments(api, authed_api, unique, db):
    org = new_org(authed_api, unique)
    doomed, kept = new_project(authed_api, unique, org), new_project(authed_api, unique, org)
    member = new_member(authed_api, unique)
    tasks = [new_task(authed_api, unique, doomed) for _ in range(2)]
    survivor = new_task(authed_api, unique, kept)
    for task in (*tasks, survivor):
        created(authed_api.post(f"/tasks/{task['id']}/assignees", json={"member_id": member["id"]}))
    r = authed_api.delete(f"/projects/{doomed['id']}")
    assert r.status_code == 204 and r.content == b""
    assert_error(api.get(f"/projects/{doomed['id']}"), 404, "not_found")
    for task in tasks:
        assert_error(api.get(f"/tasks/{task['id']}"), 404, "not_found")
    assert count(db, "tasks", "project_id = %s", (doomed["id"],)) == 0
    ids = [t["id"] for t in tasks]
    assert count(db, "task_assignments", "task_id = ANY(%s)", (ids,)) == 0
    assert api.get(f"/tasks/{survivor['id']}").json()["assignee_ids"] == [member["id"]]
    assert_error(authed_api.delete(f"/projects/{doomed['id']}"), 404, "not_found")


@pytest.mark.rules("member-create", "member-email", "member-unique", "refused-changes-nothing")
def test_members_have_a_shaped_email_unique_in_any_case(authed_api, unique, db):
    token = unique("e").replace("-", "")
    email = f"Ada.{token}@Example.COM"
    member = new_member(authed_api, unique, email)
    assert member == {"id": member["id"], "email": email, "name": "Member"}
    assert db.scalar("SELECT email FROM members WHERE id = %s", (member["id"],)) == email
    for variant in (email, email.lower(), email.upper()):
        r = authed_api.post("/members", json={"email": variant, "name": "Twin"})
        assert_error(r, 409, "conflict")
    assert count(db, "members", "lower(email) = lower(%s)", (email,)) == 1
    for good in (f"{token}a@b", f"o'{token};--@x.y"):
        assert new_member(authed_api, unique, good)["email"] == good
    for bad in (
        f"{token}b",
        f"{token}c@",
        f"@{token}d",
        f"{token}e@@x.y",
        f"{token}f@x@y",
        f"{token} g@x.y",
        f"{token}h@x.y\n",
        "",
        f"{token}i@" + "x" * 254,
    ):
        r = authed_api.post("/members", json={"email": bad, "name": "Bad"})
        assert_error(r, 422, "validation_error")
    assert count(db, "members", "strpos(email, %s) > 0", (token,)) == 3


@pytest.mark.rules("task-create", "task-defaults", "task-get", "task-shape")
def test_a_task_is_created_with_its_defaults_and_read_back(api, authed_api, unique, db):
    project = new_project(authed_api, unique)
    title = unique("Write the spec")
    task = new_task(authed_api, unique, project, title=title)
    assert task == {
        "id": task["id"],
        "project_id": project["id"],
        "title": title,
        "status": "todo",
        "estimate_hours": None,
        "start_date": None,
        "due_date": None,
        "assignee_ids": [],
    }
    assert api.get(f"/tasks/{task['id']}").json() == task
    full = new_task(
        authed_api,
        unique,
        project,
        title=title,
        status="in_progress",
        estimate_hours=0,
        start_date="2026-02-28",
        due_date="2026-02-28",
    )
    assert (full["status"], full["estimate_hours"]) == ("in_progress", 0)
    assert (full["start_date"], full["due_date"]) == ("2026-02-28", "2026-02-28")
    assert stored_task(db, full["id"]) == (
        project["id"],
        title,
        "in_progress",
        0,
        datetime.date(2026, 2, 28),
        datetime.date(2026, 2, 28),
    )
    assert api.get(f"/tasks/{full['id']}").json() == full


@pytest.mark.rules(
    "task-fields", "task-dates", "strict-integers", "validation-422", "refused-changes-nothing"
)
def test_invalid_task_fields_are_422_and_store_nothing(authed_api, unique, db):
    project = new_project(authed_api, unique)
    base = {"project_id": project["id"], "title": unique("bad")}
    bad_fields = [
        {"start_date": "2026-03-10", "due_date": "2026-03-09"},
        {"start_date": "2027-01-01", "due_date": "2026-12-31"},
        {"estimate_hours": -1},
        {"estimate_hours": 10001},
        {"estimate_hours": 1.0},
        {"estimate_hours": "5"},
        {"estimate_hours": True},
        {"status": "blocked"},
        {"status": "TODO"},
        {"status": None},
        {"start_date": "2026-02-30"},
        {"due_date": "2026/03/01"},
        {"due_date": "20260301"},
        {"start_date": "2026-3-1"},
        {"start_date": 20260301},
        {"title": None},
        {"project_id": "1"},
        {"project_id": float(project["id"])},
    ]
    for fields in bad_fields:
        r = authed_api.post("/tasks", json={**base, **fields})
        assert_error(r, 422, "validation_error")
    assert count(db, "tasks", "project_id = %s", (project["id"],)) == 0
    ok = new_task(authed_api, unique, project, estimate_hours=10000, due_date="2024-02-29")
    assert (ok["estimate_hours"], ok["due_date"]) == (10000, "2024-02-29")
    assert count(db, "tasks", "project_id = %s", (project["id"],)) == 1


@pytest.mark.rules("task-unknown-project", "ref-id-422", "refused-changes-nothing")
def test_a_task_of_an_unknown_project_is_422_and_not_stored(authed_api, unique, db):
    title = unique("lost")
    top = db.scalar("SELECT coalesce(max(id), 0) FROM projects")
    for project_id in (top + 1000000, 0):
        r = authed_api.post("/tasks", json={"project_id": project_id, "title": title})
        assert_error(r, 422, "validation_error")
    assert count(db, "tasks", "title = %s", (title,)) == 0


@pytest.mark.rules("task-list", "list-shape")
def test_tasks_are_listed_by_project_and_status_with_paging(api, authed_api, unique):
    project, other = new_project(authed_api, unique), new_project(authed_api, unique)
    statuses = ["todo", "done", "in_progress", "done", "done", "todo"]
    made = [new_task(authed_api, unique, project, status=s) for s in statuses]
    new_task(authed_api, unique, other, status="done")
    page = api.get("/tasks", params={"project_id": project["id"]}).json()
    assert page == {"items": made, "total": 6}
    done = [t for t in made if t["status"] == "done"]
    page = api.get("/tasks", params={"project_id": project["id"], "status": "done", "limit": 2})
    assert page.json() == {"items": done[:2], "total": 3}
    page = api.get(
        "/tasks", params={"project_id": project["id"], "status": "done", "limit": 2, "offset": 2}
    )
    assert page.json() == {"items": done[2:], "total": 3}
    page = api.get("/tasks", params={"project_id": project["id"], "offset": 6}).json()
    assert page == {"items": [], "total": 6}
    every_done = api.get("/tasks", params={"status": "done", "limit": 100}).json()
    assert every_done["total"] >= 4
    assert all(t["status"] == "done" for t in every_done["items"])
    assert_error(api.get("/tasks", params={"status": "blocked"}), 422, "validation_error")


@pytest.mark.rules("list-paging", "validation-422")
def test_list_paging_bounds_are_checked(api):
    for path in ("/organisations", "/projects", "/tasks"):
        for params in ({"limit": 0}, {"limit": 101}, {"offset": -1}, {"limit": "x"}, {"limit": "1.5"}):
            assert_error(api.get(path, params=params), 422, "validation_error")
        assert api.get(path, params={"limit": 100, "offset": 0}).status_code == 200
        assert len(api.get(path, params={"limit": 1}).json()["items"]) <= 1
    assert_error(api.get("/projects", params={"organisation_id": "x"}), 422, "validation_error")
    assert_error(api.get("/tasks", params={"project_id": "x"}), 422, "validation_error")


@pytest.mark.rules("org-list", "org-filter", "list-shape", "nul-422")
def test_organisations_are_filtered_by_name_literally_in_any_case(api, authed_api, unique):
    token = unique("f").replace("-", "")
    names = [f"North {token} Inc", f"north_{token}%", f"NORTH {token} Ltd", f"N_rth {token}"]
    made = [new_org(authed_api, unique, name) for name in names]
    new_org(authed_api, unique, f"South {unique('s')}")
    page = api.get("/organisations", params={"name": f"north {token.upper()}"}).json()
    assert page == {"items": [made[0], made[2]], "total": 2}
    page = api.get("/organisations", params={"name": token, "limit": 3, "offset": 1}).json()
    assert page == {"items": made[1:], "total": 4}
    assert api.get("/organisations", params={"name": f"_{token}%"}).json()["items"] == [made[1]]
    assert api.get("/organisations", params={"name": f"N_rth {token}"}).json()["total"] == 1
    assert api.get("/organisations", params={"name": f"N%{token}"}).json()["total"] == 0
    assert api.get("/organisations", params={"name": f"o'{token}"}).json()["total"] == 0
    everything = api.get("/organisations", params={"name": "", "limit": 100}).json()
    assert everything["total"] >= 5
    ids = [o["id"] for o in everything["items"]]
    assert ids == sorted(ids)
    assert_error(api.get("/organisations", params={"name": "x" * 201}), 422, "validation_error")
    assert_error(api.get("/organisations", params={"name": f"{token}\x00"}), 422, "validation_error")


@pytest.mark.rules("task-patch", "refused-changes-nothing")
def test_patch_changes_only_the_fields_sent(api, authed_api, unique, db):
    task = new_task(authed_api, unique, estimate_hours=4, start_date="2026-01-05")
    r = authed_api.patch(f"/tasks/{task['id']}", json={"status": "done", "due_date": "2026-01-09"})
    assert r.status_code == 200, r.text
    changed = {**task, "status": "done", "due_date": "2026-01-09"}
    assert r.json() == changed
    assert api.get(f"/tasks/{task['id']}").json() == changed
    r = authed_api.patch(
        f"/tasks/{task['id']}", json={"estimate_hours": None, "start_date": None, "title": "Renamed"}
    )
    assert r.status_code == 200, r.text
    changed = {**changed, "estimate_hours": None, "start_date": None, "title": "Renamed"}
    assert r.json() == changed
    assert stored_task(db, task["id"])[1:] == ("Renamed", "done", None, None, datetime.date(2026, 1, 9))
    for body in ({}, {"unknown": 1}, {"title": None}, {"status": None}, {"status": "later"},
                 {"estimate_hours": -2}, {"estimate_hours": 2.0}, {"title": "  "}):
        assert_error(authed_api.patch(f"/tasks/{task['id']}", json=body), 422, "validation_error")
    assert api.get(f"/tasks/{task['id']}").json() == changed


@pytest.mark.rules("task-patch-dates", "task-dates", "refused-changes-nothing")
def test_patch_that_would_store_due_before_start_is_422_and_changes_nothing(authed_api, unique, db):
    task = new_task(
        authed_api, unique, estimate_hours=2, start_date="2026-06-10", due_date="2026-06-20"
    )
    before = stored_task(db, task["id"])
    for body in (
        {"due_date": "2026-06-09", "title": "Moved"},
        {"start_date": "2026-06-21", "status": "done"},
        {"start_date": "2026-07-01", "due_date": "2026-06-30", "estimate_hours": 9},
    ):
        r = authed_api.patch(f"/tasks/{task['id']}", json=body)
        assert_error(r, 422, "validation_error")
        assert stored_task(db, task["id"]) == before
    r = authed_api.patch(f"/tasks/{task['id']}", json={"due_date": "2026-06-10"})
    assert r.status_code == 200 and r.json()["due_date"] == "2026-06-10"
    r = authed_api.patch(f"/tasks/{task['id']}", json={"start_date": None, "due_date": "2026-01-01"})
    assert r.status_code == 200 and (r.json()["start_date"], r.json()["due_date"]) == (None, "2026-01-01")


@pytest.mark.rules("assign", "assign-errors", "refused-changes-nothing", "fault-order")
def test_members_are_assigned_once_each_and_listed_ascending(api, authed_api, unique, db):
    task = new_task(authed_api, unique)
    first, second = new_member(authed_api, unique), new_member(authed_api, unique)
    r = authed_api.post(f"/tasks/{task['id']}/assignees", json={"member_id": second["id"]})
    assert created(r) == {**task, "assignee_ids": [second["id"]]}
    r = authed_api.post(f"/tasks/{task['id']}/assignees", json={"member_id": first["id"]})
    assert created(r)["assignee_ids"] == [first["id"], second["id"]]
    assert api.get(f"/tasks/{task['id']}").json()["assignee_ids"] == [first["id"], second["id"]]
    again = authed_api.post(f"/tasks/{task['id']}/assignees", json={"member_id": first["id"]})
    assert_error(again, 409, "conflict")
    top = db.scalar("SELECT coalesce(max(id), 0) FROM members")
    for member_id in (top + 1000000, 0, "1", 1.0):
        r = authed_api.post(f"/tasks/{task['id']}/assignees", json={"member_id": member_id})
        assert_error(r, 422, "validation_error")
    missing = db.scalar("SELECT coalesce(max(id), 0) + 1000000 FROM tasks")
    r = authed_api.post(f"/tasks/{missing}/assignees", json={"member_id": first["id"]})
    assert_error(r, 404, "not_found")
    # the body is judged before the path id
    assert_error(authed_api.post(f"/tasks/{missing}/assignees", json={}), 422, "validation_error")
    assert count(db, "task_assignments", "task_id = %s", (task["id"],)) == 2
    assert count(db, "task_assignments", "task_id = %s", (missing,)) == 0


@pytest.mark.rules("ids-positive", "org-get", "project-create", "task-create")
def test_rows_written_directly_by_another_program_are_served(api, authed_api, unique, db):
    # other programs write to the same tables: a batch of 150 organisations, then one project
    token = unique("batch")
    ids = [
        row[0]
        for row in db.execute(
            "INSERT INTO organisations (name) SELECT %s || '-' || n FROM generate_series(1, 150) AS n"
            " RETURNING id",
            (token,),
        ).fetchall()
    ]
    newest = max(ids)
    assert newest >= 150
    assert api.get(f"/organisations/{newest}").json() == {"id": newest, "name": f"{token}-150"}
    page = api.get("/organisations", params={"name": token, "limit": 1, "offset": 149}).json()
    assert page == {"items": [{"id": newest, "name": f"{token}-150"}], "total": 150}
    project = new_project(authed_api, unique, {"id": newest})
    assert project["organisation_id"] == newest
    task = new_task(authed_api, unique, project)
    assert api.get(f"/tasks/{task['id']}").json() == task
