"""One ``sqlite3`` connection owned by one thread, driven from asyncio (the read side).

Reads, checkpoints and ``VACUUM`` can take long on a big file, so they never run on the event
loop. Operations queued while one runs are taken together, and their results handed back with
one wake-up of the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from agentcron.store.futures import settle

__all__ = ["SqliteThread"]

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]
_Item = tuple[Op, "asyncio.Future[Any] | None", asyncio.AbstractEventLoop | None]

MAX_BATCH = 512


class SqliteThread:
    def __init__(self, connect: Callable[[], sqlite3.Connection], *, name: str) -> None:
        self._connect = connect
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._ready = threading.Event()
        self._open_error: BaseException | None = None
        self.conn: sqlite3.Connection | None = None

    def start(self) -> None:
        """Start the thread and open the connection (blocking; raises the connect error)."""
        self._thread.start()
        self._ready.wait()
        if self._open_error is not None:
            raise self._open_error

    def stop(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def submit(self, op: Callable[[sqlite3.Connection], Any]) -> None:
        """Run ``op`` on the thread without waiting for it (errors are dropped)."""
        self._queue.put((op, None, None))

    async def call(self, op: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((op, future, loop))
        return await future

    # -- the thread ----------------------------------------------------------------------------
    def _main(self) -> None:
        try:
            self.conn = self._connect()
        except BaseException as exc:  # handed to start()
            self._open_error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            while (batch := self._next_batch()) is not None:
                results = [(fut, loop, *_attempt(self.conn, op)) for op, fut, loop in batch]
                _deliver([r for r in results if r[0] is not None])  # type: ignore[misc]
        finally:
            self.conn.close()

    def _next_batch(self) -> list[_Item] | None:
        first = self._queue.get()
        if first is None:
            return None
        batch = [first]
        while len(batch) < MAX_BATCH:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # stop after this batch
                break
            batch.append(item)
        return batch


def _attempt(conn: sqlite3.Connection, op: Op) -> tuple[Any, BaseException | None]:
    try:
        return op(conn), None
    except BaseException as exc:
        return None, exc


_Result = tuple["asyncio.Future[Any]", asyncio.AbstractEventLoop, Any, BaseException | None]


def _deliver(results: list[_Result]) -> None:
    """Hand results back: one wake-up of each event loop per batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[_Result]] = {}
    for item in results:
        by_loop.setdefault(item[1], []).append(item)
    for loop, items in by_loop.items():
        with contextlib.suppress(RuntimeError):  # loop closed: nobody is waiting
            loop.call_soon_threadsafe(_settle, items)


def _settle(items: list[_Result]) -> None:
    for future, _, result, exc in items:
        settle(future, result, exc)
