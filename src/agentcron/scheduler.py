"""The scheduler loop: sleep until the earliest due time (or a wake-up), fire due slots.

Exactly-once firing lives in the store (`Store.fire_due`); any number of schedulers may run
against one store. This loop only decides when to ask, and plans each due schedule with the
pure `agentcron.policies.plan_fire`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from agentcron.clock import Clock, SystemClock
from agentcron.errors import StoreError
from agentcron.models import NewRun, Run, Schedule
from agentcron.policies import RunDefaults, plan_fire, skipped_run, subject_run
from agentcron.store.base import FirePlan, Store
from agentcron.tasks import TaskRegistry
from agentcron.triggers import Trigger, trigger_from_dict

__all__ = ["RunPlanner", "Scheduler"]

log = logging.getLogger("agentcron.scheduler")

WAKE_GAP_S = 0.05  # the least time between two looks for waiting runs to wake (see _step)


@lru_cache(maxsize=4096)
def _trigger(text: str) -> Trigger:
    return trigger_from_dict(json.loads(text))


def trigger_of(schedule: Schedule) -> Trigger:
    return _trigger(json.dumps(schedule.trigger, sort_keys=True))


class Scheduler:
    def __init__(
        self,
        store: Store,
        registry: TaskRegistry,
        *,
        clock: Clock | None = None,
        batch_size: int = 500,
        max_sleep_s: float = 5.0,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock or SystemClock()
        self.batch_size = batch_size
        self.max_sleep_s = max_sleep_s
        self.fired = 0
        self.last_loop_at: datetime | None = None
        self._wake_looked = float("-inf")  # loop time of the last look for runs to wake
        self._next_wake: datetime | None = None

    def planner(self, now: datetime) -> RunPlanner:
        return RunPlanner(self.registry, now)

    async def tick(self) -> list[Run]:
        """Fire everything due now; return the runs created."""
        now = self.clock.now()
        runs = await self.store.fire_due(now, self.planner(now), self.batch_size)
        self.fired += len(runs)
        return runs

    async def seconds_until_due(self) -> float | None:
        """Seconds until the earliest schedule is due (<= 0: due now), None if none is."""
        due = await self.store.next_due_at()
        if due is None:
            return None
        return (due - self.clock.now()).total_seconds()

    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> None:
        while True:  # the store may be restarting as the process starts: wait for it
            try:
                await self.store.park_schedules(self.registry.names())
                break
            except StoreError as exc:
                if burst:
                    raise
                if stop.is_set():
                    return
                log.warning("store unavailable, retrying in 1s: %s", exc)
                await self.store.wait("schedules", 1.0)
        log.info("scheduler started")  # the tasks are in the start line (`agentcron.logs`)
        while not stop.is_set():
            try:
                wait = await self._step()
                self.last_loop_at = self.clock.now()  # a step that fails is not a loop that ran
            except StoreError as exc:
                log.warning("store unavailable, retrying in 1s: %s", exc)
                wait = 1.0
            if burst and (wait is None or wait > 0):
                return  # burst: everything due has fired
            if wait is None or wait > 0:
                await self.store.wait("schedules", min(wait or self.max_sleep_s, self.max_sleep_s))

    async def _step(self) -> float | None:
        """Fire what is due, wake waiting runs whose wait ended; return how long to sleep
        (0: go again, None: nothing due now)."""
        next_wake = await self._wake_waiting()
        until = await self.seconds_until_due()
        if until is not None and until <= 0:
            runs = await self.tick()
            if runs:
                log.debug("fired %d runs", len(runs))
            return 0.0
        if next_wake is not None:  # the next waiting run to wake (a sleep, a timeout)
            wake_in = max((next_wake - self.clock.now()).total_seconds(), 0.001)
            until = wake_in if until is None else min(until, wake_in)
        return until

    async def _wake_waiting(self) -> datetime | None:
        """Wake waiting runs whose wait ended (`Store.wake_due`); when the next must be woken.
        At most every `WAKE_GAP_S` while the loop fires back to back, unless one is due."""
        at = asyncio.get_running_loop().time()
        due = self._next_wake is not None and self._next_wake <= self.clock.now()
        if at - self._wake_looked < WAKE_GAP_S and not due:  # look again in a moment
            soon = self.clock.now() + timedelta(seconds=WAKE_GAP_S)
            return soon if self._next_wake is None else min(self._next_wake, soon)
        self._wake_looked = at
        woken, self._next_wake = await self.store.wake_due(self.clock.now())
        if woken:
            log.debug("woke %d waiting runs", woken)
        return self._next_wake


_NONE: Mapping[str, RunDefaults] = MappingProxyType({})


class RunPlanner:
    """Plans one firing transaction.

    A due slot that cannot be planned (a trigger the store holds but this code cannot read,
    a fire time past year 9999 once jitter is added...) is never dropped: it is recorded as a
    ``skipped`` run whose error says why, and the schedule moves on to its next slot, or
    ends (``next_run_at`` None) when there is none it can compute.
    """

    def __init__(
        self, registry: TaskRegistry, now: datetime, known: Mapping[str, RunDefaults] = _NONE
    ) -> None:
        """``known``: the run defaults of tasks not in ``registry`` (recorded in the store by
        the process that has them); any other task's runs take the plain defaults."""
        self.registry = registry
        self.now = now
        self.known = known

    def __call__(self, schedule: Schedule, busy: bool) -> FirePlan:
        defaults = self._defaults(schedule.task)
        try:
            trigger = trigger_of(schedule)
        except Exception as exc:  # whatever it is, the slot is recorded, not lost
            return self._unplannable(schedule, None, exc, defaults)
        try:
            return plan_fire(schedule, trigger, self.now, busy, defaults)
        except Exception as exc:  # (raising would roll back every schedule of the batch)
            return self._unplannable(schedule, trigger, exc, defaults)

    def _unplannable(
        self, schedule: Schedule, trigger: Trigger | None, exc: Exception, defaults: RunDefaults
    ) -> FirePlan:
        slot = schedule.next_run_at or self.now
        reason = f"the slot cannot be fired: {exc} ({type(exc).__name__})"
        log.error("schedule %s (%s): %s", schedule.name, schedule.id, reason)
        try:
            nxt = trigger.next_after(slot) if trigger is not None else None
        except Exception:
            nxt = None
        run = skipped_run(schedule, slot, reason, defaults, kind=trigger.kind if trigger else None)
        return FirePlan(runs=[run], next_run_at=nxt, last_run_at=slot)

    def for_subject(
        self, schedule: Schedule, subject: str | None, slot: datetime, info: dict[str, Any]
    ) -> NewRun:
        key = info.pop("key", None)
        return subject_run(schedule, subject, slot, info, self._defaults(schedule.task), key=key)

    def _defaults(self, task_name: str) -> RunDefaults:
        if task_name not in self.registry:
            return self.known.get(task_name) or RunDefaults()
        task = self.registry.get(task_name)
        return RunDefaults(
            task.queue, task.priority, task.retry.retries, task.timeout, task.max_recoveries
        )
