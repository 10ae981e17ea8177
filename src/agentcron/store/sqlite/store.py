"""The embedded store: one SQLite file in WAL mode, safe for several processes.

Writes are short ``BEGIN IMMEDIATE`` transactions on one connection that never waits for a
lock on the event loop (see ``sqlite/writer.py`` for why it is not on a thread). Reads,
checkpoints and ``VACUUM`` use a second connection on its own thread. Commits made by other
processes are noticed through ``PRAGMA data_version``, polled every few milliseconds. The
write-ahead log is kept small (`sqlite/wal.py`); the outcome of the latest write is kept for
`check_writes` (a full disk makes health critical).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from datetime import datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from agentcron.errors import SchemaError, StoreError, StoreRefused, StoreUnavailable
from agentcron.store import _codec, migrate
from agentcron.store.core.base import StoreBase
from agentcron.store.core.durable import DurableVerbs
from agentcron.store.core.events import EventVerbs
from agentcron.store.core.firing import FiringVerbs
from agentcron.store.core.metrics import MetricsVerbs
from agentcron.store.core.ops import Op
from agentcron.store.core.registry import RegistryVerbs
from agentcron.store.core.runs import RunVerbs
from agentcron.store.core.schedules import ScheduleVerbs
from agentcron.store.core.tokens import TokenVerbs
from agentcron.store.db import Tx, drive
from agentcron.store.sqlite.activity import SqliteActivityVerbs
from agentcron.store.sqlite.hot import HotEnqueue
from agentcron.store.sqlite.thread import SqliteThread
from agentcron.store.sqlite.tx import SqliteTx
from agentcron.store.sqlite.wal import (
    IDLE_S,
    JOURNAL_SIZE_LIMIT,
    bound,
    checkpoint,
    policy,
    wal_size,
)
from agentcron.store.sqlite.writer import SqliteWriter, is_busy

__all__ = ["SqliteStore"]

T = TypeVar("T")
_META_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'agentcron_meta'"
_WRITES_PER_CHECKPOINT = 200
_WRITES_PER_YIELD = 16
# New files get 2 KiB pages, not SQLite's 4 KiB: runs and events are small rows, and each commit
# writes every page it touched to the WAL (a run's insert touches about six), while a process
# whose cache another process's commit made stale reads its pages back. Both move half as
# many bytes: about 10% more runs/s with a producer and a worker process (benchmarks/).
PAGE_SIZE = 2048


class SqliteStore(
    HotEnqueue,
    StoreBase,
    EventVerbs,
    ScheduleVerbs,
    FiringVerbs,
    RegistryVerbs,
    RunVerbs,
    SqliteActivityVerbs,
    TokenVerbs,
    MetricsVerbs,
    DurableVerbs,
):
    """``sqlite:///relative.db``, ``sqlite:////absolute.db`` or ``sqlite:///:memory:``.

    ``create=False``: open only an existing agentcron database; a missing or empty file (or
    one without the agentcron schema) raises `SchemaError` and nothing is created.
    """

    dialect = "sqlite"

    def __init__(
        self,
        url: str = "sqlite:///agentcron.db",
        *,
        migrate: bool = True,
        create: bool = True,
        busy_timeout_s: float = 30.0,
        poll_interval_s: float = 0.02,
        idle_checkpoint_s: float = IDLE_S,
        journal_size_limit: int = JOURNAL_SIZE_LIMIT,
    ) -> None:
        self.url = url
        self.path = sqlite_path(url)
        memory = self.path == ":memory:"  # always a new database
        super().__init__(
            migrate=migrate, create=create or memory,
            shown=self.path if memory else os.path.abspath(self.path),
        )  # fmt: skip
        self._errors = _DriverErrors(self.path)
        self.synchronous = sqlite_synchronous(url)
        self._busy_timeout_s = busy_timeout_s
        self._poll_interval_s = poll_interval_s
        self._idle_checkpoint_s = idle_checkpoint_s
        self._journal_size_limit = journal_size_limit
        self._writer: SqliteWriter | None = None
        self._reader: SqliteThread | None = None
        self._poller: asyncio.Task[None] | None = None
        self._writes = 0

    # -- lifecycle -----------------------------------------------------------------------------
    async def open(self) -> None:
        if self._writer is not None:
            return
        memory = self.path == ":memory:"
        if not memory:
            await asyncio.to_thread(_check_file, self.path, self._create)
        self._writer = SqliteWriter(
            self._connect(), path=self.path, busy_timeout_s=self._busy_timeout_s
        )
        await self._open_schema()
        if not memory:
            self._reader = SqliteThread(self._connect, name="agentcron-sqlite-reader")
            await asyncio.to_thread(self._reader.start)
            self._poller = asyncio.create_task(self._poll_data_version())

    async def close(self) -> None:
        """Close the connections; the write-ahead log is emptied first (a clean stop leaves it
        at 0 bytes, or gone when no other process has the file open)."""
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        if self._reader is not None:
            with contextlib.suppress(sqlite3.Error):
                await self._reader.call(lambda conn: checkpoint(conn, "TRUNCATE", wait_s=0.5))
            await asyncio.to_thread(self._reader.stop)
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=self._busy_timeout_s, isolation_level=None, check_same_thread=False
        )
        try:
            if self.path != ":memory:":
                _check_foreign(conn, self.path)
                conn.execute(f"PRAGMA page_size={PAGE_SIZE}")  # new files only; kept after
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(f"PRAGMA journal_size_limit={int(self._journal_size_limit)}")
            conn.execute(f"PRAGMA synchronous={self.synchronous}")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA temp_store=MEMORY")
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise _translate(exc, self.path) from None
        return conn

    # -- running operations --------------------------------------------------------------------
    async def write(self, op: Op[T], *, durable: bool = True) -> T:
        """See `CoreOps.write` (every SQLite commit is as durable as ``synchronous`` says)."""
        result: T = await self._write(lambda conn: drive(op(SqliteTx(conn))))
        return result

    async def read(self, op: Op[T], *, small: bool = False) -> T:
        """See `CoreOps.read`."""
        read = self._read_small if small else self._read
        result: T = await read(lambda conn: drive(op(SqliteTx(conn))))
        return result

    async def _write(self, op: Any) -> Any:
        writer = self._writer
        if writer is None:
            raise StoreError("store is not open")
        changes = writer.conn.total_changes
        try:
            with self._errors:
                result = await writer.call(op)
        except StoreUnavailable as exc:  # a full disk, a lock held too long: health says so
            self._write_health.failed(exc)
            raise
        if writer.conn.total_changes != changes:  # rows were written (not a lone read)
            self._write_health.succeeded()
        self._writes += 1
        if self._writes % _WRITES_PER_CHECKPOINT == 0 and self._reader is not None:
            # keep the WAL short even in a tight loop (the poller checks once a second)
            self._reader.submit(partial(bound, path=self.path, limit=self._journal_size_limit))
        if self._writes % _WRITES_PER_YIELD == 0:
            await asyncio.sleep(0)  # a loop of writes that never waits still lets others run
        return result

    async def _read(self, op: Any) -> Any:
        with self._errors:
            if self._reader is not None:
                return await self._reader.call(op)
            if self._writer is not None:  # :memory: has one connection
                return op(self._writer.conn)
        raise StoreError("store is not open")

    async def _read_small(self, op: Any) -> Any:
        """A short, bounded read (a point lookup, one page of a listing): run at once on the
        event loop's own connection when it is idle, since a hop to the reader thread and back
        costs more than the read (and, under load, waits for the GIL). Scans and anything that
        may take long go through `_read`."""
        writer = self._writer
        if writer is not None and self._reader is not None and writer.idle:
            with self._errors:
                try:
                    return op(writer.conn)
                except sqlite3.OperationalError as exc:
                    if not is_busy(exc):  # busy (a WAL recovery elsewhere): the thread waits
                        raise
        return await self._read(op)

    # -- schema --------------------------------------------------------------------------------
    async def _has_schema(self, tx: Tx) -> bool:
        """See `StoreBase._has_schema` (another application's file is refused on connecting:
        `_check_foreign`)."""
        return await tx.one(_META_TABLE) is not None

    async def _run_script(self, tx: Tx, sql: str) -> None:
        for statement in _statements(sql):
            await tx.execute(statement)

    async def vacuum(self) -> None:
        """``VACUUM`` on the reader thread (it cannot run inside a transaction), then optimize."""
        await self._read(lambda c: (c.execute("VACUUM"), c.execute("PRAGMA optimize")))

    async def checkpoint(self) -> None:
        await self._read(_checkpoint)

    async def _checkpoint_now(self, idle_s: float) -> None:
        """The checkpoint `_sqlite_wal.policy` asks for (on the reader thread)."""
        assert self._reader is not None
        mode = policy(
            wal_size(self.path), idle_s,
            limit=self._journal_size_limit, idle_after_s=self._idle_checkpoint_s,
        )  # fmt: skip
        if mode is not None:
            await self._reader.call(lambda conn: checkpoint(conn, mode))

    # -- wake-ups (`StoreBase.notify`, `StoreBase.wait`) ---------------------------------------
    async def _poll_data_version(self) -> None:
        """Wake local waiters when any connection committed; checkpoint the WAL now and then."""
        assert self._reader is not None
        loop = asyncio.get_running_loop()
        last = await self._reader.call(_data_version)
        changed_at = loop.time()
        polls_per_checkpoint = max(1, round(1.0 / self._poll_interval_s))
        polls = 0
        while True:
            await asyncio.sleep(self._poll_interval_s)
            polls += 1
            try:
                if polls % polls_per_checkpoint == 0:
                    await self._checkpoint_now(loop.time() - changed_at)
                current = await self._reader.call(_data_version)
            except (sqlite3.Error, StoreError):
                continue
            if current != last:
                last, changed_at = current, loop.time()
                self._wake_all()


def sqlite_path(url: str) -> str:
    prefix = "sqlite://"
    if not url.startswith(prefix):
        raise StoreError(f"not a sqlite URL: {url!r}")
    rest = url[len(prefix) :]
    if rest.startswith("/"):
        rest = rest[1:]
    rest = rest.split("?", 1)[0]
    return rest or ":memory:"


def sqlite_synchronous(url: str) -> str:
    """``?synchronous=full`` in the URL: fsync every commit (survives power loss, slower).
    The default, ``normal`` in WAL mode, survives any process crash (SIGKILL included); an OS
    crash or power loss may lose the last commits, never corrupt the file."""
    from urllib.parse import parse_qs

    query = url.split("?", 1)[1] if "?" in url else ""
    value = parse_qs(query).get("synchronous", ["normal"])[-1].upper()
    if value not in ("NORMAL", "FULL", "EXTRA"):
        raise StoreError(f"synchronous must be normal, full or extra, not {value.lower()!r}")
    return value


class _DriverErrors:
    """``with``: the driver's errors as the store's (`StoreError` and its kinds). A class,
    not a generator: it wraps every read and write."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        if isinstance(exc, sqlite3.Error):
            raise _translate(exc, self.path) from None
        if isinstance(exc, OverflowError):  # an integer SQLite cannot hold (over 64 bits)
            raise StoreRefused(f"value out of range: {exc}") from None
        if isinstance(exc, UnicodeEncodeError):  # a lone surrogate: not UTF-8
            raise StoreRefused(f"text that is not valid Unicode: {exc}") from None


