"""The rules PostgreSQL itself must keep: rows are written here directly, bypassing the API."""

import psycopg
import pytest
from psycopg import errors

INTEGER_TYPES = {"integer", "bigint"}
TEXT_TYPES = {"text", "character varying"}


def new_organisation(db, unique):
    return db.scalar("INSERT INTO organisations (name) VALUES (%s) RETURNING id", (unique("org"),))


def new_project(db, unique, organisation_id=None, name=None):
    organisation_id = organisation_id or new_organisation(db, unique)
    return db.scalar(
        "INSERT INTO projects (organisation_id, name) VALUES (%s, %s) RETURNING id",
        (organisation_id, name or unique("proj")),
    )


def new_task(db, unique, project_id=None, **columns):
    project_id = project_id or new_project(db, unique)
    columns = {"project_id": project_id, "title": unique("task"), **columns}
    names = ", ".join(columns)
    marks = ", ".join(["%s"] * len(columns))
    return db.scalar(
        f"INSERT INTO tasks ({names}) VALUES ({marks}) RETURNING id", tuple(columns.values())
    )


def new_member(db, unique, email=None):
    return db.scalar(
        "INSERT INTO members (email, name) VALUES (%s, %s) RETURNING id",
        (email or f"{unique('m')}@example.com", "Member"),
    )


def assign(db, task_id, member_id):
    db.execute(
        "INSERT INTO task_assignments (task_id, member_id) VALUES (%s, %s)", (task_id, member_id)
    )


def count(db, table, where, params):
    return db.scalar(f"SELECT count(*) FROM {table} WHERE {where}", params)


def missing_id(db, table):
    return db.scalar(f"SELECT coalesce(max(id), 0) + 1000000 FROM {table}")


@pytest.mark.rules("db-tables")
def test_tables_and_columns_are_as_stated(authed_api, db):
    assert authed_api.get("/health").status_code == 200
    expected = {
        "organisations": {"id": INTEGER_TYPES, "name": TEXT_TYPES},
        "projects": {"id": INTEGER_TYPES, "organisation_id": INTEGER_TYPES, "name": TEXT_TYPES},
        "members": {"id": INTEGER_TYPES, "email": TEXT_TYPES, "name": TEXT_TYPES},
        "tasks": {
            "id": INTEGER_TYPES,
            "project_id": INTEGER_TYPES,
            "title": TEXT_TYPES,
            "status": TEXT_TYPES,
            "estimate_hours": {"integer"},
            "start_date": {"date"},
            "due_date": {"date"},
        },
        "task_assignments": {"task_id": INTEGER_TYPES, "member_id": INTEGER_TYPES},
    }
    for table, wanted in expected.items():
        columns = db.columns(table)
        for column, types in wanted.items():
            assert columns.get(column) in types, (table, column, columns)
    links = db.foreign_keys()
    assert {
        ("projects", "organisations"),
        ("tasks", "projects"),
        ("task_assignments", "tasks"),
        ("task_assignments", "members"),
    } <= links


@pytest.mark.rules("db-foreign-keys")
def test_rows_naming_unknown_parents_cannot_be_inserted(db, unique):
    with pytest.raises(errors.ForeignKeyViolation):
        new_project(db, unique, organisation_id=missing_id(db, "organisations"))
    with pytest.raises(errors.ForeignKeyViolation):
        new_task(db, unique, project_id=missing_id(db, "projects"))
    task = new_task(db, unique)
    member = new_member(db, unique)
    with pytest.raises(errors.ForeignKeyViolation):
        assign(db, task, missing_id(db, "members"))
    with pytest.raises(errors.ForeignKeyViolation):
        assign(db, missing_id(db, "tasks"), member)
    assert count(db, "task_assignments", "member_id = %s OR task_id = %s", (member, task)) == 0


