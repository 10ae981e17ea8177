"""Pure firing rules: which runs a due schedule produces (misfire, overlap, jitter, lead).

No I/O here: the scheduler's `Planner` calls `plan_fire`, and the store asks the planner
inside its firing transaction (`agentcron.store.core.firing`) and writes the `FirePlan`.

Terms. A *slot* is a time the trigger fires. When the scheduler gets to a schedule, the
*due* slots are its ``next_run_at`` and every later slot up to now. All but the latest were
*superseded* (the scheduler was down or late), and a slot older than the grace is *late*.

- ``misfire="once"`` (default): the latest due slot runs (unless late); superseded slots are
  counted in the run's ``trigger`` info (``missed``), not run.
- ``misfire="skip"``: like ``once``, but the grace defaults to `SKIP_GRACE`; a late slot is
  recorded as a ``skipped`` run with the reason.
- ``misfire="all"``: every due slot runs (the newest `MAX_CATCHUP`), each one at most once;
  when older ones are left out, one ``skipped`` run at the first of them says which.
- ``misfire_grace``: slots older than this are recorded as skipped instead of run.

Overlap, when a run of the schedule is still queued or running: ``skip`` (default) records
the slot as a ``skipped`` run; ``queue`` queues it to start after the previous one finishes;
``allow`` runs it alongside.
"""

from __future__ import annotations

import collections
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from agentcron.models import (
    DEFAULT_MAX_RECOVERIES,
    Misfire,
    NewRun,
    Overlap,
    RunStatus,
    Schedule,
    iso,
)
from agentcron.triggers import Trigger, latest_slot_at_or_before

__all__ = [
    "MAX_CATCHUP",
    "SKIP_GRACE",
    "FirePlan",
    "Planner",
    "RunDefaults",
    "dedup_key",
    "lead",
    "plan_fire",
    "schedule_info",
    "skipped_run",
    "split_fan_out",
    "subject_run",
]

MAX_CATCHUP = 1000
SKIP_GRACE = timedelta(seconds=60)
MAX_LEAD_S = 1.0


@dataclass(frozen=True, slots=True)
class FirePlan:
    """What firing one due schedule does: the runs to insert and where the schedule moves next.

    ``runs`` may hold queued runs and ``SKIPPED`` records; each carries its dedup key
    ``(schedule, slot)`` so that inserting it twice is impossible. ``next_run_at`` None means the
    trigger is exhausted (the schedule stays, disabled of further fires).
    """

    runs: list[NewRun]
    next_run_at: datetime | None
    last_run_at: datetime | None = None
    lead_s: float = 0.0  # the next slot may be fired this long before it


class Planner(Protocol):
    """Plans runs inside a firing transaction (pure: no I/O). ``now`` is the firing time."""

    now: datetime

    def __call__(self, schedule: Schedule, busy: bool) -> FirePlan:
        """A due time-triggered schedule: its runs and next fire time (``busy``: a run of
        it is queued or running)."""
        ...

    def for_subject(
        self, schedule: Schedule, subject: str | None, slot: datetime, info: dict[str, Any]
    ) -> NewRun:
        """One run of ``schedule`` for ``subject`` (idle, messages, event, fan-out), with
        ``info`` merged into its trigger info and a dedup key per (schedule, slot, subject)."""
        ...


def split_fan_out(schedule: Schedule, plan: FirePlan) -> tuple[list[NewRun], list[NewRun]]:
    """A ``for_each_subject`` schedule's plan as ``(records, slots)``: the runs inserted as
    planned (``skipped`` records of a slot that did not fire) and the queued slot runs, each
    replaced by one run per matching subject. A slot at or before the schedule's last fired
    one was fanned out already (its runs carry per-subject dedup keys, so nothing holds the
    slot's own key): it is left out of both, so that it fires once only."""
    done = schedule.last_run_at
    records: list[NewRun] = []
    slots: list[NewRun] = []
    for run in plan.runs:
        slot = run.scheduled_for
        if done is not None and slot is not None and slot <= done:
            continue
        queued = run.status is RunStatus.QUEUED and slot is not None
        (slots if queued else records).append(run)
    return records, slots


def lead(next_at: datetime, after_next: datetime | None, previous: datetime | None) -> float:
    """Seconds before ``next_at`` its run may be inserted (pre-firing), so that a burst of
    slots starts on time: at most `MAX_LEAD_S`, and at most a quarter of the gap to the
    neighbouring slot, so that a run is never queued long before its slot and the overlap
    check still sees the previous run as it will be at the slot."""
    gaps = [abs((t - next_at).total_seconds()) for t in (after_next, previous) if t is not None]
    return min([MAX_LEAD_S, *(g / 4 for g in gaps if g > 0)])


