"""The robust stage's schemathesis hook, run as schemathesis loads it: from a copied file, in a
process of its own, configured by its environment."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from backbench.scoring import robustness

SECRET = "s3cret-token-0123456789"
JWT = {"key": "{secret}", "algorithm": "HS256", "audience": "api", "issuer": "idp",
       "claims": {"sub": "probe"}, "lifetime_seconds": 300}  # fmt: skip
CALL = """
import robust_hooks
class Case:
    headers = {}
robust_hooks.before_call(None, Case, {})
print(Case.headers["Authorization"])
"""


def _authorization(tmp_path: Path, jwt: dict | None) -> str:
    (tmp_path / "robust_hooks.py").write_bytes(Path(robustness.HOOKS).read_bytes())
    env = {**os.environ, "APP_SECRET": SECRET, "BACKBENCH_UNIQUE_HEADERS": ""}
    env.pop("BACKBENCH_JWT", None)
    if jwt is not None:
        env["BACKBENCH_JWT"] = json.dumps(jwt)
    done = subprocess.run([sys.executable, "-c", CALL], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return done.stdout.strip()


@pytest.mark.parametrize("jwt", [None, JWT], ids=["the secret", "a jwt"])
def test_every_request_carries_the_scenarios_credential(tmp_path: Path, jwt: dict | None) -> None:
    scheme, _, token = _authorization(tmp_path, jwt).partition(" ")
    assert scheme == "Bearer"
    if jwt is None:
        assert token == SECRET
        return
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert (claims["aud"], claims["iss"], claims["sub"]) == ("api", "idp", "probe")
    assert SECRET not in token
