"""Schemathesis hooks for the robust stage, loaded by its CLI through SCHEMATHESIS_HOOKS.

Copied into the stage's run folder, so a sandbox that mirrors that folder has it too. It reads
these variables: APP_SECRET (every request carries `Authorization: Bearer <APP_SECRET>`, or
with BACKBENCH_JWT, the scenario's probes.jwt as JSON, a fresh JWT minted from it) and
BACKBENCH_UNIQUE_HEADERS (comma-separated header names given a fresh value on every request
that carries one, so a per-client rate limit never turns the whole run into 429s).
"""

from __future__ import annotations

import itertools
import json
import os
import uuid
from typing import Any

import schemathesis

from backbench.jwt_mint import valid_token

_RUN = uuid.uuid4().hex[:8]
_COUNTER = itertools.count(1)
_JWT = json.loads(os.environ.get("BACKBENCH_JWT") or "null")
_UNIQUE = [h for h in os.environ.get("BACKBENCH_UNIQUE_HEADERS", "").split(",") if h.strip()]


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Authenticate every request; make every valid client id header unique."""
    secret = os.environ.get("APP_SECRET", "")
    token = valid_token(_JWT, secret) if _JWT else secret
    case.headers["Authorization"] = f"Bearer {token}"
    for name in _UNIQUE:
        value = case.headers.get(name)
        # a missing or blank value is a negative case the server must refuse: keep it
        if isinstance(value, str) and value.strip():
            case.headers[name] = f"robust-{_RUN}-{next(_COUNTER)}"
