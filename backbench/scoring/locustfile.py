"""The load profile of a scenario, for locust (run as a subprocess, never imported by inspect).

The profile is JSON at $BACKBENCH_LOAD_SPEC: {"requests": [{name, method, path, weight,
headers?, json?}], "jwt": probes.jwt or null}; {uuid}, {secret} and {jwt} (a fresh token of
probes.jwt) in any string are substituted per request.

With $BACKBENCH_BASELINE_URL (the scenario's reference, started beside the submission) the
users send to one server at a time, in alternating slices of $BACKBENCH_SLICE_SECONDS, until
each had $BACKBENCH_LOAD_SECONDS of open slices. Strictly alternating (not ABBA, which would pause
the submission for two slices in a row): a pause never outlasts the health probes' deadline. Both
servers then see the same machine, whatever else runs on it: the ratio of their figures means
the same on any machine. While the reference has a measured slice, every process of the submission
($BACKBENCH_PAUSE_TARGET, see backbench.sandbox.pids) is stopped, so that nothing the submission
does can slow the reference; a slice ends only once its requests in flight are answered, so no
request is stretched by the pause. Without a baseline, one slice of $BACKBENCH_LOAD_SECONDS.

Before the measured slices each server gets a warm-up slice that lasts until it answered one
request: on a busy machine locust may take seconds to get its users going, and a cold first
request is not what is measured (`-t` stays as a hard cap).

Latencies are kept exactly (backbench.scoring.load_figures) and each server's figures written
to $BACKBENCH_LOAD_RESULT when locust quits.
"""

import json
import math
import os
import time
import uuid
from typing import Any

import gevent
from gevent.event import Event
from locust import HttpUser, constant, events
from locust.env import Environment

from backbench.jwt_mint import fill_jwt
from backbench.sandbox.pids import continue_all, stop_all
from backbench.scoring.load_figures import figures, percentile

SPEC = json.loads(open(os.environ["BACKBENCH_LOAD_SPEC"]).read())
SECRET = os.environ.get("APP_SECRET", "")
REQUEST_TIMEOUT = float(os.environ.get("BACKBENCH_REQUEST_TIMEOUT", "10"))
WINDOW_SECONDS = float(os.environ.get("BACKBENCH_LOAD_SECONDS", "10"))
RESULT_FILE = os.environ.get("BACKBENCH_LOAD_RESULT", "")
BASELINE_URL = os.environ.get("BACKBENCH_BASELINE_URL", "")
SLICE_SECONDS = float(os.environ.get("BACKBENCH_SLICE_SECONDS", "0.5"))
PAUSE_TARGET = os.environ.get("BACKBENCH_PAUSE_TARGET", "")
WARMUP_CAP = 30.0
SUBMISSION, BASELINE = "submission", "baseline"


class Gate:
    """Which server the users may send to now, and what each answered."""

    def __init__(self, targets: list[str]) -> None:
        self.target: str | None = None
        self.opened = Event()
        self.in_flight = dict.fromkeys(targets, 0)
        self.idle = {t: Event() for t in targets}
        self.answered = dict.fromkeys(targets, 0)
        self.recording = False
        self.times: dict[str, list[float]] = {t: [] for t in targets}
        # each cycle's latencies per server: the ratio of each cycle's pair of slices
        self.cycles: list[dict[str, list[float]]] = []
        self.failures = dict.fromkeys(targets, 0)
        self.open_seconds = dict.fromkeys(targets, 0.0)
        for event in self.idle.values():
            event.set()

    def enter(self) -> str:
        """Wait for an open slice; the server it is for."""
        while True:
            self.opened.wait()
            target = self.target
            if target is not None:
                self.in_flight[target] += 1
                self.idle[target].clear()
                return target

    def leave(self, target: str, elapsed_ms: float, failed: bool) -> None:
        self.in_flight[target] -= 1
        self.answered[target] += 1
        if self.recording:
            self.times[target].append(elapsed_ms)
            if self.cycles:
                self.cycles[-1][target].append(elapsed_ms)
            self.failures[target] += int(failed)
        if self.in_flight[target] == 0:
            self.idle[target].set()

    def run_slice(self, target: str, seconds: float, until_answered: bool = False) -> None:
        """Open `target` for `seconds` (or until it answered once), then wait for its requests
        in flight to be answered."""
        if self.recording:
            pause(target)  # in the warm-up, a slow cold start of the reference stops nothing
        self.target = target
        self.opened.set()
        started = time.monotonic()
        if until_answered:
            before = self.answered[target]
            while self.answered[target] == before and time.monotonic() - started < seconds:
                gevent.sleep(0.02)
        else:
            gevent.sleep(seconds)
        self.target = None
        self.opened.clear()
        if self.recording:
            self.open_seconds[target] += time.monotonic() - started
        self.idle[target].wait(REQUEST_TIMEOUT + 1)


