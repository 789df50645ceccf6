"""Real PostgreSQL and Redis servers for the tests: started from the binaries installed on the
machine, on 127.0.0.1 and a free port, in a temporary directory, and stopped at the end.

Plain helpers, no pytest: `tests/conftest.py` turns them into fixtures (and `ServerMissing` into a
skip, or a failure when POSBOT_REQUIRE_SERVERS=1). `stop()`/`start()` keep the data directory and
the port, so a test can take a server away for a few seconds and bring it back.
"""

from __future__ import annotations

import itertools
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

STARTUP_TIMEOUT = 20.0
"""Seconds a server has to accept connections (initdb and a cold start take about a second)."""
STOP_TIMEOUT = 10.0
HOST = "127.0.0.1"
PG_USER = "posbot"
PG_DATABASE = "posbot"
# a Unix socket path may not exceed 107 bytes; pytest's temporary directories can get close
SOCKET_PATH_MAX = 100
# a cluster is ~40 MB and each test's database ~8 MB while it lives; Docker's default /dev/shm is 64 MB
SHM_FREE_MIN = 512 * 2**20


class ServerMissing(Exception):
    """A server binary or client library is not installed: the tests that need it cannot run."""


class ServerFailed(Exception):
    """The server is installed but would not start or stop in time; the message ends with its log."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# --- PostgreSQL ----------------------------------------------------------------------------------

def postgres_bindir() -> Path:
    """The directory holding initdb and postgres: pg_config's, else Debian's newest, else PATH."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True)
            candidates.append(Path(out.stdout.strip()))
        except (OSError, subprocess.SubprocessError):
            pass
    # Debian keeps the server out of PATH, one directory per major version
    debian = Path("/usr/lib/postgresql").glob("*/bin")
    candidates += sorted(debian, key=lambda p: [int(n) for n in re.findall(r"\d+", p.parent.name)], reverse=True)
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).parent)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "postgres")):
            return bindir
    raise ServerMissing("PostgreSQL server binaries (initdb, postgres) not found: "
                        "apt-get install postgresql, or put its bin directory in PATH")


def server_account() -> pwd.struct_passwd | None:
    """Who runs PostgreSQL: nobody special unless we are root, which PostgreSQL refuses to run as.
    Debian's `postgres` account when the package made one, else `nobody`, else a new system user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            pass
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "posbot-tests"],
                   check=True, capture_output=True, timeout=30)
    return pwd.getpwnam("posbot-tests")


def _traversable(path: Path, account: pwd.struct_passwd) -> bool:
    groups = set(os.getgrouplist(account.pw_name, account.pw_gid))
    for directory in [path, *path.parents]:
        mode = directory.stat()
        if mode.st_uid == account.pw_uid:
            bit = stat.S_IXUSR
        elif mode.st_gid in groups:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not mode.st_mode & bit:
            return False
    return True


def _tail(path: Path, chars: int = 3000) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")[-chars:]
    except OSError:
        return "(no log)"


def _end(process: subprocess.Popen[bytes], sig: int, timeout: float) -> None:
    """Send `sig`, wait up to `timeout`, then SIGKILL; waits for the exit either way."""
    if process.poll() is None:
        try:
            process.send_signal(sig)
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=STOP_TIMEOUT)
    _reaper.tell("-pid", process.pid)


def _wait_ready(server: "PostgresServer | RedisServer", name: str, what: str, probe: Callable[[], bool],
                not_yet: tuple[type[BaseException], ...]) -> None:
    """Until `probe()` says the server is up; ServerFailed (with its log) if it exits or takes too long."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        assert server.process is not None
        if server.process.poll() is not None:
            raise ServerFailed(f"{name} exited with {server.process.returncode}:\n{_tail(server.log_path)}")
        try:
            if probe():
                return
        except not_yet:
            pass
        if time.monotonic() > deadline:
            server.kill()
            raise ServerFailed(f"{name} did not {what} within {STARTUP_TIMEOUT:.0f} s:\n{_tail(server.log_path)}")
        time.sleep(0.02)


