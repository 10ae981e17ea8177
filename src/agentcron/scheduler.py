"""The scheduler loop: sleep until the earliest due time (or a wake-up), fire due slots.

Exactly-once firing lives in the store (`Store.fire_due`); any number of schedulers may run
against one store. This loop only decides when to ask, and plans each due schedule with the
pure `agentcron.policies.plan_fire`.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from agentcron.clock import Clock, SystemClock
from agentcron.errors import AgentcronError, StoreError
from agentcron.models import NewRun, Run, Schedule
from agentcron.policies import RunDefaults, plan_fire, subject_run
from agentcron.store.base import FirePlan, Store
from agentcron.tasks import TaskRegistry
from agentcron.triggers import Trigger, trigger_from_dict

__all__ = ["RunPlanner", "Scheduler"]

log = logging.getLogger("agentcron.scheduler")

RETRY_BROKEN = timedelta(minutes=1)


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
        log.info("scheduler started (%d tasks registered)", len(self.registry))
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
        """Fire what is due; return how long to sleep (0: go again, None: nothing due now)."""
        until = await self.seconds_until_due()
        if until is not None and until <= 0:
            runs = await self.tick()
            if runs:
                log.debug("fired %d runs", len(runs))
            return 0.0
        return until


class RunPlanner:
    """Plans one firing transaction; a schedule that cannot be planned is retried later."""

    def __init__(self, registry: TaskRegistry, now: datetime) -> None:
        self.registry = registry
        self.now = now

    def __call__(self, schedule: Schedule, busy: bool) -> FirePlan:
        try:
            trigger = trigger_of(schedule)
            return plan_fire(schedule, trigger, self.now, busy, self._defaults(schedule.task))
        except (AgentcronError, ValueError, OverflowError) as exc:
            log.error("schedule %s (%s) cannot fire: %s", schedule.name, schedule.id, exc)
            return FirePlan(runs=[], next_run_at=self.now + RETRY_BROKEN)

    def for_subject(
        self, schedule: Schedule, subject: str | None, slot: datetime, info: dict[str, Any]
    ) -> NewRun:
        key = info.pop("key", None)
        return subject_run(schedule, subject, slot, info, self._defaults(schedule.task), key=key)

    def _defaults(self, task_name: str) -> RunDefaults:
        if task_name not in self.registry:
            return RunDefaults()
        task = self.registry.get(task_name)
        return RunDefaults(task.queue, task.priority, task.retry.retries, task.timeout)
