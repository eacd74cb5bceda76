"""GET /metrics: the four metrics, their names, types, labels and buckets, and that they match
the traffic the test sent (deltas between two scrapes, read with prometheus_client's parser)."""

from __future__ import annotations

import math
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from metrics_scrape import (
    BUCKETS,
    CREATED,
    DURATION,
    OPEN,
    PAY_WAIT,
    REQUESTS,
    ROUTES,
    assert_error,
    create_order,
    open_in_db,
    scrape,
    timed,
)


@pytest.mark.rules("metrics-auth", "error-body")
def test_metrics_needs_the_bearer_token(api, app_secret):
    for headers in (
        {},
        {"Authorization": "Bearer wrong-" + uuid.uuid4().hex},
        {"Authorization": f"Bearer {app_secret}x"},
        {"Authorization": f"bearer {app_secret}"},
        {"Authorization": app_secret},
        {"Authorization": f"Basic {app_secret}"},
    ):
        assert_error(api.get("/metrics", headers=headers), 401, "unauthorized")


@pytest.mark.rules("metrics-format", "metric-types", "other-metrics")
def test_metrics_are_the_text_format_with_the_four_metrics_and_their_types(
    api, authed_api, auth_headers, unique
):
    create_order(authed_api, unique)
    snap = scrape(api, auth_headers)
    # prometheus_client's parser names a counter's family without its _total suffix
    assert snap.types.get("http_requests") == "counter", snap.types
    assert snap.types.get(DURATION) == "histogram", snap.types
    assert snap.types.get("orders_created") == "counter", snap.types
    assert snap.types.get(OPEN) == "gauge", snap.types
    assert snap.series(CREATED) == [{}]
    assert snap.series(OPEN) == [{}]
    for labels in snap.series(REQUESTS):
        assert set(labels) == {"method", "route", "status"}, labels
    for labels in snap.series(DURATION + "_count"):
        assert set(labels) == {"method", "route"}, labels


@pytest.mark.rules("recorded-all", "label-method", "label-status", "route-template",
                   "route-shape", "malformed-id", "method-405")  # fmt: skip
def test_requests_are_counted_by_method_route_template_and_status(
    api, authed_api, auth_headers, unique
):
    order = create_order(authed_api, unique)
    before = scrape(api, auth_headers)
    sent = [
        (authed_api.post("/v1/orders", json={"customer": unique("c"), "amount_cents": 5}),
         "POST", "/v1/orders", 201),
        (authed_api.post("/v1/orders", json={"customer": "", "amount_cents": 5}),
         "POST", "/v1/orders", 422),
        (api.post("/v1/orders", json={"customer": unique("c"), "amount_cents": 5}),
         "POST", "/v1/orders", 401),
        (authed_api.get(f"/v1/orders/{order['id']}"), "GET", "/v1/orders/{id}", 200),
        (authed_api.get(f"/v1/orders/{order['id']}"), "GET", "/v1/orders/{id}", 200),
        (authed_api.get("/v1/orders/9223372036854775807"), "GET", "/v1/orders/{id}", 404),
        (authed_api.get("/v1/orders/abc"), "GET", "/v1/orders/{id}", 404),
        (api.get(f"/v1/orders/{order['id']}"), "GET", "/v1/orders/{id}", 401),
        (authed_api.delete(f"/v1/orders/{order['id']}"), "DELETE", "/v1/orders/{id}", 405),
    ]  # fmt: skip
    for response, _method, _route, status in sent:
        assert response.status_code == status, (response.request.url, response.text[:200])
    after = scrape(api, auth_headers)
    expected: dict[tuple[str, str, int], int] = {}
    for _response, method, route, status in sent:
        expected[(method, route, status)] = expected.get((method, route, status), 0) + 1
    for (method, route, status), count in expected.items():
        delta = after.requests(method, route, status) - before.requests(method, route, status)
        assert delta == count, f"{method} {route} {status}: +{delta}, sent {count}"
    routes = {labels["route"] for labels in after.series(REQUESTS)}
    assert routes <= ROUTES, f"route labels that are not templates: {routes - ROUTES}"
    assert str(order["id"]) not in str(routes)


