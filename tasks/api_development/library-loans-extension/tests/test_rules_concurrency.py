"""Borrows that arrive together: one book goes to one member, one member stops at the limit."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from library_requests import LIMIT, new_book, new_member

ROUNDS = 3
CLIENTS = 12


def burst(client_factory, auth_headers, bodies):
    """POST every body to /v1/loans at once, one thread and connection each."""
    client = client_factory(headers=auth_headers, deadline=30)
    barrier = threading.Barrier(len(bodies))

    def send(body):
        assert client.get("/health").status_code == 200  # connected before the start line
        barrier.wait(timeout=30)
        return client.post("/v1/loans", json=body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(send, bodies))


def outcome(responses) -> list[tuple[int, str]]:
    """(status, error code or '') of each answer, sorted."""
    return sorted(
        (r.status_code, r.json()["error"]["code"] if r.status_code >= 400 else "")
        for r in responses
    )


@pytest.mark.rules("borrow-race-book")
def test_concurrent_borrows_of_one_book_let_exactly_one_succeed(
    api, authed_api, client_factory, auth_headers, unique
):
    members = [new_member(authed_api, unique)["id"] for _ in range(CLIENTS)]
    for round_no in range(ROUNDS):
        book = new_book(authed_api, unique)["id"]
        answers = burst(
            client_factory, auth_headers, [{"member_id": m, "book_id": book} for m in members]
        )
        expected = [(201, "")] + [(409, "book_unavailable")] * (CLIENTS - 1)
        assert outcome(answers) == expected, round_no
        winner = next(r.json() for r in answers if r.status_code == 201)
        listed = api.get("/v1/loans", params={"book_id": book}).json()
        assert [loan["id"] for loan in listed["items"]] == [winner["id"]], round_no
        assert api.get(f"/v1/books/{book}").json()["available"] is False


@pytest.mark.rules("borrow-race-member")
def test_concurrent_borrows_by_one_member_stop_at_the_limit(
    api, authed_api, client_factory, auth_headers, unique
):
    for round_no in range(ROUNDS):
        member = new_member(authed_api, unique)["id"]
        books = [new_book(authed_api, unique)["id"] for _ in range(CLIENTS)]
        answers = burst(
            client_factory, auth_headers, [{"member_id": member, "book_id": b} for b in books]
        )
        expected = [(201, "")] * LIMIT + [(409, "loan_limit_reached")] * (CLIENTS - LIMIT)
        assert outcome(answers) == expected, round_no
        own = api.get(f"/v1/members/{member}/loans", params={"open": "true"}).json()
        assert own["total"] == LIMIT, round_no
        lent = {r.json()["book_id"] for r in answers if r.status_code == 201}
        assert {b for b in books if not api.get(f"/v1/books/{b}").json()["available"]} == lent
