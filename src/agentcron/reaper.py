"""Reaping: runs whose lease expired (their worker died) go back to the queue, whatever their
``retries``, up to their task's ``max_recoveries`` (default 3) times; one more and they are
``dead`` with a ``LeaseExpired`` error (see `Store.reap_expired`).

Workers reap on every heartbeat; schedulers reap too, so a killed worker's runs come back
even when no other worker is alive. Reaping is one statement and idempotent, so any number
of processes may do it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from agentcron.clock import Clock
from agentcron.errors import StoreError
from agentcron.store.base import Store

__all__ = ["reap_loop"]

log = logging.getLogger("agentcron.reaper")


async def reap_loop(
    store: Store, clock: Clock, stop: asyncio.Event, interval_s: float = 1.0
) -> None:
    while not stop.is_set():
        try:
            for run in await store.reap_expired(clock.now()):
                log.warning(
                    "run %s (%s): its worker %s stopped heartbeating; now %s",
                    run.id, run.task, run.worker, run.status.value,
                )  # fmt: skip
        except StoreError as exc:
            log.warning("reaping failed, will retry: %s", exc)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
