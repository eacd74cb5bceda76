"""The server's output holds no secret: APP_SECRET, the store's secret key, a bearer token, a
presigned URL's signature or a connection string."""

from __future__ import annotations

import os

import pytest
from files_api import (
    people,  # noqa: F401 - a fixture
    signature_of,
    store_http,  # noqa: F401 - a fixture
)

from backbench.peers.s3 import SECRET_KEY


@pytest.mark.rules("no-secrets-in-output")
def test_the_output_holds_no_secret(people, peers, server, app_secret, store_http):
    user = people.make()
    made = user.file(b"secret numbers\n", name="secret.csv")
    link = user.link(made["id"]).json()["url"]
    assert store_http.get(link).status_code == 200
    user.client.get("/v1/files")
    user.client.delete(f"/v1/files/{made['id']}")
    people.client(f"Bearer {user.token}x").get("/v1/files")
    output = server.output(size=4 * 1024 * 1024)
    secrets = {
        "APP_SECRET": app_secret,
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY") or SECRET_KEY,
        "the bearer token": user.token,
        "the token's signature": user.token.rsplit(".", 1)[1],
        "the presigned URL's signature": signature_of(link),
        "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
    }
    for what, value in secrets.items():
        if len(value) >= 8:
            assert value not in output, f"the server's output holds {what}"
