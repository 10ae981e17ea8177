"""Coalesced wake-ups of other processes (PostgreSQL ``NOTIFY`` sent after a commit).

A ``NOTIFY`` inside a writing transaction takes a database-wide lock at its commit and
signals every listening session; a busy worker writes lifecycle events in nearly every
transaction. So the events channel is announced by the process that wrote, after the commit,
at most once per `ANNOUNCE_EVERY_S`: the first write after a quiet spell is announced at once,
the writes that follow within the interval together at its end. A write committed while an
announcement is on its way is announced again (that one may have been delivered before the
write was visible). A one-statement write may carry the announcement itself (`carry`): a
``pg_notify`` in the statement is delivered at its commit, and covers what was committed
before it too, without a round trip of its own. A lost announcement (the server went away)
only delays readers, who also re-read on their own every few seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from agentcron.errors import StoreError

__all__ = ["ANNOUNCE_EVERY_S", "Announcer"]

log = logging.getLogger("agentcron.store")

ANNOUNCE_EVERY_S = 0.05


class Announcer:
    """Calls ``send`` soon after each `__call__`, at most once per ``every_s``."""

    def __init__(self, send: Callable[[], Awaitable[object]], every_s: float = ANNOUNCE_EVERY_S):
        self._send = send
        self._every_s = every_s
        self._due = False  # something was committed since the last send started
        self._last = float("-inf")  # loop time of the last send
        self._task: asyncio.Task[None] | None = None

    def __call__(self) -> None:
        self._due = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="agentcron-announce")

    def carry(self) -> bool:
        """Whether the write about to be sent should carry the announcement: when one is due
        (the interval since the last has passed). If it does not commit, `__call__`."""
        now = asyncio.get_running_loop().time()
        if now - self._last < self._every_s:
            return False
        self._last = now
        self._due = False  # what was committed before is announced by that write's commit
        return True

    async def drain(self) -> None:
        """Wait until everything announced so far was sent (before the pool closes)."""
        if self._task is not None:
            await asyncio.wait([self._task])

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while self._due:
            delay = self._last + self._every_s - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            self._due = False
            self._last = loop.time()
            try:
                await self._send()
            except StoreError as exc:  # readers re-read on their own; nothing is lost
                log.info("could not wake other processes: %s", exc)