@pytest.mark.rules("db-cascade-project")
def test_deleting_a_project_directly_deletes_its_tasks_and_their_assignments(db, unique):
    organisation = new_organisation(db, unique)
    doomed = new_project(db, unique, organisation)
    kept = new_project(db, unique, organisation)
    member = new_member(db, unique)
    doomed_tasks = [new_task(db, unique, doomed) for _ in range(2)]
    kept_task = new_task(db, unique, kept)
    for task in (*doomed_tasks, kept_task):
        assign(db, task, member)
    db.execute("DELETE FROM projects WHERE id = %s", (doomed,))
    assert count(db, "tasks", "project_id = %s", (doomed,)) == 0
    assert count(db, "task_assignments", "task_id = ANY(%s)", (doomed_tasks,)) == 0
    assert count(db, "tasks", "project_id = %s", (kept,)) == 1
    assert count(db, "task_assignments", "task_id = %s", (kept_task,)) == 1


@pytest.mark.rules("db-cascade-assignments")
def test_deleting_a_task_or_a_member_directly_deletes_their_assignments(db, unique):
    first, second = new_task(db, unique), new_task(db, unique)
    leaving, staying = new_member(db, unique), new_member(db, unique)
    for task in (first, second):
        for member in (leaving, staying):
            assign(db, task, member)
    db.execute("DELETE FROM tasks WHERE id = %s", (first,))
    assert count(db, "task_assignments", "task_id = %s", (first,)) == 0
    db.execute("DELETE FROM members WHERE id = %s", (leaving,))
    assert count(db, "task_assignments", "member_id = %s", (leaving,)) == 0
    assert count(db, "task_assignments", "task_id = %s", (second,)) == 1


@pytest.mark.rules("db-restrict-organisation")
def test_an_organisation_with_projects_cannot_be_deleted_directly(db, unique):
    organisation = new_organisation(db, unique)
    project = new_project(db, unique, organisation)
    with pytest.raises(errors.ForeignKeyViolation):
        db.execute("DELETE FROM organisations WHERE id = %s", (organisation,))
    assert count(db, "organisations", "id = %s", (organisation,)) == 1
    assert count(db, "projects", "id = %s", (project,)) == 1
    db.execute("DELETE FROM projects WHERE id = %s", (project,))
    db.execute("DELETE FROM organisations WHERE id = %s", (organisation,))
    assert count(db, "organisations", "id = %s", (organisation,)) == 0


@pytest.mark.rules("db-unique-project-name")
def test_project_names_are_unique_per_organisation_in_any_case_in_the_database(db, unique):
    organisation, other = new_organisation(db, unique), new_organisation(db, unique)
    name = unique("Apollo")
    new_project(db, unique, organisation, name)
    for variant in (name, name.upper(), name.lower(), name.swapcase()):
        with pytest.raises(errors.UniqueViolation):
            new_project(db, unique, organisation, variant)
    # the same name in another organisation, and another name here, are fine
    new_project(db, unique, other, name.upper())
    new_project(db, unique, organisation, name + "-2")
    assert count(db, "projects", "lower(name) = lower(%s)", (name,)) == 2


@pytest.mark.rules("db-unique-member-email")
def test_member_emails_are_unique_in_any_case_in_the_database(db, unique):
    email = f"{unique('Grace')}@Example.com"
    new_member(db, unique, email)
    for variant in (email, email.upper(), email.lower()):
        with pytest.raises(errors.UniqueViolation):
            new_member(db, unique, variant)
    assert count(db, "members", "lower(email) = lower(%s)", (email,)) == 1


@pytest.mark.rules("db-assignment-once")
def test_a_member_is_assigned_to_a_task_at_most_once_in_the_database(db, unique):
    task, member = new_task(db, unique), new_member(db, unique)
    assign(db, task, member)
    with pytest.raises(errors.UniqueViolation):
        assign(db, task, member)
    assert count(db, "task_assignments", "task_id = %s", (task,)) == 1
    other = new_member(db, unique)
    assign(db, task, other)
    assert count(db, "task_assignments", "task_id = %s", (task,)) == 2