class PostgresServer:
    """A throwaway cluster: `initdb` into `directory`, `postgres` on 127.0.0.1:`port` only, trust
    authentication, superuser `posbot`, and an empty database `posbot` (`.url`)."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.bindir = postgres_bindir()
        self.account = server_account()
        self.directory = directory
        self.data = directory / "data"
        self.log_path = directory / "postgres.log"
        self.port = port or free_port()
        self.url = self.database_url(PG_DATABASE)
        self.process: subprocess.Popen[bytes] | None = None
        self._admin: Any = None  # psycopg connection to the `postgres` database, for CREATE DATABASE
        self._names = itertools.count(1)
        self.remove_on_close = False
        try:
            import psycopg  # noqa: F401
        except ImportError as error:
            raise ServerMissing("psycopg is not installed: pip install -e '.[dev]'") from error

    def _run_as(self) -> dict[str, Any]:
        """subprocess arguments that drop root for PostgreSQL (it refuses to run as root)."""
        if self.account is None:
            return {}
        return {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}

    def _env(self) -> dict[str, str]:
        # PG* variables (PGDATA, PGHOST, ...) from the developer's shell must not steer initdb
        env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
        env.update(HOME=str(self.directory), LC_ALL="C")
        return env

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if self.account is not None:
            if not _traversable(self.directory.parent, self.account):
                raise ServerFailed(f"{self.directory.parent} is not reachable by the {self.account.pw_name} "
                                   "account that runs PostgreSQL")
            os.chown(self.directory, self.account.pw_uid, self.account.pw_gid)
        self.directory.chmod(0o700)
        done = subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", PG_USER, "-A", "trust", "-E", "UTF8",
             "--locale=C", "--no-sync"],
            check=False, capture_output=True, text=True, timeout=120, cwd=self.directory, env=self._env(),
            **self._run_as())
        if done.returncode != 0:
            raise ServerFailed(f"initdb failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    def start(self) -> None:
        """Start on the same data directory and port and wait until it accepts connections."""
        if self.running:
            return
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.bindir / "postgres"), "-D", str(self.data), "-p", str(self.port), "-k", str(self.directory),
                 "-c", f"listen_addresses={HOST}",
                 # durability is pointless for test data, and costs most of the time
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.directory, env=self._env(),
                start_new_session=True,  # Ctrl-C in the terminal reaches pytest, which then stops the server
                **self._run_as())
        _reaper.tell("+pid", self.process.pid)
        self._wait_ready()

    def _wait_ready(self) -> None:
        import psycopg

        def accepts() -> bool:
            with psycopg.connect(host=HOST, port=self.port, user=PG_USER, dbname="postgres", connect_timeout=2):
                return True

        # refused while the socket is not open yet, "starting up" while it recovers
        _wait_ready(self, "postgres", "accept connections", accepts, (psycopg.OperationalError,))

    def stop(self) -> None:
        """Go away: every client is disconnected and connections are refused until `start()`.
        A fast shutdown rather than an immediate one: with synchronous_commit off, a crash would
        lose the last fraction of a second of commits, which a real server would have kept."""
        self._close_admin()
        if self.process is not None:
            _end(self.process, signal.SIGINT, STOP_TIMEOUT)
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """The end of the session: an immediate shutdown (no checkpoint), the data is thrown away."""
        self._close_admin()
        if self.process is not None:
            _end(self.process, signal.SIGQUIT, STOP_TIMEOUT)
            self.process = None

    def close(self) -> None:
        """The end of the session: killed, and its directory removed unless pytest will do it."""
        self.kill()
        if self.remove_on_close:
            shutil.rmtree(self.directory, ignore_errors=True)
            _reaper.tell("-dir", self.directory)

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def _admin_connection(self) -> Any:
        import psycopg

        if self._admin is None or self._admin.closed or self._admin.broken:
            self._close_admin()
            self._admin = psycopg.connect(host=HOST, port=self.port, user=PG_USER, dbname="postgres",
                                          autocommit=True, connect_timeout=5)
        return self._admin

    def _close_admin(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def database_url(self, name: str) -> str:
        return f"postgresql://{PG_USER}@{HOST}:{self.port}/{name}"

    def create_database(self, name: str | None = None) -> str:
        """A new empty database (`t_1`, `t_2`, ... unless named); returns its name."""
        name = name or f"t_{next(self._names)}"
        # template0 never has connections, which would make CREATE DATABASE fail
        self._admin_connection().execute(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return name

    def drop_database(self, name: str) -> None:
        """Drop it even if a test left connections open (FORCE disconnects them)."""
        self._admin_connection().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_home(tmp_root: Path, account: pwd.struct_passwd | None) -> Path:
    """Where the cluster goes: in memory (/dev/shm) when there is room, else `tmp_root`, else the
    system's temporary directory. Every test creates and drops a database, a few hundred files each:
    on tmpfs that takes ~10 ms, on an ext4 disk that has just deleted many files it took 150-250 ms
    (the inode allocator skips recently deleted inodes). The cluster is thrown away anyway.
    `tmp_root` (pytest's) is skipped when PostgreSQL's account cannot reach it: pytest keeps its
    temporary directories private to the user running it, root included."""

    def usable(directory: Path, *, free: int = 0) -> bool:
        try:
            room = os.statvfs(directory)
        except OSError:
            return False
        return (directory.is_dir() and os.access(directory, os.W_OK) and room.f_bavail * room.f_frsize >= free
                and len(str(directory)) < SOCKET_PATH_MAX - 40
                and (account is None or _traversable(directory, account)))

    for directory, free in ((Path("/dev/shm"), SHM_FREE_MIN), (tmp_root, 0)):
        if usable(directory, free=free):
            return directory
    return Path(tempfile.gettempdir())


def start_postgres(tmp_root: Path) -> PostgresServer:
    """initdb, start and create the `posbot` database in a new directory (see `postgres_home`)."""
    home = postgres_home(tmp_root, server_account())
    directory = Path(tempfile.mkdtemp(prefix="posbot-pg-", dir=home))
    try:
        server = PostgresServer(directory)
    except BaseException:  # not installed
        directory.rmdir()
        raise
    server.remove_on_close = home != tmp_root  # pytest only cleans up its own temporary directories
    if server.remove_on_close:
        _reaper.tell("+dir", directory)
    try:
        server.init()
        server.start()
        server.create_database(PG_DATABASE)
    except BaseException:
        server.close()
        raise
    return server


# --- Redis ---------------------------------------------------------------------------------------

def redis_binary() -> Path:
    found = shutil.which("redis-server")
    if found is None:
        raise ServerMissing("redis-server not found: apt-get install redis-server, or put it in PATH")
    return Path(found)


class RedisServer:
    """`redis-server` on 127.0.0.1:`port` only, no persistence of its own (`.url`: database 0).
    `stop()` saves a snapshot in `directory` that `start()` loads: a restart keeps the keys, as a
    production Redis with snapshots would, and a test sees only the outage."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.binary = redis_binary()
        self.directory = directory
        self.log_path = directory / "redis.log"
        self.port = port or free_port()
        self.url = f"redis://{HOST}:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None
        try:
            import redis  # noqa: F401
        except ImportError as error:
            raise ServerMissing("redis (redis-py) is not installed: pip install -e '.[dev]'") from error

    def client(self) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # redis-py retries with backoff by default, which would only slow down a wait loop that
        # expects refusals, and a SHUTDOWN that ends in one
        return redis.Redis(host=HOST, port=self.port, socket_timeout=2, socket_connect_timeout=2,
                           retry=Retry(NoBackoff(), 0))

    def start(self) -> None:
        if self.running:
            return
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "--bind", HOST, "--port", str(self.port), "--dir", str(self.directory),
                 "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes",
                 "--logfile", ""],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.directory,
                start_new_session=True)
        _reaper.tell("+pid", self.process.pid)
        self._wait_ready()

    def _wait_ready(self) -> None:
        import redis

        def answers() -> bool:
            with self.client() as client:
                return bool(client.ping())

        _wait_ready(self, "redis-server", "answer PING", answers,
                    (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError))

    def stop(self) -> None:
        """Go away until `start()`: SHUTDOWN SAVE (the keys come back), SIGTERM if it does not answer."""
        import redis

        if self.process is None:
            return
        try:
            with self.client() as client:
                client.shutdown(save=True)
            self.process.wait(timeout=STOP_TIMEOUT)
        except (redis.RedisError, subprocess.TimeoutExpired):
            pass
        _end(self.process, signal.SIGTERM, STOP_TIMEOUT)  # nothing left to do if SHUTDOWN worked
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        if self.process is not None:
            _end(self.process, signal.SIGKILL, STOP_TIMEOUT)
            self.process = None

    def close(self) -> None:
        self.kill()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def flush(self) -> None:
        with self.client() as client:
            client.flushall()


