"""The peers, run for real on loopback and reached by real clients (httpx, smtplib, sockets).

Most tests share one peers process with small limits; the last ones score a tiny submission that
talks to every peer, through the namespace sandbox and through the exec runtime.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from inspect_ai.util._sandbox.local import LocalSandboxEnvironment

from backbench.catalogue import CatalogueError, Scenario, load_scenario
from backbench.peers import DECLARED_ENV, PEER_KINDS, TOKEN_ENV
from backbench.runtime.exec import ExecRuntimeConfig, ExecScoringRuntime
from backbench.sandbox.ports import free_port
from backbench.scoring.peers import hidden_test_env, peer_env_of, peers_spec, submission_peer_env
from backbench.scoring.scorer import score_submission
from backbench.testkit.peers import AdminClient, PeerAdminError, Peers
from tests.conftest import (
    EXEC_PORT_SPAN,
    close_sandbox,
    open_sandbox,
    requires_namespace,
    write_submission,
)

HERE = Path(__file__).resolve().parent
SUBMISSION = HERE / "peers_submission"
SCENARIO = HERE / "peers_scenario"
LIMITS = {
    "max_records": 5, "body_cap": 1024, "max_body": 64 * 1024, "max_message": 16 * 1024,
    "max_recipients": 3, "head_timeout": 1.0, "max_delay_ms": 2000,
}  # fmt: skip
SERVE = [sys.executable, "-I", "-m", "backbench.peers.serve"]
HTTP = httpx.Client(timeout=10)  # one for every test: making a client takes a noticeable time


def start_serve(folder: Path, spec: dict[str, object], token: str) -> subprocess.Popen[bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "spec.json").write_text(json.dumps(spec))
    env = {"PATH": os.environ["PATH"], TOKEN_ENV: token}
    return subprocess.Popen(
        [*SERVE, "--spec", str(folder / "spec.json")], env=env, stderr=subprocess.PIPE
    )


def wait_ready(folder: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*SERVE, "--wait", str(folder), "--timeout", "15"], capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip


@pytest.fixture(scope="module")
def environ(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The hidden tests' environment for a live peers process of every kind."""
    folder = tmp_path_factory.mktemp("peers")
    token = secrets.token_hex(16)
    spec = {**peers_spec(list(PEER_KINDS), own_loopback=False), "limits": LIMITS}
    proc = start_serve(folder, spec, token)
    try:
        ready = wait_ready(folder)
        assert ready.returncode == 0, ready.stdout
        yield hidden_test_env(json.loads(ready.stdout), token)
    finally:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def all_peers(environ: dict[str, str]) -> Iterator[Peers]:
    declared = Peers(environ)
    yield declared
    declared.close()


@pytest.fixture
def peers(all_peers: Peers) -> Peers:
    kinds = (all_peers.sink, all_peers.smtp, all_peers.upstream, all_peers.oidc, all_peers.s3)
    for kind in (*kinds, all_peers.payments):
        kind.reset()
    return all_peers


# -- http_sink ---------------------------------------------------------------------------------


def test_sink_records_a_real_request(peers: Peers) -> None:
    body = b'{"event": "order.created", "id": 7}'
    answer = HTTP.post(
        f"{peers.sink.url}/hooks/orders?attempt=1", content=body,
        headers={"Content-Type": "application/json", "X-Signature": "sha256=abc"},
    )  # fmt: skip
    assert answer.status_code == 204
    hook = peers.sink.wait_for(lambda r: r.path == "/hooks/orders", timeout=5)
    assert (hook.method, hook.query, hook.body) == ("POST", "attempt=1", body)
    assert hook.header("x-signature") == "sha256=abc" and hook.json()["id"] == 7
    assert not hook.truncated and hook.body_size == len(body)


def test_sink_records_a_chunked_body(peers: Peers) -> None:
    HTTP.post(peers.sink.url + "/chunked", content=iter([b"first,", b"second"]))
    hook = peers.sink.wait_for(lambda r: r.path == "/chunked", timeout=5)
    assert hook.header("transfer-encoding") == "chunked" and hook.body == b"first,second"


