"""Run verbs of `App`: enqueue, run a schedule now (`trigger`) or over a past window
(`backfill`), read, list, cancel, retry, and what ``/metrics`` and ``/healthz`` read of runs."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from agentcron._known import run_defaults
from agentcron.app.base import Duration, bounded
from agentcron.app.schedules import ScheduleVerbs
from agentcron.backfill import Backfill, backfill_slots, plan_backfill
from agentcron.durations import parse_duration
from agentcron.errors import InvalidRunState, ValidationError
from agentcron.models import DEFAULT_NAMESPACE, NewRun, Run, RunStatus, Schedule
from agentcron.policies import RunDefaults, schedule_info
from agentcron.scheduler import RunPlanner, trigger_of
from agentcron.specs import MAX_PRIORITY, MAX_RETRIES, check_args, check_json, check_name
from agentcron.store import FannedOut, RunFilter
from agentcron.store.base import FinishedRun
from agentcron.subjects import check_subject
from agentcron.tasks import check_fit

__all__ = ["RunVerbs"]


class RunVerbs(ScheduleVerbs):
    """Enqueue, trigger, backfill, read, list, cancel, retry runs."""

    async def trigger(
        self, key: str, *, args: Any = None, namespace: str | None = None
    ) -> Run | FannedOut:
        """Run a schedule's task now, outside its trigger, with its args; ``args`` replace
        them for this run only (a JSON object is merged into the schedule's object).

        Answers the run; for a ``for_each_subject`` schedule, which fans out as a firing of it
        does (one run per matching subject; over its ``limit``, recorded as skipped), a
        `FannedOut`: how many runs were queued, and the first of them. Raises
        `ScheduleNotFound`, `ValidationError` (field ``args``)."""
        s = await self.get_schedule(key, namespace=namespace)
        if args is not None:
            s = dataclasses.replace(s, args=check_args(_merged(s.args, args)))
            if s.task in self.registry:
                check_fit(self.registry.get(s.task), s.args)
        now = self.clock.now()
        (d,) = (await run_defaults(self.registry, self.store, [s.task], required=False)).values()
        run = NewRun(
            task=s.task,
            args=s.args,
            namespace=s.namespace,
            queue=s.queue or d.queue,
            priority=s.priority if s.priority is not None else d.priority,
            max_attempts=(s.retries if s.retries is not None else d.retries) + 1,
            timeout=s.timeout or d.timeout,
            schedule_id=s.id,
            scheduled_for=now,
            trigger_info=schedule_info(s) | {"kind": "manual"},
            max_recoveries=d.max_recoveries,
        )
        if s.for_each_subject is not None:
            planner = RunPlanner(self.registry, now, {s.task: d})
            return await self.store.fan_out_now(s, run, planner)
        (created,) = await self.store.enqueue([run], now)
        return _unstarted(created)

    async def backfill(
        self, key: str, start: datetime, end: datetime, *, namespace: str | None = None
    ) -> Backfill:
        """Queue one run per slot of the schedule's (time) trigger in ``[start, end]``, in one
        transaction. A slot that already has a run (fired, or backfilled before) keeps it:
        repeating a backfill adds nothing. Raises `ValidationError` (a trigger without time
        slots, a reversed window, more than `MAX_BACKFILL_SLOTS` slots), `ScheduleNotFound`."""
        s = await self.get_schedule(key, namespace=namespace)
        slots = backfill_slots(trigger_of(s), start, end)
        (d,) = (await run_defaults(self.registry, self.store, [s.task], required=False)).values()
        batch, news = plan_backfill(s, slots, d)
        runs = await self.store.enqueue(news, self.clock.now()) if news else []
        return Backfill(batch, runs)

    async def enqueue(
        self,
        task: Any,
        args: Mapping[str, Any] | Sequence[Any] | None = None,
        *,
        delay: Duration | None = None,
        at: datetime | None = None,
        dedup_key: str | None = None,
        queue: str | None = None,
        priority: int | None = None,
        retries: int | None = None,
        timeout: Duration | None = None,
        subject: str | None = None,
        namespace: str = DEFAULT_NAMESPACE,
    ) -> Run:
        """Queue one run of ``task`` with ``args``: a mapping of keyword arguments or a list
        of positional ones (checked against the function's signature when the task is
        registered here); returns it (or, when ``dedup_key`` was used before, the run that
        holds it). The task is registered here, or by another process in the store (a worker
        that has its code); else `TaskNotFound`."""
        name = self._task_name(task)
        defaults = await self._run_defaults([name])
        new = self._new_run(
            name, defaults[name], args, delay, at, dedup_key, queue, priority, retries, timeout,
            subject, namespace,
        )  # fmt: skip
        (run,) = await self.store.enqueue([new], self.clock.now())
        return _unstarted(run)

    async def enqueue_many(self, items: Iterable[Mapping[str, Any]]) -> list[Run]:
        """Queue many runs in one transaction; each item takes `enqueue`'s arguments as keys."""
        fields = []
        for item in items:
            data = dict(item)
            fields.append(
                (self._task_name(data.pop("task")), *(data.pop(k, None) for k in _ENQUEUE_KEYS),
                 data.pop("namespace", DEFAULT_NAMESPACE))
            )  # fmt: skip
            if data:
                raise ValidationError(f"unknown key {sorted(data)[0]!r}", field=sorted(data)[0])
        defaults = await self._run_defaults({f[0] for f in fields})
        news = [self._new_run(f[0], defaults[f[0]], *f[1:]) for f in fields]
        return await self.store.enqueue(news, self.clock.now())

    def _new_run(self, name: str, d: RunDefaults, args: Any, delay: Any, at: datetime | None,
                 dedup_key: str | None, queue: str | None, priority: int | None,
                 retries: int | None, timeout: Any, subject: str | None,
                 namespace: str) -> NewRun:  # fmt: skip
        checked = check_args(args)
        if name in self.registry:
            check_fit(self.registry.get(name), checked)
        now = self.clock.now()
        available = at if at is not None else now
        if delay is not None:
            available = now + parse_duration(delay, field="delay")
        attempts = (
            bounded(retries, "retries", 0, MAX_RETRIES) if retries is not None else d.retries
        ) + 1
        return NewRun(
            task=name,
            args=checked,
            namespace=namespace,
            queue=check_name(queue, "queue") if queue else d.queue,
            priority=bounded(priority, "priority", -MAX_PRIORITY, MAX_PRIORITY)
            if priority is not None
            else d.priority,
            available_at=available,
            dedup_key=f"{namespace}/{check_name(dedup_key, 'dedup_key')}" if dedup_key else None,
            max_attempts=attempts,
            timeout=parse_duration(timeout, field="timeout") if timeout is not None else d.timeout,
            subject=check_subject(subject) if subject is not None else None,
            max_recoveries=d.max_recoveries,
        )

    async def get_run(self, run_id: int) -> Run:
        """The run with this id, with its durable steps and what it waits for. Raises
        `RunNotFound`."""
        run = await self.store.get_run(run_id)
        state = await self.store.load_steps(run_id)
        waiting = state.waiting_for if run.status is RunStatus.WAITING else None
        return dataclasses.replace(run, steps=tuple(state.steps.values()), waiting_for=waiting)

    async def signal(self, run_id: int, name: str, data: Any = None) -> Run:
        """Send signal ``name`` with JSON ``data`` to a run: a run waiting for it
        (`RunContext.wait_for_signal`) takes it and is queued again at once; otherwise it is
        kept for the run's next wait of that name. Answers the run as it is now. Raises
        `RunNotFound`, `InvalidRunState` (a finished run), `ValidationError` (``name``,
        ``data``: JSON of at most 64 KiB)."""
        check_name(name, "name")
        checked = check_json(data, "data")
        await self.store.signal_run(run_id, name, checked, self.clock.now())
        return await self.get_run(run_id)

    async def list_runs(
        self,
        *,
        task: str | None = None,
        status: str | RunStatus | None = None,
        schedule: str | Schedule | None = None,
        subject: str | None = None,
        namespace: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Run], str | None]:
        """Runs newest first, a page at a time (``cursor``: the last answer's), of ``task``,
        ``status``, ``subject``, ``namespace`` (None: any) and ``schedule`` (a schedule, or
        its id or name in ``namespace``: `ScheduleNotFound` when there is none). Raises
        `ValidationError` for an unknown status."""
        if isinstance(schedule, str):
            schedule = await self.get_schedule(schedule, namespace=namespace)
        filters = RunFilter(
            namespace=namespace,
            task=task,
            status=_status(status) if status is not None else None,
            schedule_id=schedule.id if schedule is not None else None,
            subject=subject,
        )
        runs, nxt = await self.store.list_runs(filters, limit=limit, cursor=cursor)
        waiting = [r.id for r in runs if r.status is RunStatus.WAITING]
        if waiting:  # what they wait for (read only when a page holds waiting runs)
            found = await self.store.waiting_for_runs(waiting)
            runs = [dataclasses.replace(r, waiting_for=found.get(r.id)) if r.id in found else r
                    for r in runs]  # fmt: skip
        return runs, nxt

    async def cancel_run(self, run_id: int) -> Run:
        """Cancel a queued or waiting run at once, a running one by its worker at its next
        heartbeat. Raises `RunNotFound`, `InvalidRunState` (a finished run)."""
        now = self.clock.now()
        try:
            return await self.store.cancel_run(run_id, now)
        except InvalidRunState:
            cancelled = await self.store.cancel_waiting(run_id, now)
            if cancelled is None:
                raise
            return cancelled

    async def retry_run(self, run_id: int) -> Run:
        """Queue a dead, failed or cancelled run again for one more attempt. Raises
        `RunNotFound`, `InvalidRunState`."""
        return await self.store.retry_run(run_id, self.clock.now())

    async def next_available_at(self) -> datetime | None:
        """Since when the oldest runnable queued run has waited: the earliest
        ``available_at`` of the queued runs a worker could claim (None: none)."""
        return await self.store.next_available_at()

    async def finished_runs(
        self, after: datetime, after_id: int, until: datetime, limit: int
    ) -> list[FinishedRun]:
        """Runs that finished after ``(after, after_id)`` and at or before ``until``, by
        ``(finished_at, id)``, at most ``limit``: what ``/metrics`` counts, from where its
        last scrape stopped (see `Store.finished_runs`)."""
        return await self.store.finished_runs(after, after_id, until, limit)


_ENQUEUE_KEYS = ("args", "delay", "at", "dedup_key", "queue", "priority", "retries", "timeout",
                 "subject")  # fmt: skip


def _unstarted(run: Run) -> Run:
    """A run never started has no steps: answered as such, like `App.get_run` would."""
    return dataclasses.replace(run, steps=()) if run.attempts == 0 else run


def _merged(current: Any, given: Any) -> Any:
    """A trigger's args: an object given is merged into the schedule's object; anything else
    replaces them."""
    if isinstance(current, Mapping) and isinstance(given, Mapping):
        return {**current, **given}
    return given


def _status(value: str | RunStatus) -> RunStatus:
    try:
        return RunStatus(value)
    except ValueError:
        options = ", ".join(s.value for s in RunStatus)
        raise ValidationError(f"{value!r} is not one of: {options}", field="status") from None
