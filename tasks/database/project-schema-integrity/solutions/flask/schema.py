"""The tables, declared with SQLAlchemy Core: every rule is a constraint PostgreSQL keeps."""

import os

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Identity,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    create_engine,
    func,
    text,
)

metadata = MetaData()

organisations = Table(
    "organisations",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("name", Text, nullable=False),
)

projects = Table(
    "projects",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column(
        "organisation_id",
        BigInteger,
        ForeignKey("organisations.id", ondelete="RESTRICT"),
        nullable=False,
    ),
    Column("name", Text, nullable=False),
)
Index("uq_projects_org_lower_name", projects.c.organisation_id, func.lower(projects.c.name), unique=True)

members = Table(
    "members",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column("email", Text, nullable=False),
    Column("name", Text, nullable=False),
)
Index("uq_members_lower_email", func.lower(members.c.email), unique=True)

tasks = Table(
    "tasks",
    metadata,
    Column("id", BigInteger, Identity(), primary_key=True),
    Column(
        "project_id",
        BigInteger,
        ForeignKey("projects.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    Column("title", Text, nullable=False),
    Column("status", Text, nullable=False, server_default=text("'todo'")),
    Column("estimate_hours", Integer, nullable=True),
    Column("start_date", Date, nullable=True),
    Column("due_date", Date, nullable=True),
    CheckConstraint("status IN ('todo', 'in_progress', 'done')", name="ck_tasks_status"),
    CheckConstraint("estimate_hours >= 0", name="ck_tasks_estimate"),
    CheckConstraint("due_date >= start_date", name="ck_tasks_dates"),
)

task_assignments = Table(
    "task_assignments",
    metadata,
    Column("task_id", BigInteger, ForeignKey("tasks.id", ondelete="CASCADE"), nullable=False),
    Column(
        "member_id",
        BigInteger,
        ForeignKey("members.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    PrimaryKeyConstraint("task_id", "member_id"),
)


def database_url() -> str:
    """DATABASE_URL for SQLAlchemy's psycopg 3 dialect."""
    url = os.environ["DATABASE_URL"]
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


if __name__ == "__main__":
    engine = create_engine(database_url())
    metadata.create_all(engine)
    engine.dispose()
