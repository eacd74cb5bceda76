"""Starting the peers a scenario declares, before the submission, and stopping them after.

The peers run as a harness tool (`backbench.peers.serve`) in the sample's network, out of the
agent's reach. The submission gets each kind's variables (`WEBHOOK_SINK_URL`, ...); the hidden
tests get those too, plus the admin addresses and the admin token, which the submission never
sees: it shares the loopback, and only the token keeps it from the admin API.
"""

from __future__ import annotations

import json
import secrets
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from backbench import _yaml
from backbench.peers import DECLARED_ENV, PEER_KINDS, TOKEN_ENV, unknown_peers
from backbench.peers.kinds import LOOPBACK
from backbench.runtime import HarnessError, ScoringRuntime, SubmissionProcess

# a bound, not a cost: the s3 peer imports moto (1-3 s) and the oidc peer makes an RSA key, so
# five peers on a loaded machine once took past 20 s
READY_TIMEOUT = 60.0
Ports = dict[str, dict[str, int]]  # kind -> {"port": .., "admin_port": ..}


def declared_peers(scenario: Any) -> list[str]:
    """The peer kinds a scenario declares: its `peers`, else its scenario.yaml's `peers`."""
    peers = getattr(scenario, "peers", None)
    if peers is None:
        meta = _yaml.safe_load((Path(scenario.folder) / "scenario.yaml").read_text()) or {}
        peers = meta.get("peers") or []
    names = [str(p) for p in peers]
    if unknown := unknown_peers(names):
        raise HarnessError(f"scenario {scenario.id}: unknown peers {unknown}")
    return names


def peers_spec(kinds: list[str], own_loopback: bool) -> dict[str, Any]:
    """The serve spec: fixed ports on a loopback of the sample's own, else free ones."""
    return {
        "peers": [
            {
                "kind": k,
                "port": PEER_KINDS[k].port if own_loopback else 0,
                "admin_port": PEER_KINDS[k].admin_port if own_loopback else 0,
            }
            for k in kinds
        ]
    }


def submission_peer_env(ports: Ports) -> dict[str, str]:
    """What the submission is told about the peers: their service addresses, no admin."""
    env: dict[str, str] = {}
    for kind, taken in ports.items():
        env.update(PEER_KINDS[kind].submission_env(LOOPBACK, taken["port"]))
    return env


def peer_env_of(env: dict[str, str]) -> dict[str, str]:
    """The peers' service variables a submission was started with (any kind's, no admin):
    what the reference started beside it for the load baseline needs to reach the same peers."""
    names = {name for kind in PEER_KINDS.values() for name in kind.submission_env(LOOPBACK, 0)}
    return {k: v for k, v in env.items() if k in names}


def hidden_test_env(ports: Ports, token: str) -> dict[str, str]:
    """What the hidden tests are told: the submission's variables, admin addresses, token."""
    env = {**submission_peer_env(ports), DECLARED_ENV: ",".join(ports), TOKEN_ENV: token}
    for kind, taken in ports.items():
        env[PEER_KINDS[kind].admin_env_name()] = f"http://{LOOPBACK}:{taken['admin_port']}"
    return env


@dataclass
class RunningPeers:
    """The started peers (none when the scenario declares none) and their environments."""

    proc: SubmissionProcess | None = None
    log: Path | None = None
    submission_env: dict[str, str] = field(default_factory=dict)
    test_env: dict[str, str] = field(default_factory=dict)

    async def stop(self) -> None:
        if self.proc is not None:
            await self.proc.kill()

    def log_tail(self, size: int = 1500) -> str:
        if self.log is None or not self.log.exists():
            return ""
        return self.log.read_bytes()[-size:].decode(errors="replace")


async def start_peers(
    runtime: ScoringRuntime, kinds: list[str], tool_env: dict[str, str]
) -> RunningPeers:
    """Start the peers and wait until every port listens; HarnessError when they cannot."""
    if not kinds:
        return RunningPeers()
    folder = runtime.private / f"peers-{uuid.uuid4().hex[:8]}"
    folder.mkdir()
    (folder / "spec.json").write_text(json.dumps(peers_spec(kinds, runtime.own_loopback)))
    token = secrets.token_hex(16)
    log = runtime.private / f"{folder.name}.log"
    serve = [sys.executable, "-I", "-m", "backbench.peers.serve"]
    proc = await runtime.spawn_tool(
        [*serve, "--spec", str(folder / "spec.json")],
        env={**tool_env, TOKEN_ENV: token}, cwd=folder, log=log,
    )  # fmt: skip
    running = RunningPeers(proc=proc, log=log)
    try:
        result = await runtime.run_tool(
            [*serve, "--wait", str(folder), "--timeout", str(READY_TIMEOUT)],
            env=tool_env, cwd=folder, timeout=READY_TIMEOUT + 15,
        )  # fmt: skip
        if result.returncode != 0:
            raise HarnessError(f"peers did not start: {result.stdout[-300:]} {running.log_tail()}")
        ports: Ports = json.loads(result.stdout)
    except BaseException:
        await running.stop()
        raise
    running.submission_env = submission_peer_env(ports)
    running.test_env = hidden_test_env(ports, token)
    return running