@dataclass(frozen=True, slots=True)
class RunDefaults:
    """What a schedule's runs take from the task when the schedule does not say."""

    queue: str = "default"
    priority: int = 0
    retries: int = 0
    timeout: timedelta | None = None
    max_recoveries: int = DEFAULT_MAX_RECOVERIES


def dedup_key(schedule_id: str, slot: datetime, subject: str | None = None) -> str:
    key = f"{schedule_id}@{round(slot.timestamp() * 1000)}"
    return f"{key}/{subject}" if subject else key


def schedule_info(schedule: Schedule) -> dict[str, Any]:
    """The start of a run's trigger info: the schedule's name, and its ``metadata`` and
    ``thread_id`` when it has them (the worker hands them to the task: ``ctx.metadata``)."""
    info: dict[str, Any] = {"schedule": schedule.name}
    if schedule.metadata:
        info["metadata"] = schedule.metadata
    if schedule.thread_id is not None:
        info["thread_id"] = schedule.thread_id
    return info


def plan_fire(
    schedule: Schedule,
    trigger: Trigger,
    now: datetime,
    busy: bool,
    defaults: RunDefaults,
    rand: Callable[[], float] = random.random,
) -> FirePlan:
    """The runs to insert for a due ``schedule`` and its next fire time. ``busy``: a run of
    the schedule is queued or running."""
    due = schedule.next_run_at
    if due is None:
        raise ValueError(f"schedule {schedule.id} has no next fire time")
    now = max(now, due)  # pre-firing: the slot is planned as at its own time
    latest = latest_slot_at_or_before(trigger, due, now) or due
    left_out: FirePlan | None = None
    if schedule.misfire is Misfire.ALL:
        slots = _newest_slots(trigger, due, latest)
        missed = 0
        if slots[0] != due:
            reason = (
                f"misfire: the due slots from {iso(due)} to before {iso(slots[0])} were not "
                f"run (misfire=all catches up the newest {MAX_CATCHUP})"
            )
            left_out = FirePlan([skipped_run(schedule, due, reason, defaults, kind=trigger.kind)],
                                None)  # fmt: skip
    else:
        slots = [latest]
        missed = _count_superseded(trigger, due, latest)
    grace = schedule.misfire_grace
    if grace is None and schedule.misfire is Misfire.SKIP:
        grace = SKIP_GRACE
    runs = [
        _run_for(schedule, trigger, slot, now, busy, grace, defaults, rand, missed, index)
        for index, slot in enumerate(slots)
    ]
    if left_out is not None:
        runs = left_out.runs + runs
    nxt = trigger.next_after(latest)
    lead_s = lead(nxt, None, latest) if nxt is not None else 0.0
    return FirePlan(runs=runs, next_run_at=nxt, last_run_at=latest, lead_s=lead_s)


def _run_for(
    schedule: Schedule,
    trigger: Trigger,
    slot: datetime,
    now: datetime,
    busy: bool,
    grace: timedelta | None,
    defaults: RunDefaults,
    rand: Callable[[], float],
    missed: int,
    index: int,
) -> NewRun:
    info = schedule_info(schedule)
    info["kind"] = trigger.kind
    if missed:
        info["missed"] = missed
    reason = None
    if grace is not None and now - slot > grace:
        reason = f"misfire: the slot was {_ago(now - slot)} late (grace {_ago(grace)})"
    elif busy and schedule.overlap is Overlap.SKIP:
        reason = "overlap: the previous run of this schedule is still unfinished"
    serial = schedule.id if schedule.overlap is not Overlap.ALLOW else None
    if (
        index == 0
        and not busy
        and schedule.overlap is Overlap.SKIP
        and schedule.misfire is not Misfire.ALL
    ):
        serial = None  # nothing to wait for: skip the serial check in claims
    jitter = schedule.jitter or trigger.jitter
    available = slot + jitter * rand() if jitter else slot
    return _slot_run(schedule, slot, defaults, info, reason, available=available, serial=serial)


def skipped_run(
    schedule: Schedule,
    slot: datetime,
    reason: str,
    defaults: RunDefaults,
    *,
    kind: str | None = None,
) -> NewRun:
    """The ``skipped`` record of a slot of ``schedule`` that could not be fired: its error
    (``{"type": "Skipped", "message": reason}``) says why. Deduplicated like the slot's run."""
    info = schedule_info(schedule)
    if kind is not None:
        info["kind"] = kind
    return _slot_run(schedule, slot, defaults, info, reason)


