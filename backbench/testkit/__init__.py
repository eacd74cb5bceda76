"""The test kit: a pytest plugin every scenario's hidden tests use (`-p backbench.testkit.plugin`).

A scenario's tests hold only tests; the kit gives them the sample's server, database, Redis,
services and peers. `FIXTURE_NAMES` lists the fixtures it provides: `backbench catalogue --check`
rejects a hidden test file that uses none of them.
"""

FIXTURE_NAMES = frozenset(
    {
        "api",  # HTTP client of the submission, total deadline per request, no credentials
        "authed_api",  # the same with `Authorization: Bearer $APP_SECRET` on every request
        "auth_headers",  # {"Authorization": "Bearer <APP_SECRET>"}
        "app_secret",  # the APP_SECRET the submission was started with
        "base_url",  # the submission's base URL
        "client_factory",  # client_factory(base_url=None, headers=None, deadline=None) -> Client
        "unique",  # unique(prefix="x") -> a name no other test or run uses
        "db",  # superuser psycopg connection (autocommit) to the sample's scoring database
        "redis",  # redis.Redis of the sample's REDIS_URL
        "server",  # control of the submission: restart, signal, second instance, output
        "services",  # stop / start / restart PostgreSQL or Redis
        "peers",  # loopback peers the scenario declares: HTTP sink, SMTP inbox, upstream
    }
)
