"""Backfill: the runs of a schedule's slots in a past (or any) window, each slot at most once.

Pure: `plan_backfill` computes the runs; `App.backfill` enqueues them in one transaction.
Each run carries the same dedup key the scheduler gives that slot, so a slot that already
ran (or was backfilled before) keeps its run, and repeating a backfill adds nothing.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from agentcron.errors import ValidationError
from agentcron.models import NewRun, Overlap, Run, Schedule
from agentcron.rules.firing import RunDefaults, subject_run
from agentcron.triggers import Trigger

__all__ = ["MAX_BACKFILL_SLOTS", "Backfill", "backfill_slots", "plan_backfill"]

MAX_BACKFILL_SLOTS = 1000
TIME_KINDS = ("cron", "interval", "date")
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True, slots=True)
class Backfill:
    """What a backfill did: one run per slot (in slot order); ``created`` counts the new ones
    (the others already existed and were left alone)."""

    batch: str
    runs: list[Run]

    @property
    def created(self) -> int:
        return sum(1 for r in self.runs if (r.trigger_info or {}).get("backfill") == self.batch)


def backfill_slots(
    trigger: Trigger, start: datetime, end: datetime, limit: int = MAX_BACKFILL_SLOTS
) -> list[datetime]:
    """The trigger's fire times ``t`` with ``start <= t <= end``. Raises `ValidationError`
    for a trigger without fire times of its own, a reversed window, or over ``limit`` slots."""
    if trigger.kind not in TIME_KINDS:
        raise ValidationError(
            f"a {trigger.kind} trigger has no time slots to backfill", field="trigger"
        )
    for name, value in (("from", start), ("to", end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError("needs a time zone offset (e.g. Z or +01:00)", field=name)
    if end < start:
        raise ValidationError("must not be before 'from'", field="to")
    try:
        return _walk(trigger, start, end, limit)
    except OverflowError:
        raise ValidationError("outside the range of supported dates", field="from") from None


def _walk(trigger: Trigger, start: datetime, end: datetime, limit: int) -> list[datetime]:
    slots: list[datetime] = []
    cursor = trigger.next_after(start - _TICK)
    while cursor is not None and cursor <= end:
        if len(slots) == limit:
            raise ValidationError(
                f"the window holds more than {limit} slots; backfill a shorter one", field="to"
            )
        slots.append(cursor)
        cursor = trigger.next_after(cursor)
    return slots


def plan_backfill(
    schedule: Schedule, slots: list[datetime], defaults: RunDefaults
) -> tuple[str, list[NewRun]]:
    """One run per slot, with the scheduler's dedup key for that slot; runs of a schedule
    whose overlap policy is not ``allow`` run one at a time (a shared serial key)."""
    batch = uuid.uuid4().hex[:12]
    serial = schedule.id if schedule.overlap is not Overlap.ALLOW else None
    info = {"kind": "backfill", "backfill": batch}
    runs = [  # each the run a fire makes of its slot (no subject), run one at a time
        replace(subject_run(schedule, None, slot, info, defaults), serial_key=serial)
        for slot in slots
    ]
    return batch, runs