@pytest.mark.rules("route-unmatched", "paths-exact")
def test_unknown_paths_are_all_recorded_under_one_route_label(
    api, authed_api, auth_headers, unique
):
    before = scrape(api, auth_headers)
    paths = [f"/scan-{uuid.uuid4().hex}" for _ in range(12)] + [
        f"/admin/{uuid.uuid4().hex}/.env",
        "/v1/orders/",
        "/v1/orders/1/pay/",
        f"/v1/orders/1/pay/{uuid.uuid4().hex}",
        "/v1/orders//pay",
        "/v1",
        "/metrics/",
        "/docs",
        "/openapi.json",
        "/v1/orders/1/",
    ]
    for path in paths:
        assert_error(authed_api.get(path), 404, "not_found")
    posted = f"/v1/{uuid.uuid4().hex}"
    assert_error(authed_api.post(posted, json={}), 404, "not_found")
    after = scrape(api, auth_headers)
    delta = after.requests("GET", "unmatched", 404) - before.requests("GET", "unmatched", 404)
    assert delta == len(paths), f"GET unmatched 404: +{delta}, sent {len(paths)}"
    assert after.requests("POST", "unmatched", 404) - before.requests("POST", "unmatched", 404) == 1
    for labels in after.series(REQUESTS) + after.series(DURATION + "_count"):
        assert labels["route"] in ROUTES, f"a path became a label: {labels}"
    grown = len(after.series(REQUESTS)) - len(before.series(REQUESTS))
    assert grown <= 2, f"the scan added {grown} series"


@pytest.mark.rules("metrics-not-recorded")
def test_requests_to_metrics_are_never_recorded(api, authed_api, auth_headers, app_secret):
    first = scrape(api, auth_headers)
    for _ in range(5):
        scrape(api, auth_headers)
    assert api.get("/metrics").status_code == 401
    assert api.get("/metrics", headers={"Authorization": "Bearer nope"}).status_code == 401
    last = scrape(api, auth_headers)

    def totals(snap):
        # /health may be polled by the harness meanwhile: leave it out
        def total(name):
            kept = [lb for lb in snap.series(name) if lb["route"] != "/health"]
            return sum(snap.value(name, **lb) for lb in kept)

        return total(REQUESTS), total(DURATION + "_count")

    assert totals(last) == totals(first), "requests to /metrics were recorded"
    for labels in last.series(REQUESTS) + last.series(DURATION + "_count"):
        assert "metrics" not in labels["route"], labels


@pytest.mark.rules("buckets")
def test_every_duration_series_has_exactly_the_stated_buckets(
    api, authed_api, auth_headers, unique
):
    order = create_order(authed_api, unique)
    authed_api.get(f"/v1/orders/{order['id']}")
    authed_api.get("/nowhere-" + uuid.uuid4().hex)
    snap = scrape(api, auth_headers)
    series = snap.series(DURATION + "_count")
    assert {(lb["method"], lb["route"]) for lb in series} >= {
        ("POST", "/v1/orders"), ("GET", "/v1/orders/{id}"), ("GET", "unmatched")
    }  # fmt: skip
    for labels in series:
        bounds = sorted(snap.buckets(labels["method"], labels["route"]))
        assert tuple(bounds) == BUCKETS, f"{labels}: buckets {bounds}"


@pytest.mark.rules("histogram-consistent", "recorded-all")
def test_the_histogram_is_cumulative_and_counts_what_the_counter_counts(
    api, authed_api, auth_headers, unique
):
    before = scrape(api, auth_headers)
    elapsed = 0.0
    for i in range(6):
        response, took = timed(lambda i=i: authed_api.post(
            "/v1/orders", json={"customer": unique("h"), "amount_cents": 100 + i}))  # fmt: skip
        elapsed += took
        path = f"/v1/orders/{response.json()['id']}"
        _response, took = timed(lambda path=path: authed_api.get(path))
        elapsed += took
    for path in ("/v1/orders/0", "/nowhere"):
        _response, took = timed(lambda path=path: authed_api.get(path))
        elapsed += took
    after = scrape(api, auth_headers)
    for labels in after.series(DURATION + "_count"):
        method, route = labels["method"], labels["route"]
        buckets = after.buckets(method, route)
        counts = [buckets[b] for b in sorted(buckets)]
        assert counts == sorted(counts), f"{method} {route}: buckets not cumulative {counts}"
        assert buckets.get(math.inf) == after.value(DURATION + "_count", **labels), labels
    touched = {("POST", "/v1/orders"), ("GET", "/v1/orders/{id}"), ("GET", "unmatched")}
    observed_sum = 0.0
    for method, route in touched:
        count = {"method": method, "route": route}
        observed = after.value(DURATION + "_count", **count) - before.value(
            DURATION + "_count", **count)  # fmt: skip
        counted = sum(
            after.value(REQUESTS, **lb) - before.value(REQUESTS, **lb)
            for lb in after.series(REQUESTS)
            if lb["method"] == method and lb["route"] == route
        )
        assert observed == counted > 0, f"{method} {route}: observed {observed}, counted {counted}"
        observed_sum += after.value(DURATION + "_sum", **count) - before.value(
            DURATION + "_sum", **count)  # fmt: skip
    assert 0 < observed_sum <= elapsed + 0.05, (observed_sum, elapsed)