def test_sink_answers_the_configured_status_until_reset(peers: Peers) -> None:
    peers.sink.respond_with(500, {"error": "down"})
    answer = HTTP.post(peers.sink.url + "/hooks", json={})
    assert (answer.status_code, answer.json()) == (500, {"error": "down"})
    peers.sink.reset()
    assert HTTP.post(peers.sink.url + "/hooks", json={}).status_code == 204


def test_sink_fails_the_next_requests_then_recovers(peers: Peers) -> None:
    peers.sink.respond_with(500, times=2)
    statuses = [HTTP.post(peers.sink.url + "/hooks", content=b"{}").status_code for _ in range(3)]
    assert statuses == [500, 500, 204]
    with pytest.raises(PeerAdminError, match="422"):
        peers.sink.respond_with(500, times=0)


def test_sink_keeps_only_the_first_bytes_of_a_large_body(peers: Peers) -> None:
    HTTP.post(peers.sink.url + "/big", content=b"x" * 3000)
    hook = peers.sink.wait_for(lambda r: r.path == "/big", timeout=5)
    assert hook.truncated and hook.body == b"x" * 1024 and hook.body_size == 3000


def test_sink_refuses_a_body_over_the_limit(peers: Peers) -> None:
    answer = HTTP.post(peers.sink.url + "/huge", content=b"x" * (100 * 1024))
    assert answer.status_code == 413
    assert peers.sink.requests() == []


def test_sink_keeps_only_the_newest_records(peers: Peers) -> None:
    for n in range(8):
        HTTP.post(f"{peers.sink.url}/n/{n}")
    assert [r.path for r in peers.sink.requests()] == [f"/n/{n}" for n in range(3, 8)]
    snapshot = AdminClient(peers.environ["BACKBENCH_PEER_HTTP_SINK_ADMIN"], token(peers))
    assert snapshot.call("GET", "/records")["dropped"] >= 3


def test_sink_cuts_off_a_client_that_never_finishes_its_request(peers: Peers) -> None:
    host, port = peers.sink.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /slow HTTP/1.1\r\nHost: x\r\n")  # never the blank line
        started = time.monotonic()
        assert sock.recv(100) == b""  # closed by the peer
    assert time.monotonic() - started < 4


# -- smtp --------------------------------------------------------------------------------------


def test_smtp_inbox_receives_real_mail(peers: Peers) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "app@example.test", "u@x.test", "Hi"
    message.set_content("Your order shipped.\nThanks.")
    message.add_alternative("<p>Your order shipped.</p>", subtype="html")
    with smtplib.SMTP(peers.smtp.host, peers.smtp.port, timeout=10) as client:
        client.login("app", "secret")
        client.send_message(message)
    mail = peers.smtp.wait_for(lambda m: m.subject == "Hi", timeout=5)
    assert (mail.mail_from, mail.rcpt_tos, mail.auth_login) == (
        "app@example.test",
        ("u@x.test",),
        "app",
    )
    assert mail.text == "Your order shipped.\nThanks.\n" and "<p>" in mail.html
    assert mail.header("to") == "u@x.test" and peers.smtp.messages() == [mail]


def test_smtp_refuses_a_message_over_the_limit(peers: Peers) -> None:
    with smtplib.SMTP(peers.smtp.host, peers.smtp.port, timeout=10) as client:
        with pytest.raises(smtplib.SMTPException) as refused:
            client.sendmail("a@x.test", ["b@x.test"], "Subject: big\r\n\r\n" + "x" * 20_000)
    assert "552" in str(refused.value)
    assert peers.smtp.messages() == []


def test_smtp_refuses_recipients_over_the_limit(peers: Peers) -> None:
    rcpts = [f"r{n}@x.test" for n in range(5)]
    with smtplib.SMTP(peers.smtp.host, peers.smtp.port, timeout=10) as client:
        refused = client.sendmail("a@x.test", rcpts, "Subject: many\r\n\r\nhello\r\n")
    assert sorted(refused) == rcpts[3:] and all(code == 452 for code, _ in refused.values())
    assert peers.smtp.wait_for(timeout=5).rcpt_tos == tuple(rcpts[:3])


# -- upstream ----------------------------------------------------------------------------------


