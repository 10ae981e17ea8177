"""The PostgreSQL store's listening connection: ``LISTEN`` on the channels this process waits
on, and only those, re-established when the connection is lost (attempts 50 ms apart at first,
doubling up to ``max_delay_s``, as the store's own reconnects: `connect.backoff`).

A channel is listened to when the process first waits on it (a worker waits on runs, a
scheduler on schedules, a subscriber on events): a process that only enqueues (an API server,
a script) listens to nothing, so no wake-up is delivered to it for nothing. The first wait on
a channel returns once ``LISTEN`` is in place, as a wake-up: the caller looks again, and from
then on no notification is missed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import psycopg

from agentcron.store.postgres.connect import backoff

__all__ = ["Listener"]

log = logging.getLogger("agentcron.store")


class Listener:
    """``deliver(channel)`` for each notification; ``lost()`` after a reconnect
    (notifications may have been missed meanwhile) and while the connection is down;
    ``back()`` as soon as a lost connection is made again."""

    def __init__(
        self,
        conninfo: str,
        deliver: Callable[[str], None],
        lost: Callable[[], None],
        *,
        max_delay_s: float,
        back: Callable[[], None] | None = None,
    ) -> None:
        self._conninfo = conninfo
        self._deliver = deliver
        self._lost = lost
        self._back = back
        self._max_delay_s = max_delay_s
        self._wanted: set[str] = set()
        self._listening: set[str] = set()
        self._changed = asyncio.Event()  # wanted grew
        self._progress = asyncio.Event()  # replaced each time something was settled
        self._connected = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="agentcron-pg-listen")

    async def connected(self) -> None:
        """Until the connection is up (the first time)."""
        await self._connected.wait()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def listens(self, channel: str) -> bool:
        return channel in self._listening

    async def listen(self, channel: str) -> None:
        """Until ``LISTEN channel`` is in place."""
        if channel not in self._wanted:
            self._wanted.add(channel)
            self._changed.set()
        while channel not in self._listening:
            await self._progress.wait()

    def _settled(self) -> None:
        done, self._progress = self._progress, asyncio.Event()
        done.set()

    async def _run(self) -> None:
        attempts, lost_at = 0, None
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    if lost_at is not None:
                        log.warning("listening again after %.1fs", _since(lost_at))
                        if self._back is not None:
                            self._back()
                    attempts, lost_at = 0, None
                    self._connected.set()
                    await self._serve(conn)
            except psycopg.Error as exc:
                self._listening.clear()
                delay = backoff(attempts, self._max_delay_s)
                if lost_at is None:
                    lost_at = asyncio.get_running_loop().time()
                    log.warning("PostgreSQL connection lost (%s); reconnecting", exc)
                log.debug("listening connection: attempt %d in %.3fs", attempts + 1, delay)
                self._lost()
                await asyncio.sleep(delay)
                attempts += 1

    async def _serve(self, conn: psycopg.AsyncConnection[Any]) -> None:
        reconnected = bool(self._wanted)
        while True:
            self._changed.clear()
            for channel in sorted(self._wanted - self._listening):
                await conn.execute(f"LISTEN {channel}")
                self._listening.add(channel)
            if reconnected:  # listening again: what was missed is looked at again
                self._lost()
                reconnected = False
            self._settled()
            reading = asyncio.create_task(self._read(conn))
            changed = asyncio.create_task(self._changed.wait())
            try:
                await asyncio.wait({reading, changed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading  # re-raises the connection's error, if that is what ended it

    async def _read(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async for note in conn.notifies():
            self._deliver(note.channel)


def _since(start: float) -> float:
    return asyncio.get_running_loop().time() - start
