"""Quotas, applied when runs are made: a run of a schedule with a ``limit`` over it is
written as skipped, with the reason (`agentcron.rules.quotas`). The runs counted are those
of the schedule and subject (not skipped) scheduled in the quota's period, read through the
``runs_quota`` index."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from agentcron.models import NewRun, Run, Schedule
from agentcron.rules.quotas import over_quota, quota_window, skipped
from agentcron.store import _codec
from agentcron.store.core.insert import insert_runs
from agentcron.store.db import Tx

__all__ = ["insert_within_quota", "over_quota_of", "quota_exceeded", "with_quota"]

_IN_PERIOD = "AND scheduled_for >= ? AND scheduled_for < ? AND status <> 'skipped'"
COUNT_ONE = f"SELECT count(*) FROM runs WHERE schedule_id = ? AND subject = ? {_IN_PERIOD}"
# The counts of many subjects, named in one JSON array parameter ({texts}: `Dialect.texts`).
COUNT_MANY = (
    "SELECT subject, count(*) FROM runs WHERE schedule_id = ? AND subject IN ({texts}) "
    f"{_IN_PERIOD} GROUP BY subject"
)


async def quota_exceeded(
    tx: Tx, schedule: Schedule, subject: str | None, slot: datetime
) -> str | None:
    """Why a run of ``schedule`` for ``subject`` at ``slot`` is over the schedule's quota, or
    None: its runs (not skipped) scheduled in the quota's period of ``slot`` reached the count."""
    if schedule.limit is None or subject is None:
        return None
    start, end = quota_window(schedule.limit, schedule.timezone, slot)
    row = await tx.one(COUNT_ONE, (schedule.id, subject, start.timestamp(), end.timestamp()))
    return over_quota(schedule.limit, subject, int(row[0]) if row else 0)


async def with_quota(tx: Tx, schedule: Schedule, run: NewRun) -> NewRun:
    """``run``, or ``run`` skipped with the reason when it is over the schedule's quota."""
    if schedule.limit is None or run.scheduled_for is None:
        return run
    reason = await quota_exceeded(tx, schedule, run.subject, run.scheduled_for)
    return skipped(run, reason) if reason else run


async def insert_within_quota(
    tx: Tx, schedule: Schedule, runs: Sequence[NewRun], now_s: float
) -> list[Run]:
    """Insert ``runs`` (a taken dedup key skips one); those written, in input order. Under a
    quota one at a time, so that each counts the ones before it; else in one batch."""
    if schedule.limit is None:
        return await insert_runs(tx, runs, now_s)
    out: list[Run] = []
    for run in runs:
        out += await insert_runs(tx, [await with_quota(tx, schedule, run)], now_s)
    return out


async def over_quota_of(
    tx: Tx, schedule: Schedule, subjects: Sequence[str], slot: datetime
) -> dict[str, str]:
    """The ``subjects`` whose run at ``slot`` would be over the schedule's quota, with the
    reason (one statement, whatever their number)."""
    limit = schedule.limit
    if limit is None or not subjects:
        return {}
    start, end = quota_window(limit, schedule.timezone, slot)
    rows = await tx.all(
        COUNT_MANY.format(texts=tx.dialect.texts),
        (schedule.id, _codec.dumps(list(subjects)), start.timestamp(), end.timestamp()),
    )
    over = {str(s): over_quota(limit, str(s), int(n)) for s, n in rows}
    return {s: reason for s, reason in over.items() if reason is not None}