@pytest.mark.rules("db-check-status", "db-status-default")
def test_the_database_checks_a_task_status_and_defaults_it_to_todo(db, unique):
    project = new_project(db, unique)
    for bad in ("blocked", "TODO", "", "done "):
        with pytest.raises(errors.CheckViolation):
            new_task(db, unique, project, status=bad)
    plain = new_task(db, unique, project)
    assert db.scalar("SELECT status FROM tasks WHERE id = %s", (plain,)) == "todo"
    for good in ("todo", "in_progress", "done"):
        task = new_task(db, unique, project, status=good)
        assert db.scalar("SELECT status FROM tasks WHERE id = %s", (task,)) == good
    with pytest.raises(errors.CheckViolation):
        db.execute("UPDATE tasks SET status = 'archived' WHERE id = %s", (plain,))
    assert count(db, "tasks", "project_id = %s", (project,)) == 4


@pytest.mark.rules("db-check-estimate")
def test_the_database_checks_that_an_estimate_is_not_negative(db, unique):
    project = new_project(db, unique)
    for bad in (-1, -100):
        with pytest.raises(errors.CheckViolation):
            new_task(db, unique, project, estimate_hours=bad)
    for good in (0, 1, None):
        new_task(db, unique, project, estimate_hours=good)
    task = new_task(db, unique, project, estimate_hours=3)
    with pytest.raises(errors.CheckViolation):
        db.execute("UPDATE tasks SET estimate_hours = -1 WHERE id = %s", (task,))
    assert db.scalar("SELECT estimate_hours FROM tasks WHERE id = %s", (task,)) == 3


@pytest.mark.rules("db-check-dates")
def test_the_database_checks_that_a_task_is_not_due_before_it_starts(db, unique):
    project = new_project(db, unique)
    with pytest.raises(errors.CheckViolation):
        new_task(db, unique, project, start_date="2026-03-10", due_date="2026-03-09")
    with pytest.raises(errors.CheckViolation):
        new_task(db, unique, project, start_date="2027-01-01", due_date="2026-12-31")
    for start, due in (
        ("2026-03-10", "2026-03-10"),
        ("2026-03-10", "2026-03-11"),
        (None, "2026-03-01"),
        ("2026-03-01", None),
        (None, None),
    ):
        new_task(db, unique, project, start_date=start, due_date=due)
    task = new_task(db, unique, project, start_date="2026-05-01")
    with pytest.raises(errors.CheckViolation):
        db.execute("UPDATE tasks SET due_date = '2026-04-30' WHERE id = %s", (task,))
    assert db.scalar("SELECT due_date FROM tasks WHERE id = %s", (task,)) is None


@pytest.mark.rules("db-not-null")
def test_the_stated_columns_are_not_null_in_the_database(db, unique):
    organisation = new_organisation(db, unique)
    project = new_project(db, unique, organisation)
    task = new_task(db, unique, project)
    member = new_member(db, unique)
    attempts = [
        ("INSERT INTO organisations (name) VALUES (NULL)", ()),
        ("INSERT INTO projects (organisation_id, name) VALUES (NULL, %s)", (unique("p"),)),
        ("INSERT INTO projects (organisation_id, name) VALUES (%s, NULL)", (organisation,)),
        ("INSERT INTO members (email, name) VALUES (NULL, 'x')", ()),
        ("INSERT INTO members (email, name) VALUES (%s, NULL)", (f"{unique('n')}@example.com",)),
        ("INSERT INTO tasks (project_id, title) VALUES (NULL, 'x')", ()),
        ("INSERT INTO tasks (project_id, title) VALUES (%s, NULL)", (project,)),
        ("INSERT INTO tasks (project_id, title, status) VALUES (%s, 'x', NULL)", (project,)),
        ("UPDATE tasks SET status = NULL WHERE id = %s", (task,)),
        ("UPDATE tasks SET title = NULL WHERE id = %s", (task,)),
        ("INSERT INTO task_assignments (task_id, member_id) VALUES (%s, NULL)", (task,)),
        ("INSERT INTO task_assignments (task_id, member_id) VALUES (NULL, %s)", (member,)),
    ]
    for sql, params in attempts:
        with pytest.raises(psycopg.IntegrityError) as raised:
            db.execute(sql, params)
        assert isinstance(raised.value, errors.NotNullViolation), (sql, type(raised.value))
    assert count(db, "tasks", "project_id = %s", (project,)) == 1