def pause(target: str) -> None:
    """Stop the submission while the reference has its slice; let it run otherwise."""
    if not PAUSE_TARGET or not BASELINE_URL:
        return
    if target == BASELINE:
        stop_all(PAUSE_TARGET)
    else:
        continue_all(PAUSE_TARGET)


TARGETS = [SUBMISSION, BASELINE] if BASELINE_URL else [SUBMISSION]
GATE = Gate(TARGETS)
_run: dict[str, Any] = {"hosts": {BASELINE: BASELINE_URL}, "slices": 0}


def run_schedule(environment: Environment) -> None:
    """Warm-up slices, then the measured ones; locust quits at the end."""
    try:
        for target in TARGETS:
            GATE.run_slice(target, WARMUP_CAP, until_answered=True)
        GATE.recording = True
        if BASELINE_URL:
            cycles = max(1, math.ceil(WINDOW_SECONDS / SLICE_SECONDS))
            for _ in range(cycles):
                GATE.cycles.append({t: [] for t in TARGETS})
                for target in TARGETS:
                    GATE.run_slice(target, SLICE_SECONDS)
                    _run["slices"] += 1
        else:
            GATE.run_slice(SUBMISSION, WINDOW_SECONDS)
            _run["slices"] = 1
        GATE.recording = False
    finally:
        if PAUSE_TARGET and BASELINE_URL:
            continue_all(PAUSE_TARGET)
        if environment.runner is not None:
            environment.runner.quit()


@events.test_start.add_listener
def start_schedule(environment: Environment, **_: Any) -> None:
    """The slices start with the test; the users wait for theirs."""
    _run["hosts"][SUBMISSION] = environment.host
    gevent.spawn(run_schedule, environment)


@events.quitting.add_listener
def write_result(environment: Environment, **_: Any) -> None:
    """Each server's figures, written once at the end."""
    if PAUSE_TARGET and BASELINE_URL:
        continue_all(PAUSE_TARGET)  # whatever stopped the run, the submission runs again
    if not RESULT_FILE:
        return
    result: dict[str, Any] = {
        t: figures(GATE.times[t], GATE.failures[t], GATE.open_seconds[t]) for t in TARGETS
    }
    result["slices"] = _run["slices"]
    result["cycle_p95"] = [
        [percentile(sorted(c[t]), 0.95) if c[t] else None for t in TARGETS] for c in GATE.cycles
    ]
    result["slice_seconds"] = SLICE_SECONDS if BASELINE_URL else WINDOW_SECONDS
    with open(RESULT_FILE, "w") as out:
        json.dump(result, out)


def fill(value: Any) -> Any:
    """Substitute {uuid}, {secret} and {jwt} in every string of a request template."""
    if isinstance(value, str):
        value = fill_jwt(value, SPEC.get("jwt"), SECRET)
        return value.replace("{uuid}", uuid.uuid4().hex).replace("{secret}", SECRET)
    if isinstance(value, dict):
        return {k: fill(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v) for v in value]
    return value


def make_task(request: dict[str, Any]) -> Any:
    """A locust task that sends one request of the profile to the open server; status >= 400
    or no answer is a failure."""

    def send(user: HttpUser) -> None:
        target = GATE.enter()
        started = time.perf_counter()
        failed = True
        try:
            response = user.client.request(
                request.get("method", "GET"),
                _run["hosts"][target] + fill(request["path"]),
                name=f"{target}: {request.get('name', request['path'])}",
                headers=fill(request.get("headers", {})),
                json=fill(request.get("json")),
                timeout=REQUEST_TIMEOUT,
            )
            failed = not 0 < response.status_code < 400
        finally:
            GATE.leave(target, (time.perf_counter() - started) * 1000, failed)

    return send


class ProfileUser(HttpUser):
    """A client sending the scenario's weighted request mix back to back."""

    wait_time = constant(0)
    tasks = {make_task(r): int(r.get("weight", 1)) for r in SPEC["requests"]}  # type: ignore[assignment]
