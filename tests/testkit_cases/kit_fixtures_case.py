"""A scenario-like hidden test file using every kit fixture, run by tests/test_testkit_live.py
(as tests/test_kit_fixtures.py of a scratch scenario) against the inventory reference, whose
start.sh prints "started on <port>" first."""

import threading
import time

import httpx
import pytest

from backbench.testkit.control import ControlError


def create(client, unique, **fields):
    body = {"name": unique("kit"), "price": 1.5, "quantity": 2, **fields}
    r = client.post("/v1/items", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def eventually(check, seconds=15.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.2)


def test_clients_headers_and_names(api, authed_api, unique, auth_headers, app_secret, base_url):
    assert auth_headers == {"Authorization": f"Bearer {app_secret}"}
    assert base_url.startswith("http://127.0.0.1:")
    assert unique("a") != unique("a")
    item = create(authed_api, unique)
    assert api.get(f"/v1/items/{item['id']}").json()["name"] == item["name"]
    anonymous = api.post("/v1/items", json={"name": unique(), "price": 1, "quantity": 1})
    assert anonymous.status_code == 401


def test_db_sees_schema_and_rows(db, authed_api, unique):
    item = create(authed_api, unique, quantity=7)
    assert db.columns("items")["price"] == "double precision"
    assert any(d.startswith("PRIMARY KEY") for d in db.constraints("items").values())
    assert db.scalar("SELECT quantity FROM items WHERE id = %s", (item["id"],)) == 7
    assert db.scalar("SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is True


def test_redis_reads_and_writes(redis, unique):
    key = unique("kit")
    redis.set(key, "v")
    assert redis.get(key) == "v"


def test_restart_keeps_data(server, api, authed_api, unique):
    item = create(authed_api, unique)
    server.restart()
    assert server.alive()
    assert api.get(f"/v1/items/{item['id']}").status_code == 200
    assert "started on" in server.output()


def test_sigterm_while_requests_are_in_flight(server, client_factory, base_url):
    answers, errors, stop = [], [], threading.Event()

    def hammer():
        with client_factory(deadline=5) as client:
            while not stop.is_set():
                try:
                    answers.append(client.get("/v1/items").status_code)
                except httpx.HTTPError as ex:
                    errors.append(type(ex).__name__)
                    return

    assert client_factory().get("/health").status_code == 200
    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    # SIGTERM once requests flow (a slow machine takes a while to answer the first ones)
    eventually(lambda: len(answers) >= 4, seconds=10)
    ended = server.terminate(wait=10)
    stop.set()
    for t in threads:
        t.join(10)
    # uvicorn re-raises the signal once it has shut down: -15; an instance not started by the
    # kit (docker, k8s) has no known code
    assert ended.exited and ended.returncode in (0, -15, None), ended
    assert answers and set(answers) == {200}, (answers, errors)
    assert not server.alive()
    with pytest.raises(httpx.HTTPError):
        client_factory(deadline=2).get("/health")
    server.restart()
    assert client_factory().get("/health").status_code == 200


def test_second_instance_serves_the_same_data(server, authed_api, client_factory, unique):
    item = create(authed_api, unique)
    second = server.start_instance()
    assert second.base_url != authed_api.base_url
    other = client_factory(base_url=second.base_url, headers=dict(authed_api.headers))
    assert other.get(f"/v1/items/{item['id']}").json()["name"] == item["name"]
    made = create(other, unique)
    assert authed_api.get(f"/v1/items/{made['id']}").status_code == 200
    assert f"started on {second.port}" in server.output(second.name)


def test_a_second_instance_gets_the_variables_a_test_adds_and_none_of_the_harness(server):
    second = server.start_instance(env={"BB_KIT_NOTE": "a-key-list"})
    assert f"started on {second.port} with a-key-list" in server.output(second.name)
    # the harness's own variables and its namespace are not a test's to change
    for refused in ({"DATABASE_URL": "postgresql://elsewhere/db"}, {"BACKBENCH_X": "1"},
                    {"lower": "1"}, {"BB_KIT_NOTE": 1}):  # fmt: skip
        with pytest.raises(ControlError):
            server.start_instance(env=refused)


def _workers(server):
    return [p for p in server.processes() if p["cmdline"].startswith("bb-kit-worker")]


def test_the_servers_processes_their_memory_and_a_killed_worker(server, api):
    found = server.processes()
    assert any("uvicorn" in p["cmdline"] for p in found), found
    assert all(p["peak_kib"] >= p["rss_kib"] > 0 for p in found), found
    assert server.peak_memory_kib() == sum(p["peak_kib"] for p in server.processes())
    [worker] = _workers(server)
    assert server.kill_process("bb-kit-worker") == [worker["pid"]]
    eventually(lambda: not _workers(server))
    assert api.get("/health").status_code == 200  # the rest of the server runs on
    assert server.kill_process("bb-no-such-process") == []
    with pytest.raises(ControlError):
        server.kill_process(" ")
    server.cleanup()  # what the fixture does after the test: the server starts afresh
    assert len(_workers(server)) == 1


def test_postgres_stop_breaks_writes_and_start_heals(services, authed_api, unique):
    services.stop("postgres")
    with pytest.raises((httpx.HTTPError, AssertionError)):
        r = authed_api.post(
            "/v1/items",
            json={"name": unique(), "price": 1, "quantity": 1},
            extensions={"deadline": 4},
        )
        assert r.status_code < 500
    services.start("postgres")
    eventually(
        lambda: (
            authed_api.post(
                "/v1/items", json={"name": unique(), "price": 1, "quantity": 1}
            ).status_code
            == 201
        )
    )


def test_redis_stop_and_start(services, redis, unique):
    import redis as redis_py

    services.stop("redis")
    with pytest.raises(redis_py.exceptions.ConnectionError):
        redis.ping()
    services.start("redis")
    eventually(lambda: redis.ping())


def test_peers_skip_without_peers(peers):
    raise AssertionError("unreachable: no peers declared")
