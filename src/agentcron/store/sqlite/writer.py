"""The SQLite write path: short ``BEGIN IMMEDIATE`` transactions that never wait on the loop.

A write transaction here (insert + commit in WAL mode) costs about 35 µs, while handing it to
a thread and back costs about 70 µs, so the writer runs on the event loop thread instead of
doubling the cost of every enqueue. What keeps the loop responsive:

- the connection has ``busy_timeout = 0``: when another process holds the write lock,
  ``BEGIN IMMEDIATE`` fails at once; the writer retries for up to 2 ms, then after *async*
  sleeps (1 ms doubling to 10 ms, up to ``busy_timeout_s``), so the loop is never parked
  on a lock for long;
- automatic WAL checkpoints are off on this connection (``wal_autocheckpoint = 0``): the
  reader thread checkpoints, so no commit pays for an fsync-heavy checkpoint;
- operations are plain functions with no ``await`` inside, so one transaction never
  interleaves with another, and they are kept short (long jobs such as ``VACUUM`` run on
  the reader thread).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from typing import Any, TypeVar

from agentcron.errors import StoreUnavailable
from agentcron.store.futures import settle

__all__ = ["SqliteWriter", "is_busy"]

T = TypeVar("T")

SPIN_S = 0.002  # how long BEGIN is retried on the loop before waiting asynchronously
RETRY_SPIN_S = 0.0005  # ... and after each async sleep
MAX_SLEEP_S = 0.01
SPIN_STEP_S = 0.00005


def is_busy(exc: sqlite3.Error) -> bool:
    text = str(exc)
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class SqliteWriter:
    def __init__(self, conn: sqlite3.Connection, *, path: str, busy_timeout_s: float) -> None:
        self.conn = conn
        self._path = path
        self._busy_timeout_s = busy_timeout_s
        self._lock = asyncio.Lock()
        self._turn_writer: asyncio.Task[Any] | None = None  # wrote in this turn of the loop
        self._group: list[tuple[Callable[[sqlite3.Connection], Any], asyncio.Future[Any]]] | None
        self._group = None  # ops to commit together on the next turn
        self._group_task: asyncio.Task[None] | None = None  # referenced: not collected midway
        conn.execute("PRAGMA busy_timeout = 0")
        conn.execute("PRAGMA wal_autocheckpoint = 0")

    @property
    def idle(self) -> bool:
        """No transaction open (nor a commit waiting to be retried): the connection may serve a
        read right now."""
        return not self._lock.locked() and not self.conn.in_transaction

    async def call(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op`` in a write transaction; its result once committed.

        A caller writing alone (one task, e.g. a loop of enqueues) gets a transaction of its
        own at once. When several tasks write in the same turn of the event loop (concurrent
        requests), the later ones are committed together on the next turn: one ``BEGIN`` /
        ``COMMIT`` for the group, each op in a savepoint of its own, so one op's error is its
        caller's alone."""
        task = asyncio.current_task()
        if self._group is not None or self._turn_writer not in (None, task):
            return await self._join_group(op)
        if self._turn_writer is None:
            asyncio.get_running_loop().call_soon(self._next_turn)
        self._turn_writer = task
        async with self._lock:  # held across a COMMIT retry; free (no yield) otherwise
            return await self._transaction(op)

    def _next_turn(self) -> None:
        self._turn_writer = None

    async def _join_group(self, op: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        if self._group is None:
            self._group = []
            self._group_task = loop.create_task(self._commit_group())
        self._group.append((op, future))
        return await future

    async def _commit_group(self) -> None:
        async with self._lock:
            group, self._group = self._group or [], None
            group = [(op, f) for op, f in group if not f.cancelled()]  # not begun: not applied
            if not group:
                return
            try:
                await self._begin()
                done = [(future, *self._savepoint(op)) for op, future in group]
                await self._commit()
            except BaseException as exc:  # the whole group fails
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                for _, future in group:
                    settle(future, error=exc)
                if not isinstance(exc, Exception):
                    raise
                return
        for future, result, error in done:
            settle(future, result, error)

    def _savepoint(self, op: Callable[[sqlite3.Connection], Any]) -> tuple[Any, Exception | None]:
        self.conn.execute("SAVEPOINT agentcron_op")
        try:
            result = op(self.conn)
        except Exception as exc:
            try:
                self.conn.execute("ROLLBACK TO agentcron_op")
                self.conn.execute("RELEASE agentcron_op")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
                raise exc from None
            return None, exc
        self.conn.execute("RELEASE agentcron_op")
        return result, None

    async def _transaction(self, op: Callable[[sqlite3.Connection], T]) -> T:
        await self._begin()
        try:
            result = op(self.conn)
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")
            raise
        await self._commit()
        return result

    async def _begin(self) -> None:
        """``BEGIN IMMEDIATE``: spun for up to `SPIN_S` on the loop, then retried after async
        sleeps (1 ms doubling to `MAX_SLEEP_S`), each followed by a short spin: a process
        writing in a tight loop holds the lock most of the time, and a lone attempt per sleep
        would almost never find it free (a worker starved for seconds behind a producer)."""
        if self._begin_now(SPIN_S):
            return
        delay, deadline = 0.001, time.monotonic() + self._busy_timeout_s
        while True:
            await asyncio.sleep(delay)
            if self._begin_now(RETRY_SPIN_S):
                return
            if time.monotonic() > deadline:
                raise StoreUnavailable(
                    f"{self._path}: the write lock was held by another process for more "
                    f"than {self._busy_timeout_s:g}s"
                ) from None
            delay = min(delay * 2, MAX_SLEEP_S)

    def _begin_now(self, spin_s: float) -> bool:
        """``BEGIN IMMEDIATE``, retried every `SPIN_STEP_S` for at most ``spin_s`` while
        another process holds the write lock: its transactions last ~0.1 ms, while an async
        sleep lasts at least a millisecond (the event loop's timer resolution)."""
        until = 0.0
        while True:
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                return True
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
            now = time.perf_counter()
            until = until or now + spin_s
            if now >= until:
                return False
            time.sleep(SPIN_STEP_S)

    async def _commit(self) -> None:
        delay = 0.0005
        for _ in range(200):
            try:
                self.conn.execute("COMMIT")
                return
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.05)
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("ROLLBACK")
        raise StoreUnavailable(f"{self._path}: could not commit, the database stayed busy")

    def close(self) -> None:
        self.conn.close()