def start_redis(directory: Path) -> RedisServer:
    server = RedisServer(directory)
    try:
        server.start()
    except BaseException:
        server.close()
        raise
    return server


# --- Clean-up when pytest cannot do it -----------------------------------------------------------

REAPER = r"""
import os, shutil, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
groups, directories = set(), set()
for line in sys.stdin:
    what, _, value = line.rstrip("\n").partition(" ")
    if what == "+pid":
        groups.add(int(value))
    elif what == "-pid":
        groups.discard(int(value))
    elif what == "+dir":
        directories.add(value)
    elif what == "-dir":
        directories.discard(value)
for group in groups:  # each server was started in a session of its own: its pid is its group
    try:
        os.killpg(group, signal.SIGKILL)
    except OSError:
        pass
if groups:
    time.sleep(0.5)
for directory in directories:
    shutil.rmtree(directory, ignore_errors=True)
"""


class _Reaper:
    """A small process that cleans up after a pytest that was killed: a timeout's SIGTERM or a
    SIGKILL runs no fixture teardown and no atexit, and would leave the servers running for good
    and their directories in /dev/shm, which is memory. It learns what to clean from a pipe and
    acts when the pipe closes, that is when pytest ends, however it ends; by then a normal run has
    told it that everything is gone already."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None

    def tell(self, what: str, value: object) -> None:
        if self.process is None:
            # its own session: a Ctrl-C in the terminal is for pytest, which cleans up itself
            self.process = subprocess.Popen([sys.executable, "-c", REAPER], stdin=subprocess.PIPE, text=True,
                                            start_new_session=True)
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(f"{what} {value}\n")
            self.process.stdin.flush()
        except OSError:  # it died: nothing to do but the normal clean-up
            pass


_reaper = _Reaper()
