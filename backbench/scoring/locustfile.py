"""The load profile of a scenario, for locust (run as a subprocess, never imported by inspect).

The profile is JSON at $BACKBENCH_LOAD_SPEC: {"requests": [{name, method, path, weight,
headers?, json?}]}; {uuid} and {secret} in any string are substituted per request.

The measured window is $BACKBENCH_LOAD_SECONDS from the first answered request, not from
locust's start: on a busy machine locust may take seconds to get its users going, and a window
that starts before them measures nothing (`-t` stays as a hard cap).
"""

import json
import os
import uuid
from typing import Any

import gevent
from locust import HttpUser, constant, events
from locust.env import Environment

SPEC = json.loads(open(os.environ["BACKBENCH_LOAD_SPEC"]).read())
SECRET = os.environ.get("APP_SECRET", "")
REQUEST_TIMEOUT = float(os.environ.get("BACKBENCH_REQUEST_TIMEOUT", "10"))
WINDOW_SECONDS = float(os.environ.get("BACKBENCH_LOAD_SECONDS", "0"))
RESULT_FILE = os.environ.get("BACKBENCH_LOAD_RESULT", "")
PERCENTILES = {"50%": 0.5, "95%": 0.95, "99%": 0.99}
_window: dict[str, Any] = {"environment": None, "started": False}


@events.init.add_listener
def remember_environment(environment: Environment, **_: Any) -> None:
    """Keep the environment: the window's start needs its runner and statistics."""
    _window["environment"] = environment


@events.quitting.add_listener
def write_result(environment: Environment, **_: Any) -> None:
    """The aggregated figures, written once at the end: locust's CSV is a snapshot taken every
    second, which a starved machine may leave stale when the run stops."""
    if not RESULT_FILE:
        return
    total = environment.stats.total
    row = {
        "Name": "Aggregated",
        "Request Count": str(total.num_requests),
        "Failure Count": str(total.num_failures),
        "Requests/s": str(total.total_rps),
        **{k: str(total.get_response_time_percentile(q)) for k, q in PERCENTILES.items()},
    }
    with open(RESULT_FILE, "w") as out:
        json.dump(row, out)


@events.request.add_listener
def start_window(**_: Any) -> None:
    """At the first answered request: forget the warm-up and stop after the window."""
    environment = _window["environment"]
    if _window["started"] or WINDOW_SECONDS <= 0 or environment is None:
        return
    _window["started"] = True
    environment.stats.reset_all()
    if environment.runner is not None:
        gevent.spawn_later(WINDOW_SECONDS, environment.runner.quit)


def fill(value: Any) -> Any:
    """Substitute {uuid} and {secret} in every string of a request template."""
    if isinstance(value, str):
        return value.replace("{uuid}", uuid.uuid4().hex).replace("{secret}", SECRET)
    if isinstance(value, dict):
        return {k: fill(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v) for v in value]
    return value


def make_task(request: dict[str, Any]) -> Any:
    """A locust task that sends one request of the profile; status >= 400 is a failure."""

    def send(user: HttpUser) -> None:
        user.client.request(
            request.get("method", "GET"),
            fill(request["path"]),
            name=request.get("name", request["path"]),
            headers=fill(request.get("headers", {})),
            json=fill(request.get("json")),
            timeout=REQUEST_TIMEOUT,
        )

    return send


class ProfileUser(HttpUser):
    """A client sending the scenario's weighted request mix back to back."""

    wait_time = constant(0)
    tasks = {make_task(r): int(r.get("weight", 1)) for r in SPEC["requests"]}  # type: ignore[assignment]