@pytest.mark.rules("buckets", "seconds", "pay-wait")
def test_a_pay_request_lands_in_the_buckets_above_its_wait(api, authed_api, auth_headers, unique):
    order = create_order(authed_api, unique)
    labels = {"method": "POST", "route": "/v1/orders/{id}/pay"}
    before = scrape(api, auth_headers)
    response, took = timed(lambda: authed_api.post(f"/v1/orders/{order['id']}/pay"))
    assert response.status_code == 200, response.text[:300]
    assert took >= PAY_WAIT, f"the pay answered after {took:.3f} s"
    after = scrape(api, auth_headers)
    before_buckets, after_buckets = before.buckets(**labels), after.buckets(**labels)
    for bound in BUCKETS:
        delta = after_buckets.get(bound, 0.0) - before_buckets.get(bound, 0.0)
        if bound < PAY_WAIT:
            assert delta == 0, f"a {took:.3f} s pay was counted in le={bound}"
        elif bound >= took:
            assert delta == 1, f"a {took:.3f} s pay was not counted in le={bound}"
    assert after.value(DURATION + "_count", **labels) - before.value(
        DURATION + "_count", **labels) == 1  # fmt: skip
    observed = after.value(DURATION + "_sum", **labels) - before.value(DURATION + "_sum", **labels)
    assert PAY_WAIT <= observed <= took, f"pay observed as {observed} (took {took:.3f} s)"


@pytest.mark.rules("orders-created", "counters-grow")
def test_orders_created_total_grows_by_the_orders_created_and_nothing_else(
    api, authed_api, auth_headers, unique
):
    order = create_order(authed_api, unique)
    before = scrape(api, auth_headers)
    for _ in range(3):
        create_order(authed_api, unique)
    authed_api.post("/v1/orders", json={"customer": unique("c"), "amount_cents": 0})
    authed_api.post("/v1/orders", json={"customer": unique("c")})
    api.post("/v1/orders", json={"customer": unique("c"), "amount_cents": 10})
    authed_api.post(f"/v1/orders/{order['id']}/pay")
    authed_api.get(f"/v1/orders/{order['id']}")
    middle = scrape(api, auth_headers)
    assert middle.value(CREATED) - before.value(CREATED) == 3
    create_order(authed_api, unique)
    after = scrape(api, auth_headers)
    assert after.value(CREATED) - middle.value(CREATED) == 1, "the counter does not only grow"
    for name, labels in before.samples:
        if name == REQUESTS:
            assert after.samples[(name, labels)] >= before.samples[(name, labels)], labels


@pytest.mark.rules("orders-created", "recorded-all")
def test_concurrent_creates_are_each_counted_once(
    api, client_factory, auth_headers, unique
):
    before = scrape(api, auth_headers)

    def create(_i):
        with client_factory(headers=auth_headers) as client:
            return client.post("/v1/orders", json={"customer": unique("p"), "amount_cents": 7})

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = [r.status_code for r in pool.map(create, range(30))]
    assert statuses == [201] * 30, statuses
    after = scrape(api, auth_headers)
    assert after.value(CREATED) - before.value(CREATED) == 30
    created = after.requests("POST", "/v1/orders", 201) - before.requests("POST", "/v1/orders", 201)
    assert created == 30


@pytest.mark.rules("orders-open")
def test_orders_open_is_the_databases_count_when_served(
    api, authed_api, auth_headers, unique, db
):
    assert scrape(api, auth_headers).value(OPEN) == open_in_db(db)
    # rows written by another program of the shop count as soon as they are committed
    ids = [
        db.scalar("INSERT INTO orders (customer, amount_cents, status) VALUES (%s, 10, %s) "
                  "RETURNING id", (unique("ext"), status))
        for status in ("open", "open", "paid")
    ]  # fmt: skip
    snap = scrape(api, auth_headers)
    assert snap.value(OPEN) == open_in_db(db)
    db.execute("UPDATE orders SET status = 'paid' WHERE id = %s", (ids[0],))
    assert scrape(api, auth_headers).value(OPEN) == open_in_db(db) == snap.value(OPEN) - 1
    order = create_order(authed_api, unique)
    assert scrape(api, auth_headers).value(OPEN) == open_in_db(db) == snap.value(OPEN)
    assert authed_api.post(f"/v1/orders/{order['id']}/pay").status_code == 200
    assert authed_api.post(f"/v1/orders/{ids[1]}/pay").status_code == 200
    assert scrape(api, auth_headers).value(OPEN) == open_in_db(db) == snap.value(OPEN) - 2


@pytest.mark.rules("restart-zero", "orders-open", "one-process")
def test_after_a_restart_counters_start_at_zero_and_orders_open_is_the_database(
    api, authed_api, auth_headers, unique, db, server
):
    for _ in range(2):
        create_order(authed_api, unique)
    db.execute("INSERT INTO orders (customer, amount_cents, status) VALUES (%s, 5, 'open')",
               (unique("ext"),))  # fmt: skip
    server.restart()
    snap = scrape(api, auth_headers)
    assert snap.value(CREATED) == 0
    assert snap.requests("POST", "/v1/orders", 201) == 0
    assert snap.value(OPEN) == open_in_db(db) >= 3