def test_upstream_answers_after_the_programmed_delay(peers: Peers) -> None:
    peers.upstream.program("GET", "/rates", json={"eur": 1.1}, delay_ms=400,
                           headers={"X-Upstream": "yes"})  # fmt: skip
    started = time.monotonic()
    answer = HTTP.get(peers.upstream.url + "/rates?base=usd", timeout=5)
    assert time.monotonic() - started >= 0.4
    assert answer.json() == {"eur": 1.1} and answer.headers["x-upstream"] == "yes"
    (call,) = peers.upstream.calls()
    assert (call.method, call.path, call.query, call.outcome) == ("GET", "/rates", "base=usd", 200)


def test_upstream_fails_n_times_then_succeeds(peers: Peers) -> None:
    peers.upstream.program("POST", "/charge", status=201, json={"ok": True}, fail_times=2)
    url = peers.upstream.url + "/charge"
    statuses = [HTTP.post(url, json={"n": n}).status_code for n in range(3)]
    assert statuses == [503, 503, 201]
    assert [c.outcome for c in peers.upstream.calls()] == [503, 503, 201]


def test_upstream_drops_the_connection(peers: Peers) -> None:
    peers.upstream.program("GET", "/flaky", json={"ok": True}, fail_times=1, drop=True)
    with pytest.raises(httpx.TransportError):
        HTTP.get(peers.upstream.url + "/flaky", timeout=5)
    assert HTTP.get(peers.upstream.url + "/flaky", timeout=5).json() == {"ok": True}
    assert [c.outcome for c in peers.upstream.calls()] == ["dropped", 200]


def test_upstream_timeout_seen_by_a_client(peers: Peers) -> None:
    peers.upstream.program("GET", "/slow", delay_ms=1500)
    with pytest.raises(httpx.ReadTimeout):
        HTTP.get(peers.upstream.url + "/slow", timeout=0.3)


def test_upstream_answers_404_to_unprogrammed_routes_and_reset_forgets(peers: Peers) -> None:
    peers.upstream.program("*", "/any", json=1)
    assert HTTP.delete(peers.upstream.url + "/any").json() == 1
    assert HTTP.get(peers.upstream.url + "/other").status_code == 404
    peers.upstream.reset()
    assert HTTP.get(peers.upstream.url + "/any").status_code == 404


def test_upstream_refuses_a_delay_over_the_limit(peers: Peers) -> None:
    with pytest.raises(PeerAdminError, match="422"):
        peers.upstream.program("GET", "/x", delay_ms=10_000)


# -- admin API and environments ----------------------------------------------------------------


def token(peers: Peers) -> str:
    return peers.environ[TOKEN_ENV]


@pytest.mark.parametrize("kind", list(PEER_KINDS))
def test_admin_api_requires_the_token(peers: Peers, kind: str) -> None:
    admin = peers.environ[PEER_KINDS[kind].admin_env_name()]
    assert HTTP.get(admin + "/records").status_code == 401
    wrong = {"Authorization": "Bearer " + "0" * 32}
    assert HTTP.get(admin + "/records", headers=wrong).status_code == 401
    assert HTTP.post(admin + "/reset", headers=wrong).status_code == 401
    right = {"Authorization": f"Bearer {token(peers)}"}
    assert HTTP.get(admin + "/health", headers=right).json()["kind"] == kind


def test_service_ports_do_not_serve_the_admin_api(peers: Peers) -> None:
    # the submission reaches only the services: there /records is just another request
    assert HTTP.get(peers.sink.url + "/records").status_code == 204
    assert HTTP.get(peers.upstream.url + "/records").status_code == 404
    assert HTTP.post(peers.oidc.issuer + "/tamper", json={"iss": "x"}).status_code == 404
    assert HTTP.post(peers.s3.endpoint + "/fault", json={"drop": True}).status_code == 403
    assert [r.path for r in peers.sink.requests()] == ["/records"]