def _slot_run(
    schedule: Schedule,
    slot: datetime,
    defaults: RunDefaults,
    info: dict[str, Any],
    reason: str | None,
    *,
    available: datetime | None = None,
    serial: str | None = None,
) -> NewRun:
    """The run of ``schedule``'s ``slot`` (deduplicated per slot): ``skipped`` with the
    ``reason`` when there is one, else queued, available at ``available`` (the slot)."""
    return NewRun(
        **_run_fields(schedule, slot, defaults),
        available_at=available or slot,
        dedup_key=dedup_key(schedule.id, slot),
        trigger_info=info,
        serial_key=serial,
        status=RunStatus.SKIPPED if reason else RunStatus.QUEUED,
        error={"type": "Skipped", "message": reason} if reason else None,
    )


def _run_fields(schedule: Schedule, slot: datetime, defaults: RunDefaults) -> dict[str, Any]:
    """What every run a schedule makes takes from it (and from its task's defaults)."""
    return {
        "task": schedule.task,
        "args": schedule.args,
        "namespace": schedule.namespace,
        "queue": schedule.queue or defaults.queue,
        "priority": schedule.priority if schedule.priority is not None else defaults.priority,
        "max_attempts": (schedule.retries if schedule.retries is not None else defaults.retries)
        + 1,
        "timeout": schedule.timeout or defaults.timeout,
        "max_recoveries": defaults.max_recoveries,
        "schedule_id": schedule.id,
        "scheduled_for": slot,
    }


def subject_run(
    schedule: Schedule,
    subject: str | None,
    slot: datetime,
    info: dict[str, Any],
    defaults: RunDefaults,
    *,
    key: str | None = None,
) -> NewRun:
    """The run of a per-subject or event fire: the schedule's task and args, the subject,
    ``info`` in its trigger info, deduplicated per (schedule, ``key`` or slot, subject)."""
    return NewRun(
        **_run_fields(schedule, slot, defaults),
        available_at=slot,
        dedup_key=f"{schedule.id}@{key}/{subject or ''}"
        if key
        else dedup_key(schedule.id, slot, subject),
        subject=subject,
        trigger_info={**schedule_info(schedule), **info},
    )


def _newest_slots(trigger: Trigger, first: datetime, last: datetime) -> list[datetime]:
    """The newest `MAX_CATCHUP` of the slots from ``first`` to ``last`` (both slots), oldest
    first. An interval's are counted back from ``last``. Other triggers are walked forward
    from ``first``; past twice the cap (a day of a per-second cron is 86,400 slots), from a
    window before ``last`` as long as the cap at the mean gap so far, doubled until it holds
    the cap: the cost is the slots of that window, not of the whole outage."""
    every = getattr(trigger, "every", None)
    if isinstance(every, timedelta) and every > timedelta(0):
        count = min((last - first) // every + 1, MAX_CATCHUP)
        return [last - i * every for i in reversed(range(count))]
    slots = [first]
    while slots[-1] < last and len(slots) <= 2 * MAX_CATCHUP:
        nxt = trigger.next_after(slots[-1])
        if nxt is None or nxt > last:
            return slots[-MAX_CATCHUP:]
        slots.append(nxt)
    if slots[-1] >= last:
        return slots[-MAX_CATCHUP:]
    span = (slots[-1] - first) / (len(slots) - 1) * MAX_CATCHUP
    while True:
        start = last - span
        if start <= first:  # the window reached the first slot: all of them, walked
            return _walk(trigger, first, last, [first])
        window = _walk(trigger, start, last)
        if len(window) == MAX_CATCHUP:
            return window
        span *= 2


def _walk(
    trigger: Trigger, after: datetime, last: datetime, slots: list[datetime] | None = None
) -> list[datetime]:
    """The newest `MAX_CATCHUP` of ``slots`` and the trigger's slots in (``after``, ``last``]."""
    newest = collections.deque(slots or (), maxlen=MAX_CATCHUP)
    cursor: datetime | None = trigger.next_after(after)
    while cursor is not None and cursor <= last:
        newest.append(cursor)
        cursor = trigger.next_after(cursor)
    return list(newest)


def _count_superseded(trigger: Trigger, first: datetime, latest: datetime) -> int:
    if latest == first:
        return 0
    every = getattr(trigger, "every", None)
    if isinstance(every, timedelta) and every > timedelta(0):
        return round((latest - first) / every)
    count, cursor = 0, first
    while cursor < latest and count < MAX_CATCHUP:
        nxt = trigger.next_after(cursor)
        if nxt is None or nxt > latest:
            break
        count, cursor = count + 1, nxt
    return count


def _ago(value: timedelta) -> str:
    from agentcron.durations import format_duration

    return format_duration(timedelta(seconds=round(value.total_seconds(), 3)))
