"""Helpers of the hidden tests: the jobs' path, what the tables hold, errors, threads."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

JOBS = "/v1/print-jobs"
JOB_FIELDS = {"id", "document", "pages", "created_at"}


def page_text(document: str, number: int, pages: int) -> str:
    return f"{document} - page {number} of {pages}"


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, (response.request.url, response.text)
    body = response.json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str), body


def stored_jobs(db: Any, document: str) -> list[dict[str, Any]]:
    """The jobs of that document as one snapshot shows them, each with its pages' texts."""
    rows = db.execute(
        "SELECT j.id, j.pages, coalesce(array_agg(p.content ORDER BY p.number)"
        " FILTER (WHERE p.job_id IS NOT NULL), '{}') AS texts,"
        " coalesce(array_agg(p.number ORDER BY p.number)"
        " FILTER (WHERE p.job_id IS NOT NULL), '{}') AS numbers"
        " FROM print_jobs j LEFT JOIN print_job_pages p ON p.job_id = j.id"
        " WHERE j.document = %s GROUP BY j.id ORDER BY j.id",
        (document,),
    ).fetchall()
    return [{"id": r[0], "pages": r[1], "texts": list(r[2]), "numbers": list(r[3])} for r in rows]


def assert_stored_whole(db: Any, document: str, pages: int) -> int:
    """Exactly one job of that document is stored, with all its pages; its id."""
    jobs = stored_jobs(db, document)
    assert len(jobs) == 1, jobs
    job = jobs[0]
    assert job["pages"] == pages, job
    assert job["numbers"] == list(range(1, pages + 1)), job
    assert job["texts"] == [page_text(document, n, pages) for n in range(1, pages + 1)], job
    return int(job["id"])


def orphan_pages(db: Any, like: str) -> int:
    """Pages whose text starts with `like` and whose job is not stored."""
    return int(db.scalar(
        "SELECT count(*) FROM print_job_pages p WHERE p.content LIKE %s"
        " AND NOT EXISTS (SELECT 1 FROM print_jobs j WHERE j.id = p.job_id)",
        (like + "%",),
    ))  # fmt: skip


class Outcome:
    """What became of one request sent from a thread: its response or its exception."""

    def __init__(self, send: Callable[[], Any]) -> None:
        self.response: Any = None
        self.error: BaseException | None = None
        self.finished_at: float | None = None
        self.thread = threading.Thread(target=self._run, args=(send,), daemon=True)
        self.thread.start()

    def _run(self, send: Callable[[], Any]) -> None:
        try:
            self.response = send()
        except Exception as ex:  # noqa: BLE001 - recorded, judged by the test
            self.error = ex
        finally:
            self.finished_at = time.monotonic()

    def join(self, timeout: float) -> None:
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the request did not end within its deadline"

    def describe(self) -> str:
        if self.response is not None:
            return f"{self.response.status_code} {self.response.text[:300]}"
        return f"no answer: {type(self.error).__name__}: {self.error}"