def test_submission_env_holds_no_admin_address_or_token() -> None:
    ports = {k: {"port": 1000 + n, "admin_port": 2000 + n} for n, k in enumerate(PEER_KINDS)}
    submission = submission_peer_env(ports)
    tests = hidden_test_env(ports, "t" * 32)
    assert submission == {
        "WEBHOOK_SINK_URL": "http://127.0.0.1:1000", "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": "1001", "UPSTREAM_URL": "http://127.0.0.1:1002",
        "OIDC_ISSUER": "http://127.0.0.1:1003", "OIDC_CLIENT_ID": "backbench-app",
        "OIDC_CLIENT_SECRET": "backbench-app-secret-7f3c",
        "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:1004",
        "AWS_ACCESS_KEY_ID": "BACKBENCHS3ACCESSKEY",
        "AWS_SECRET_ACCESS_KEY": "backbench-s3-secret-key-5d1e9a",
        "AWS_DEFAULT_REGION": "us-east-1", "S3_BUCKET": "backbench-files",
        "PAYMENTS_URL": "http://127.0.0.1:1005", "PAYMENTS_API_KEY": "pk_backbench_3b9f0c71",
    }  # fmt: skip
    assert TOKEN_ENV not in submission and not any("200" in v for v in submission.values())
    assert tests[TOKEN_ENV] == "t" * 32 and tests["BACKBENCH_PEER_SMTP_ADMIN"].endswith(":2001")
    assert submission.items() <= tests.items()


def test_serve_refuses_to_start_without_a_token(tmp_path: Path) -> None:
    proc = start_serve(tmp_path, peers_spec(["http_sink"], own_loopback=False), token="short")
    assert proc.wait(timeout=30) == 1
    result = wait_ready(tmp_path)
    assert result.returncode == 1 and "BACKBENCH_PEERS_TOKEN" in result.stdout


def test_admin_request_has_a_total_deadline() -> None:
    # a listener that accepts connections and never answers
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = AdminClient(f"http://127.0.0.1:{silent.getsockname()[1]}", "t", deadline=0.5)
        started = time.monotonic()
        with pytest.raises(PeerAdminError):
            client.call("GET", "/records")
    assert time.monotonic() - started < 2


# -- the fixture -------------------------------------------------------------------------------


def test_an_undeclared_peer_skips_the_test(environ: dict[str, str]) -> None:
    only_smtp = Peers({**environ, DECLARED_ENV: "smtp"})
    with pytest.raises(pytest.skip.Exception, match="declares no http_sink peer"):
        only_smtp.sink  # noqa: B018 (the access is the test)
    assert only_smtp.smtp.messages() is not None


FIXTURE_USER = """
def test_peers_fixture(peers):
    peers.upstream.reset()
    peers.upstream.program("GET", "/ping", json="pong")
    assert peers.upstream.calls() == []
"""


