"""The store failing: a quick 503 storage_unavailable, no metadata without its object, and a
deletion the store refused deletes nothing. Each fault is on one fresh user's keys only."""

from __future__ import annotations

import time

import pytest
from files_api import (
    assert_error,
    people,  # noqa: F401 - a fixture
    rows_of,
    user_objects,
)

ANSWER_WITHIN = 8.0
DEADLINE = 9.5


def user_prefix(peers, person) -> str:
    return f"/{peers.s3.bucket}/{person.prefix}"


def refused_upload(person, name):
    started = time.monotonic()
    response = person.upload(name=name, extensions={"deadline": DEADLINE})
    seconds = time.monotonic() - started
    assert_error(response, 503, "storage_unavailable")
    assert seconds <= ANSWER_WITHIN, f"answered after {seconds:.1f} s"


@pytest.mark.rules("store-failure-upload", "store-deadline")
def test_an_upload_the_store_refuses_is_503_and_stores_no_metadata(people, peers, db):
    user = people.make()
    peers.s3.fault(method="PUT", prefix=user_prefix(peers, user), fail_times=1000, fail_status=500)
    refused_upload(user, "refused.csv")
    assert rows_of(db, user) == 0
    assert user.listed() == []
    assert user_objects(peers, user) == {}


@pytest.mark.rules("store-failure-upload", "store-deadline")
def test_an_upload_whose_connection_is_dropped_is_503(people, peers, db):
    user = people.make()
    peers.s3.fault(method="*", prefix=user_prefix(peers, user), drop=True)
    refused_upload(user, "dropped.csv")
    assert rows_of(db, user) == 0
    assert user.listed() == []


@pytest.mark.rules("store-failure-upload", "store-deadline", "store-timeout")
def test_an_upload_the_store_does_not_answer_is_503_within_8_seconds(people, peers, db):
    user = people.make()
    other = people.make()
    peers.s3.fault(method="PUT", prefix=user_prefix(peers, user), delay_ms=20_000)
    refused_upload(user, "slow.csv")
    assert rows_of(db, user) == 0
    assert user.listed() == []
    # the server still serves others while the store is slow for one user
    assert other.file(name="fine.csv")["name"] == "fine.csv"


@pytest.mark.rules("store-failure-delete", "store-deadline")
def test_a_delete_the_store_refuses_is_503_and_deletes_nothing(people, peers, db):
    user = people.make()
    made = user.file(b"still here\n", name="kept.csv")
    peers.s3.fault(method="DELETE", prefix=user_prefix(peers, user), fail_times=1000)
    started = time.monotonic()
    response = user.client.delete(f"/v1/files/{made['id']}", extensions={"deadline": DEADLINE})
    assert time.monotonic() - started <= ANSWER_WITHIN
    assert_error(response, 503, "storage_unavailable")
    assert user.client.get(f"/v1/files/{made['id']}").json() == made
    assert user.listed() == [made]
    assert rows_of(db, user) == 1
    assert user_objects(peers, user) == {made["object_key"]: len(b"still here\n")}
