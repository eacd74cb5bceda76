"""Large bodies, streamed: memory stays bounded and the import ends in time."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from imports_api import CSV, HEADER, NDJSON, counts, new_prefix, post_import, stored

MiB = 1024
GROWTH_KIB = 24 * MiB
DEADLINE = 90.0
FILLER = "a product name long enough to make each record about two hundred bytes " * 2


def csv_chunks(prefix, records, per_chunk=2000):
    """A CSV body of `records` records, ~200 bytes each, made a chunk at a time."""
    yield (HEADER + "\n").encode()
    for start in range(0, records, per_chunk):
        yield "".join(
            f"{prefix}-{i},{i} {FILLER},{i % 100000}.{i % 100:02d},{i % 1000},"
            f"2026-03-{1 + i % 28:02d}\n"
            for i in range(start, min(start + per_chunk, records))
        ).encode()


def ndjson_chunks(prefix, records, per_chunk=1000):
    for start in range(0, records, per_chunk):
        yield "".join(
            f'{{"sku": "{prefix}-{i}", "name": "{i} {FILLER}{FILLER[:40]}", "price": '
            f'{i % 100000}.{i % 100:02d}, "quantity": {i % 1000}, "available_from": null}}\n'
            for i in range(start, min(start + per_chunk, records))
        ).encode()


def peak_growth(server, authed_api, send):
    """KiB the server's peak resident memory grows by while `send` runs, on a fresh server
    that has already served one small import."""
    server.restart()
    warm = post_import(authed_api, f"{HEADER}\n{new_prefix()}-w,Warm,1,1,\n", CSV)
    assert warm.status_code == 201, warm.text
    warm = post_import(authed_api, json.dumps({"sku": f"{new_prefix()}-w", "name": "W",
                                               "price": 1, "quantity": 1}), NDJSON)  # fmt: skip
    assert warm.status_code == 201, warm.text
    before = server.peak_memory_kib()
    response = send()
    return response, server.peak_memory_kib() - before


@pytest.mark.rules("streaming-memory", "streaming-time", "chunked")
def test_a_150k_record_csv_body_is_streamed_in_bounded_memory(authed_api, server, db):
    p = new_prefix()
    records = 150_000
    response, growth = peak_growth(server, authed_api, lambda: post_import(
        authed_api, csv_chunks(p, records), CSV, deadline=DEADLINE))  # fmt: skip
    assert response.status_code == 201, response.text
    assert counts(response.json()) == (records, records, 0, 0, 0)
    assert growth <= GROWTH_KIB, f"peak memory grew by {growth / 1024:.0f} MiB (at most 24)"
    assert db.scalar("SELECT count(*) FROM products WHERE sku LIKE %s", (p + "-%",)) == records
    i = records - 1
    assert stored(db, f"{p}-{i}")[1:3] == (Decimal(f"{i % 100000}.{i % 100:02d}"), i % 1000)


@pytest.mark.rules("streaming-memory", "streaming-time", "chunked")
def test_a_60k_record_ndjson_body_is_streamed_in_bounded_memory(authed_api, server, db):
    p = new_prefix()
    records = 60_000
    response, growth = peak_growth(server, authed_api, lambda: post_import(
        authed_api, ndjson_chunks(p, records), NDJSON, deadline=DEADLINE))  # fmt: skip
    assert response.status_code == 201, response.text
    assert counts(response.json()) == (records, records, 0, 0, 0)
    assert growth <= GROWTH_KIB, f"peak memory grew by {growth / 1024:.0f} MiB (at most 24)"
    assert db.scalar("SELECT count(*) FROM products WHERE sku LIKE %s", (p + "-%",)) == records
