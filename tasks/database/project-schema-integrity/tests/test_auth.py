"""Bearer authentication on every write, checked before anything else and changing nothing."""

import pytest

# every write; {org}, {project}, {task} are ids that exist, {member} a member not yet assigned
WRITES = [
    ("POST", "/organisations", "organisation"),
    ("DELETE", "/organisations/{spare_org}", None),
    ("POST", "/projects", "project"),
    ("DELETE", "/projects/{project}", None),
    ("POST", "/members", "member"),
    ("POST", "/tasks", "task"),
    ("PATCH", "/tasks/{task}", "patch"),
    ("POST", "/tasks/{task}/assignees", "assignee"),
]


def assert_unauthorized(response):
    assert response.status_code == 401, (
        response.request.method,
        str(response.request.url),
        response.text,
    )
    body = response.json()
    assert body["error"]["code"] == "unauthorized"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def bad_credentials(secret):
    return [
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": "Bearer"},
        {"Authorization": f"Bearer {secret}x"},
        {"Authorization": f"Bearer {secret[:-1]}"},
        {"Authorization": secret},
        {"Authorization": f"Basic {secret}"},
    ]


@pytest.fixture
def world(authed_api, unique):
    org = authed_api.post("/organisations", json={"name": unique("auth")}).json()
    spare = authed_api.post("/organisations", json={"name": unique("spare")}).json()
    project = authed_api.post("/projects", json={"organisation_id": org["id"], "name": unique("p")})
    task = authed_api.post("/tasks", json={"project_id": project.json()["id"], "title": "Guarded"})
    member = authed_api.post("/members", json={"email": f"{unique('a')}@x.io", "name": "M"})
    assert project.status_code == task.status_code == member.status_code == 201
    return {
        "org": org["id"],
        "spare_org": spare["id"],
        "project": project.json()["id"],
        "task": task.json()["id"],
        "member": member.json()["id"],
    }


def snapshot(db, world):
    """Every row the refused requests could have touched, as stored."""
    return [
        db.execute("SELECT count(*), max(id) FROM organisations").fetchone(),
        db.execute("SELECT count(*), max(id) FROM projects").fetchone(),
        db.execute("SELECT count(*), max(id) FROM members").fetchone(),
        db.execute("SELECT * FROM tasks WHERE id = %s", (world["task"],)).fetchall(),
        db.execute(
            "SELECT count(*) FROM task_assignments WHERE task_id = %s", (world["task"],)
        ).fetchone(),
        db.execute(
            "SELECT count(*) FROM organisations WHERE id = %s", (world["spare_org"],)
        ).fetchone(),
    ]


@pytest.mark.rules("auth-writes", "auth-first", "error-body", "refused-changes-nothing")
@pytest.mark.parametrize("method,path,body", WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_every_write_refuses_a_missing_or_wrong_token(
    method, path, body, world, api, app_secret, unique, db
):
    bodies = {
        "organisation": {"name": unique("anon")},
        "project": {"organisation_id": world["org"], "name": unique("anon")},
        "member": {"email": f"{unique('anon')}@x.io", "name": "Anon"},
        "task": {"project_id": world["project"], "title": "Anon"},
        "patch": {"title": "Changed", "status": "done"},
        "assignee": {"member_id": world["member"]},
    }
    before = snapshot(db, world)
    url = path.format(**world)
    for headers in bad_credentials(app_secret):
        kwargs = {"headers": headers}
        if body:
            kwargs["json"] = bodies[body]
        assert_unauthorized(api.request(method, url, **kwargs))
        # checked before the body and the path id
        assert_unauthorized(api.request(method, url, headers=headers, json={"bad": True}))
        assert_unauthorized(api.request(method, path.format(org=0, spare_org=0, project=0, task=0),
                                        headers=headers, json={}))
    assert snapshot(db, world) == before


@pytest.mark.rules("reads-open")
def test_reads_need_no_token(api, world):
    for path in (
        "/health",
        "/organisations",
        f"/organisations/{world['org']}",
        "/projects",
        f"/projects/{world['project']}",
        "/tasks",
        f"/tasks/{world['task']}",
    ):
        assert api.get(path).status_code == 200, path
