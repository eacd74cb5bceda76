"""What the checkout tests share: scraping /metrics with prometheus_client's own parser, the
deltas of its series between two scrapes, orders made through the API, and the error check.

Other tests (and the harness's health checks) may have sent requests before: the tests only
compare two scrapes around the traffic they send themselves, never absolute values (except
orders_open, which is the database's own count)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

REQUESTS = "http_requests_total"
DURATION = "http_request_duration_seconds"
CREATED = "orders_created_total"
OPEN = "orders_open"
BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.6, 3.2, math.inf)
ROUTES = {"/health", "/v1/orders", "/v1/orders/{id}", "/v1/orders/{id}/pay", "unmatched"}
PAY_WAIT = 0.25


def labels_key(labels: dict[str, str]) -> frozenset[tuple[str, str]]:
    return frozenset(labels.items())


@dataclass
class Snapshot:
    """One scrape: the families by name and every sample by (name, labels)."""

    text: str
    types: dict[str, str] = field(default_factory=dict)
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        snap = cls(text)
        for family in text_string_to_metric_families(text):
            snap.types[family.name] = family.type
            for sample in family.samples:
                snap.samples[(sample.name, labels_key(sample.labels))] = sample.value
        return snap

    def value(self, name: str, **labels: str) -> float:
        """A sample's value; a series that does not exist yet counts as 0."""
        return self.samples.get((name, labels_key(labels)), 0.0)

    def series(self, name: str) -> list[dict[str, str]]:
        """The label sets of every sample called `name`."""
        return [dict(labels) for sample, labels in self.samples if sample == name]

    def buckets(self, method: str, route: str) -> dict[float, float]:
        """{upper bound: cumulative count} of one duration series."""
        found = {}
        for labels in self.series(DURATION + "_bucket"):
            if labels.get("method") == method and labels.get("route") == route:
                found[float(labels["le"])] = self.value(DURATION + "_bucket", **labels)
        return found

    def requests(self, method: str, route: str, status: int | str) -> float:
        return self.value(REQUESTS, method=method, route=route, status=str(status))


def scrape(client, auth_headers) -> Snapshot:
    """GET /metrics with the token; 200 in the text format, parsed."""
    response = client.get("/metrics", headers=auth_headers)
    assert response.status_code == 200, response.text[:300]
    content_type = response.headers.get("content-type", "")
    assert content_type.split(";")[0].strip().lower() == "text/plain", content_type
    return Snapshot.parse(response.text)


def create_order(authed_api, unique, amount=1250) -> dict:
    response = authed_api.post(
        "/v1/orders", json={"customer": unique("cust"), "amount_cents": amount}
    )
    assert response.status_code == 201, response.text[:300]
    return response.json()


def timed(call):
    """(the answer, seconds it took as the client saw it)."""
    start = time.perf_counter()
    response = call()
    return response, time.perf_counter() - start


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, (
        response.request.method,
        str(response.request.url),
        response.text[:300],
    )
    body = response.json()
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def stored(db, order_id: int):
    return db.execute(
        "SELECT customer, amount_cents, status FROM orders WHERE id = %s", (order_id,)
    ).fetchone()


def open_in_db(db) -> int:
    return db.scalar("SELECT count(*) FROM orders WHERE status = 'open'")
