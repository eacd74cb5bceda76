"""A job and its pages are committed together, and before the 201."""

from __future__ import annotations

import time
import uuid

import pytest
from jobs_api import JOBS, Outcome, assert_stored_whole, stored_jobs


@pytest.mark.rules("one-transaction")
def test_a_job_and_its_pages_appear_all_at_once(client_factory, auth_headers, db, unique):
    """Read the tables while a 10-page job renders and is stored: every snapshot holds the job
    whole or not at all."""
    document = unique("atomic")
    client = client_factory(headers=auth_headers, deadline=15)
    outcome = Outcome(lambda: client.post(JOBS, json={"document": document, "pages": 10}))
    seen = []
    while outcome.finished_at is None:
        jobs = stored_jobs(db, document)
        for job in jobs:
            assert job["numbers"] == list(range(1, job["pages"] + 1)), (
                f"a job was seen with only some of its pages: {job}"
            )
        seen.append(len(jobs))
        time.sleep(0.02)
    outcome.join(15)
    assert outcome.response is not None and outcome.response.status_code == 201, outcome.describe()
    assert len(seen) >= 3, "the job was answered before it could be observed"
    assert assert_stored_whole(db, document, 10) == outcome.response.json()["id"]


@pytest.mark.rules("commit-before-answer")
def test_the_201_is_sent_only_after_the_commit(client_factory, auth_headers, db, unique):
    """A deferred trigger makes this job's commit wait for a lock the test holds: no 201 may
    come while the commit waits, and once it is released the job is there whole."""
    document = unique("held")
    key = uuid.uuid4().int % 2**62
    name = f"bb_hold_{uuid.uuid4().hex[:12]}"
    db.execute(
        f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS"
        f" $$ BEGIN PERFORM pg_advisory_xact_lock_shared({key}); RETURN NULL; END $$"
    )
    db.execute(
        f"CREATE CONSTRAINT TRIGGER {name} AFTER INSERT ON print_jobs DEFERRABLE INITIALLY"
        f" DEFERRED FOR EACH ROW WHEN (NEW.document = '{document}') EXECUTE FUNCTION {name}()"
    )
    db.execute("SELECT pg_advisory_lock(%s)", (key,))
    locked = True
    try:
        client = client_factory(headers=auth_headers, deadline=15)
        outcome = Outcome(lambda: client.post(JOBS, json={"document": document, "pages": 1}))
        time.sleep(3.0)  # the job renders in 0.1 s; its commit waits for the lock
        answered_early = outcome.finished_at is not None
        visible_early = stored_jobs(db, document)
        db.execute("SELECT pg_advisory_unlock(%s)", (key,))
        locked = False
        outcome.join(15)
        assert not answered_early, f"answered before its commit: {outcome.describe()}"
        assert visible_early == [], visible_early
        assert outcome.response is not None and outcome.response.status_code == 201, (
            outcome.describe()
        )
        assert assert_stored_whole(db, document, 1) == outcome.response.json()["id"]
    finally:
        if locked:
            db.execute("SELECT pg_advisory_unlock(%s)", (key,))
        db.execute(f"DROP TRIGGER IF EXISTS {name} ON print_jobs")
        db.execute(f"DROP FUNCTION IF EXISTS {name}()")
