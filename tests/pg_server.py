"""A PostgreSQL server of a test's own: ``initdb`` into a temporary folder, its own port, trust
authentication, so a test can stop, restart and fill it without disturbing the shared server.

    with pg_server() as server:
        url = server.create_database("t")
        server.stop()            # pg_ctl stop -m fast
        server.start()

PostgreSQL refuses to run as root: under root the server runs as the ``postgres`` user (through
``runuser``), in a folder that user owns. The binaries are ``AGENTCRON_PG_BIN``, else the newest
``/usr/lib/postgresql/*/bin``, else ``pg_ctl`` on the ``PATH``. When there are none, or no user
to run them as, the test is skipped with the reason (a failure under
``AGENTCRON_REQUIRE_POSTGRES=1``, as for the shared server). The server is stopped and its
folder removed at the end, whatever happened.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pg_support import REQUIRED

__all__ = ["PgServer", "pg_server"]

SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",  # a throwaway server: crash safety is not under test here
    "max_connections": "100",
    "shared_buffers": "16MB",
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] '",  # pg_ctl hands the options to a shell
}


def _bin_dir() -> Path | None:
    given = os.environ.get("AGENTCRON_PG_BIN")
    if given:
        return Path(given)
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name), reverse=True
    ) if Path("/usr/lib/postgresql").is_dir() else []  # fmt: skip
    for folder in versions:
        if (folder / "pg_ctl").exists():
            return folder
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def _skip(reason: str) -> None:
    message = f"OWN POSTGRESQL SERVER NOT STARTED: {reason}"
    if REQUIRED:
        pytest.fail(message + " (AGENTCRON_REQUIRE_POSTGRES is set)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PgServer:
    root: Path
    bin: Path
    port: int
    user: str | None  # the user the server runs as (None: this process's)

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bin / args[0]), *args[1:]]
        if self.user is not None:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=120)
        if check and done.returncode != 0:
            raise AssertionError(
                f"{args[0]} failed ({done.returncode}): {done.stderr or done.stdout}\n"
                f"server log: {self.log_text()[-2000:]}"
            )
        return done

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                 "--no-sync", "--no-instructions")  # fmt: skip

    def start(self, *, wait: bool = True) -> None:
        """Start and wait until it accepts connections (``wait=False``: return at once)."""
        options = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
        options += f" -p {self.port} -k {self.root}"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options,
                 "-w" if wait else "-W", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def running(self) -> bool:
        return self.run("pg_ctl", "-D", str(self.data), "status", check=False).returncode == 0

    def accepting(self) -> bool:
        import psycopg

        try:
            psycopg.connect(self.url(), connect_timeout=2).close()
        except psycopg.Error:
            return False
        return True

    def execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def create_database(self, name: str) -> str:
        self.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def chown(self, path: Path) -> None:
        """Give ``path`` to the server's user (a tablespace folder, say)."""
        if self.user is not None:
            entry = pwd.getpwnam(self.user)
            os.chown(path, entry.pw_uid, entry.pw_gid)


def _server_user() -> str | None:
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            pwd.getpwnam(name)
            if shutil.which("runuser"):
                return name
    _skip("running as root, and no 'postgres' user with runuser to run the server as")
    return None


@contextlib.contextmanager
def pg_server() -> Iterator[PgServer]:
    """A started server of its own; stopped and removed afterwards."""
    bin_dir = _bin_dir()
    if bin_dir is None:
        _skip("no PostgreSQL binaries (set AGENTCRON_PG_BIN to the folder of pg_ctl)")
    assert bin_dir is not None
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        _skip(f"psycopg is not installed ({exc})")
    user = _server_user()
    root = Path(tempfile.mkdtemp(prefix="agentcron-pg-"))
    server = PgServer(root=root, bin=bin_dir, port=free_port(), user=user)
    server.chown(root)
    try:
        server.init()
        server.start()
        yield server
    finally:
        with contextlib.suppress(Exception):
            if server.running():
                server.stop("immediate")
        shutil.rmtree(root, ignore_errors=True)