def test_fixture_module_works_as_a_standalone_plugin(
    environ: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "test_user.py").write_text(FIXTURE_USER)
    argv = [sys.executable, "-I", "-m", "pytest", "-q", "-p", "backbench.testkit.peers",
            "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)]  # fmt: skip
    base = {"PATH": os.environ["PATH"]}
    with_peers = subprocess.run(argv, env={**base, **environ}, capture_output=True, text=True)
    assert with_peers.returncode == 0 and "1 passed" in with_peers.stdout, with_peers.stdout
    without = subprocess.run(argv, env=base, capture_output=True, text=True)
    assert "1 skipped" in without.stdout, without.stdout


def test_catalogue_refuses_an_unknown_peer(tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    folder.mkdir()
    meta = (SCENARIO / "scenario.yaml").read_text().replace("id: peers_scenario", "id: bad")
    (folder / "scenario.yaml").write_text(meta.replace("payments]", "ftp]"))
    with pytest.raises(CatalogueError, match="unknown peer .ftp."):
        load_scenario(folder)


# -- scored end to end -------------------------------------------------------------------------


def assemble_scenario(tmp_path: Path) -> Scenario:
    """The peers scenario as a folder of data: scenario.yaml and its hidden tests."""
    folder = tmp_path / "peers" / "peers_scenario"
    (folder / "tests").mkdir(parents=True)
    shutil.copy(SCENARIO / "scenario.yaml", folder / "scenario.yaml")
    shutil.copy(SCENARIO / "hidden_conftest.py", folder / "tests" / "conftest.py")
    shutil.copy(SCENARIO / "hidden_test_notify.py", folder / "tests" / "test_notify.py")
    scenario = load_scenario(folder)
    assert scenario.peers == ["http_sink", "smtp", "upstream", "oidc", "s3", "payments"]
    return scenario


def assert_all_passed(value: object, explanation: str | None) -> None:
    assert isinstance(value, dict)
    assert value["correct"] == 1 and value["functional"] == 1, explanation


@requires_namespace
@pytest.mark.anyio
async def test_submission_reaches_every_peer_in_the_namespace_sandbox(tmp_path: Path) -> None:
    scenario = assemble_scenario(tmp_path)
    env = await open_sandbox(scenario)
    try:
        await write_submission(env, SUBMISSION)
        score = await score_submission(env, scenario, 1.0, robust=False)
    finally:
        await close_sandbox(env)
    assert_all_passed(score.value, score.explanation)
    assert not serve_processes_under(env.root), "the peers outlived the sample"


def serve_processes_under(folder: Path, wait: float = 3.0) -> list[int]:
    """Peers processes whose spec lies under `folder`, once given `wait` s to be reaped."""
    end = time.monotonic() + wait
    while (found := _serve_processes(folder)) and time.monotonic() < end:
        time.sleep(0.1)
    return found


def _serve_processes(folder: Path) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"backbench.peers.serve" in argv and any(str(folder).encode() in a for a in argv):
            found.append(int(entry.name))
    return found


async def exec_runtime(source: Path, tmp: Path) -> ExecScoringRuntime:
    local = LocalSandboxEnvironment()
    shutil.copytree(source, local.directory.name, dirs_exist_ok=True)
    config = ExecRuntimeConfig(
        workspace=local.directory.name, harness_python=sys.executable,
        scoring_root=str(tmp / "score"), port=free_port(span=EXEC_PORT_SPAN), agent_user=None,
        tool_user=None, own_loopback=False,
    )  # fmt: skip
    runtime = ExecScoringRuntime(local, config)
    await runtime.prepare()
    return runtime


@pytest.mark.anyio
@pytest.mark.parametrize("broken", [False, True], ids=["working", "no-mail"])
async def test_submission_reaches_every_peer_through_exec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: bool
) -> None:
    # the local sandbox's commands inherit this environment: no services of the host's
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    scenario = assemble_scenario(tmp_path)
    source = tmp_path / "submission"
    shutil.copytree(SUBMISSION, source)
    if broken:
        (source / "NO_MAIL").write_text("")
    runtime = await exec_runtime(source, tmp_path)
    try:
        score = await score_submission(runtime, scenario, 1.0, robust=False)
    finally:
        runtime.close()
    assert not serve_processes_under(tmp_path), "the peers outlived the scoring"
    if not broken:
        assert_all_passed(score.value, score.explanation)
        return
    assert isinstance(score.value, dict) and score.value["correct"] == 0
    failed = [t["name"] for t in (score.metadata or {})["failed_tests"]]
    assert failed == ["test_notify_posts_to_the_sink_and_mails"], score.explanation


def test_docs_table_of_peers_matches_the_registry() -> None:
    docs = (HERE.parent / "docs" / "scenarios.md").read_text()
    for kind in PEER_KINDS.values():
        row = next(line for line in docs.splitlines() if line.startswith(f"| `{kind.name}` |"))
        for name, value in kind.submission_env("127.0.0.1", kind.port).items():
            assert f"{name}" in row and str(kind.port) in row and value.split(":")[-1] in row
        assert f"{kind.name.removeprefix('http_')} {kind.admin_port}" in docs.replace("\n", " ")


def test_the_load_baseline_gets_the_peers_variables_of_the_submission() -> None:
    ports = {k: {"port": 1000 + n, "admin_port": 2000 + n} for n, k in enumerate(PEER_KINDS)}
    peers = submission_peer_env(ports)
    started = {**peers, "PORT": "8000", "APP_SECRET": "s" * 32, "DATABASE_URL": "postgresql://x"}
    assert peer_env_of(started) == peers
    assert peer_env_of({"PORT": "8000", **hidden_test_env(ports, "t" * 32)}) == peers
    assert peer_env_of({"PORT": "8000"}) == {}