def _checkpoint(conn: sqlite3.Connection) -> None:
    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")


def _data_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA data_version").fetchone()
    return int(row[0])


def _missing(path: str) -> str:
    return migrate.missing_message(os.path.abspath(path))


def _check_file(path: str, create: bool = True) -> None:
    target = Path(path)
    if target.is_dir():
        raise StoreUnavailable(f"{path} is a directory, not a SQLite file")
    if not create and (not target.exists() or target.stat().st_size == 0):
        raise SchemaError(_missing(path))
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.exists():
        raise StoreUnavailable(f"cannot open {path}: folder {parent} does not exist")
    if target.exists() and not os.access(target, os.R_OK | os.W_OK):
        raise StoreUnavailable(f"cannot open {path}: permission denied")


def _check_foreign(conn: sqlite3.Connection, path: str) -> None:
    """Refuse a SQLite file that holds another application's tables (before writing to it)."""
    names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    names.discard("sqlite_sequence")
    if names and "agentcron_meta" not in names:
        shown = ", ".join(sorted(names)[:5])
        raise SchemaError(
            f"{path} is a SQLite database of another application (tables: {shown}); "
            "agentcron left it unchanged. Point --db / AGENTCRON_DB at a new file."
        )


# What a driver message says, and what it becomes: (words in the message, message, retry after).
_UNAVAILABLE = (
    (("locked", "busy"), "{path}: database is locked by another process ({text})", 1.0),
    (("disk is full",), "cannot write {path}: the disk is full ({text})", 5.0),  # SQLITE_FULL
    (("disk I/O error", "readonly"), "cannot write {path}: {text}", 5.0),  # IOERR, READONLY
)


def _translate(exc: sqlite3.Error, path: str) -> StoreError:
    text = str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and (
        "not a database" in text or "malformed" in text or "encrypted" in text
    ):
        return SchemaError(
            f"{path} is not a usable SQLite database ({text}); agentcron left it unchanged"
        )
    for words, message, retry_after_s in _UNAVAILABLE:
        if any(word in text for word in words):
            return StoreUnavailable(
                message.format(path=path, text=text), retry_after_s=retry_after_s
            )
    if isinstance(exc, sqlite3.DataError):  # too big, say
        return StoreRefused(f"{path}: {type(exc).__name__}: {text}")
    if "unable to open" in text:
        return StoreUnavailable(f"cannot open {path}: {text}")
    return StoreError(f"{path}: {type(exc).__name__}: {text}")


def _statements(sql: str) -> list[str]:
    out, buf = [], ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip() and not all(
        ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()
    ):
        out.append(buf.strip())
    return out


def now_ts(now: datetime) -> float:
    return _codec.ts(now) or 0.0
