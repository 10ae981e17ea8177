"""Group commit of the single enqueues of one process (PostgreSQL): concurrent callers share
one statement, so they share its round trip and WAL flush (`postgres/hot.py` sends it)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from agentcron.errors import StoreUnavailable
from agentcron.models import NewRun, Run
from agentcron.store.futures import settle

__all__ = ["EnqueueGroups"]


class EnqueueGroups:
    """Group commit of the single enqueues of one process: the runs enqueued in one turn of
    the event loop go together, in one statement, on the next turn; those enqueued while a
    group is on its way go together as soon as it is back. A loop of enqueues costs what it
    did (one statement each, one loop turn later); concurrent ones (API requests, producer
    tasks) share round trips and WAL flushes.

    Each caller gets its own run, or the error of its group (a group that fails for another
    reason than an unreachable server is sent again run by run, so only a bad run's caller
    sees its error). A caller cancelled before its group is sent is left out of it."""

    MAX = 1000

    def __init__(self, send: Callable[[Sequence[NewRun], datetime], Awaitable[list[Run]]]):
        self._send = send
        self._waiting: list[tuple[NewRun, datetime, asyncio.Future[Run]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def enqueue(self, run: NewRun, now: datetime) -> Run:
        future: asyncio.Future[Run] = asyncio.get_running_loop().create_future()
        self._waiting.append((run, now, future))
        if self._sender is None or self._sender.done():  # starts on the next turn
            self._sender = asyncio.create_task(self._send_all(), name="agentcron-enqueue")
        return await future

    async def drain(self) -> None:
        """Wait until every run handed in was sent (before the pool closes)."""
        if self._sender is not None:
            await asyncio.wait([self._sender])

    async def _send_all(self) -> None:
        try:
            await self._send_groups()
        except BaseException as exc:  # cancelled (the loop is closing): nobody is left waiting
            _fail(self._waiting, exc)
            self._waiting.clear()
            raise

    async def _send_groups(self) -> None:
        while self._waiting:
            group = [w for w in self._waiting[: self.MAX] if not w[2].cancelled()]
            del self._waiting[: self.MAX]
            if not group:
                continue
            try:
                runs = await self._send([r for r, _, _ in group], max(n for _, n, _ in group))
            except StoreUnavailable as exc:
                _fail(group, exc)
            except Exception as exc:
                if len(group) == 1:
                    _fail(group, exc)
                else:
                    await self._one_by_one(group)
            except BaseException as exc:  # cancelled: so are they
                _fail(group, exc)
                raise
            else:
                for (_, _, future), run in zip(group, runs, strict=True):
                    settle(future, run)

    async def _one_by_one(self, group: list[tuple[NewRun, datetime, asyncio.Future[Run]]]) -> None:
        for run, now, future in group:
            try:
                (done,) = await self._send([run], now)
            except Exception as exc:
                settle(future, error=exc)
            else:
                settle(future, done)


def _fail(group: Sequence[tuple[Any, Any, asyncio.Future[Run]]], exc: BaseException) -> None:
    for _, _, future in group:
        settle(future, error=exc)
