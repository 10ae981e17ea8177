"""Firing due schedules, written once for both dialects (contract: `Store.fire_due`,
`Store.fan_out_now`).

One transaction takes the due schedules (on PostgreSQL ``FOR UPDATE SKIP LOCKED``: any
number of schedulers fire each slot exactly once; SQLite has one writer), asks the planner
(`agentcron.rules.firing`) what each one fires, inserts the runs in one batch (a taken
dedup key is skipped), and moves every schedule to its next time in one statement. Idle,
messages and event schedules fire per subject (`subjects.fire_subject_schedule`,
`debounce.fire_debounced`); a ``for_each_subject`` schedule's queued slots become one run per
matching subject (`fanout.fan_out`)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from agentcron.errors import ScheduleNotFound
from agentcron.models import NewRun, Run, Schedule
from agentcron.rules.firing import FirePlan, Planner, split_fan_out
from agentcron.store import _codec
from agentcron.store._codec import SCHEDULE_COLUMNS
from agentcron.store.base import FannedOut
from agentcron.store.core import debounce, events, fanout, subjects
from agentcron.store.core.insert import insert_runs
from agentcron.store.core.ops import CoreOps
from agentcron.store.db import Tx

if TYPE_CHECKING:
    from datetime import datetime

    from agentcron.rules.events import Emitted

__all__ = ["FiringVerbs"]

# Repeats the predicate of the partial index `schedules_fire` (see `Dialect.true`).
DUE = (
    f"SELECT {SCHEDULE_COLUMNS} FROM schedules "
    "WHERE enabled = {d.true} AND parked = {d.false} AND next_run_at IS NOT NULL "
    "AND next_run_at - lead_s <= ? ORDER BY next_run_at - lead_s LIMIT ?{d.skip_locked}"
)
BUSY = (
    "SELECT DISTINCT schedule_id FROM runs WHERE schedule_id IN ({marks}) "
    "AND status IN ('queued', 'running')"
)
# Every fired schedule to its next time in one statement. The times are cast: a column of
# NULLs only would be text to PostgreSQL.
ADVANCE = (
    "WITH v(id, next_at, last_at, lead) AS (VALUES {rows}) "
    "UPDATE schedules SET next_run_at = CAST(v.next_at AS double precision), "
    "last_run_at = coalesce(CAST(v.last_at AS double precision), schedules.last_run_at), "
    "lead_s = v.lead FROM v WHERE schedules.id = v.id"
)
# The row lock a manual fan-out holds: a firing of the schedule (SKIP LOCKED) waits for the
# next loop, so that both count its quota right.
LOCK = "SELECT id FROM schedules WHERE id = ?{d.lock_rows}"
CHUNK = 1000  # schedules per statement: far below either dialect's limit of parameters


class FiringVerbs(CoreOps):
    async def fire_due(self, now: datetime, planner: Planner, limit: int = 500) -> list[Run]:
        now_s = now.timestamp()

        async def op(tx: Tx) -> tuple[list[Run], Emitted]:
            fired = await _fire(tx, planner, now_s, limit)
            return fired, await events.fired_runs(tx, fired, now_s, planner)

        runs, emitted = await self.write(op)
        self.emitted(emitted)
        runs += emitted.runs
        if runs:
            self.notify("runs")
        return runs

    async def fan_out_now(
        self, schedule: Schedule, slot_run: NewRun, planner: Planner
    ) -> FannedOut:
        now_s = planner.now.timestamp()

        async def op(tx: Tx) -> tuple[list[Run], dict[str, int], Emitted]:
            if await tx.one(LOCK.format(d=tx.dialect), (schedule.id,)) is None:
                raise ScheduleNotFound(schedule.id)
            runs, counts = await fanout.fan_out_now(tx, schedule, slot_run, planner, now_s)
            return runs, counts, await events.fired_runs(tx, runs, now_s, planner)

        runs, counts, emitted = await self.write(op)
        self.emitted(emitted)
        self.notify("runs")
        return FannedOut(counts.get("queued", 0), counts.get("skipped", 0), runs)


async def _fire(tx: Tx, planner: Planner, now_s: float, limit: int) -> list[Run]:
    """Fire up to ``limit`` due schedules, the earliest first; the runs inserted."""
    rows = await tx.all(DUE.format(d=tx.dialect), (now_s, limit))
    schedules = [_codec.schedule_from_row(row) for row in rows]
    fired: list[Run] = []
    timed: list[Schedule] = []
    for schedule in schedules:
        kind = _codec.trigger_columns(schedule.trigger)[0]
        if kind == "event":
            fired += await debounce.fire_debounced(tx, schedule, planner, now_s)
        elif kind in _codec.PER_SUBJECT_KINDS:
            fired += await subjects.fire_subject_schedule(tx, schedule, planner, now_s)
        else:
            timed.append(schedule)
    if timed:
        fired += await _fire_timed(tx, timed, planner, now_s)
    return fired


async def _fire_timed(
    tx: Tx, schedules: list[Schedule], planner: Planner, now_s: float
) -> list[Run]:
    """Fire time-triggered schedules: one query for which are busy, one batch of runs (a
    taken dedup key is skipped), fan-outs, one statement moving them all forward."""
    busy = await _busy(tx, [s.id for s in schedules])
    plans = [(s, planner(s, s.id in busy)) for s in schedules]
    planned: list[NewRun] = []
    fan_outs: list[tuple[Schedule, FirePlan]] = []
    for schedule, plan in plans:
        if schedule.for_each_subject is None:
            planned += plan.runs
            continue
        records, slots = split_fan_out(schedule, plan)
        planned += records
        if slots:
            fan_outs.append((schedule, FirePlan(slots, plan.next_run_at, plan.last_run_at)))
    fired = await insert_runs(tx, planned, now_s)
    for schedule, plan in fan_outs:
        fired += await fanout.fan_out(tx, schedule, plan, planner, now_s)
    await _advance(tx, plans)
    return fired


async def _busy(tx: Tx, ids: list[str]) -> set[str]:
    """Those of ``ids`` with a run queued or running."""
    out: set[str] = set()
    for chunk in _chunks(ids):
        rows = await tx.all(_busy_sql(len(chunk)), chunk)
        out.update(row[0] for row in rows)
    return out


async def _advance(tx: Tx, plans: list[tuple[Schedule, FirePlan]]) -> None:
    values = [
        (s.id, _codec.ts(p.next_run_at), _codec.ts(p.last_run_at), float(p.lead_s))
        for s, p in plans
    ]
    for chunk in _chunks(values):
        await tx.execute(_advance_sql(len(chunk)), [v for row in chunk for v in row])


@functools.lru_cache(maxsize=64)
def _busy_sql(count: int) -> str:
    return BUSY.format(marks=", ".join("?" * count))


@functools.lru_cache(maxsize=64)
def _advance_sql(count: int) -> str:
    return ADVANCE.format(rows=", ".join(["(?, ?, ?, ?)"] * count))


def _chunks(items: Sequence[Any]) -> list[Sequence[Any]]:
    return [items[i : i + CHUNK] for i in range(0, len(items), CHUNK)]
