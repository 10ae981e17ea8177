"""Per-subject firing: idle and messages triggers. (Contract: `agentcron.store.base.Store.
fire_due`; activity, which wakes these schedules, is in ``core/activity.py``; fan-out in
``core/fanout.py``; quotas in ``core/quotas.py``.)

Subjects whose idle deadline passed since the schedule's watermark are read through
``subjects_activity``, with their marks (what the schedule's last fire for them answered);
deferred and pending subjects through ``subject_marks_due``. Each evaluation handles a bounded
batch: its cost follows the subjects due, not the subjects stored. The runs of an evaluation
are written in one batch (one at a time under a quota), its marks in one statement per
`MARK_ROWS` subjects.

Lock order, everywhere: a schedule row before its subject marks (the scheduler holds the
schedule while it evaluates; activity locks the schedule in its wake-up before it writes a
mark), so activity and firing cannot deadlock on PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from agentcron.models import Run, Schedule, iso
from agentcron.rules.idle import (
    IdleWatermark,
    Mark,
    cooldown_s,
    earliest,
    plan_idle,
    plan_messages,
)
from agentcron.store import _codec
from agentcron.store.base import Planner
from agentcron.store.core.fanout import subject_glob
from agentcron.store.core.quotas import insert_within_quota
from agentcron.store.db import Row, Tx

__all__ = ["fire_subject_schedule", "forget_schedule", "resume"]

IDLE_BATCH = 1000
"""Subjects one idle evaluation handles; more are left to the next (at once)."""
MARKS_BATCH = 1000
"""Deferred or pending subject marks one evaluation handles."""
NEXT_SCAN = 256
"""Subjects read to find the next idle deadline of a filtered schedule (bounded: beyond,
the schedule wakes early and looks again)."""
MARK_ROWS = 1000
"""Marks written by one statement (5,000 parameters at most)."""

TRIGGER = "SELECT trigger_kind, subject_glob, wait_s, every_n, state FROM schedules WHERE id = ?"
MOVE = (
    "UPDATE schedules SET next_run_at = ?, last_run_at = coalesce(?, last_run_at), "
    "state = coalesce(?, state) WHERE id = ?"
)
# Subjects idle since the watermark ({after}: past it; {glob}: the filter), with their marks.
IDLE_SUBJECTS = (
    "SELECT s.subject, s.last_activity_at, m.subject, m.activity_at, m.fired_at "
    "FROM subjects s LEFT JOIN subject_marks m ON m.schedule_id = ? AND m.subject = s.subject "
    "WHERE s.namespace = ? AND s.last_activity_at <= ?{after}{glob} "
    "ORDER BY s.last_activity_at, s.subject LIMIT ?"
)
PAST_MARK = " AND s.last_activity_at >= ? AND (s.last_activity_at > ? OR s.subject > ?)"
PAST_ACTIVITY = " AND s.last_activity_at > ?"
DUE_MARKS = (
    "SELECT m.subject, s.last_activity_at, m.subject, m.activity_at, m.fired_at "
    "FROM subject_marks m LEFT JOIN subjects s ON s.namespace = ? AND s.subject = m.subject "
    "WHERE m.schedule_id = ? AND m.due_at IS NOT NULL AND m.due_at <= ? "
    "ORDER BY m.due_at LIMIT ?"
)
DUE_MESSAGES = (
    "SELECT m.subject, m.count, m.due_at, s.message_count FROM subject_marks m "
    "LEFT JOIN subjects s ON s.namespace = ? AND s.subject = m.subject "
    "WHERE m.schedule_id = ? AND m.due_at IS NOT NULL AND m.due_at <= ? "
    "ORDER BY m.due_at LIMIT ?"
)
NEXT_MARK = "SELECT min(due_at) FROM subject_marks WHERE schedule_id = ? AND due_at IS NOT NULL"
# The earliest activity after the watermark and the earliest due mark (index lookups).
NEXT_IDLE = (
    "SELECT (SELECT min(last_activity_at) FROM subjects WHERE namespace = ? "
    f"AND last_activity_at > ?), NULL, 0, ({NEXT_MARK})"
)
# The same for a filtered schedule: a bounded scan of the subjects ahead ({glob}).
NEXT_IDLE_MATCHING = (
    "SELECT min(CASE WHEN {glob} THEN last_activity_at END), max(last_activity_at), "
    f"count(*), ({NEXT_MARK}) FROM (SELECT subject, last_activity_at FROM subjects "
    "WHERE namespace = ? AND last_activity_at > ? ORDER BY last_activity_at LIMIT ?) AS ahead"
)
# Marks, many per statement (an upsert: a mark not there yet is made).
IDLE_MARKS = (
    "INSERT INTO subject_marks (schedule_id, subject, activity_at, fired_at, due_at) "
    "VALUES {values} ON CONFLICT (schedule_id, subject) DO UPDATE SET "
    "activity_at = coalesce(excluded.activity_at, subject_marks.activity_at), "
    "fired_at = coalesce(excluded.fired_at, subject_marks.fired_at), due_at = excluded.due_at"
)
MESSAGE_MARKS = (
    "INSERT INTO subject_marks (schedule_id, subject, count, fired_at) VALUES {values} "
    "ON CONFLICT (schedule_id, subject) DO UPDATE SET "
    "count = {greatest}(subject_marks.count, excluded.count), due_at = NULL, "
    "fired_at = excluded.fired_at"
)
RESUMABLE = (
    "SELECT namespace, trigger_kind, subject_glob, wait_s, state FROM schedules "
    "WHERE id = ? AND enabled AND next_run_at IS NULL AND trigger_kind IN ('idle', 'messages')"
)
SET_NEXT = "UPDATE schedules SET next_run_at = ? WHERE id = ?"
FORGET = "DELETE FROM subject_marks WHERE schedule_id = ?"

Due = dict[str, tuple[float | None, Mark | None]]  # subject -> (last activity, its mark)


# -- firing ------------------------------------------------------------------------------------
async def fire_subject_schedule(
    tx: Tx, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    """Fire a due idle / messages schedule for its due subjects; move its next_run_at."""
    row = await tx.one(TRIGGER, (schedule.id,))
    assert row is not None
    kind, glob, wait_s, every_n, state = row
    if kind == "idle" and wait_s:
        return await _fire_idle(tx, schedule, planner, now_s, (glob, float(wait_s), state))
    if kind == "messages" and every_n:
        return await _fire_messages(tx, schedule, planner, now_s, int(every_n))
    await tx.execute(MOVE, (None, None, None, schedule.id))
    return []


async def _fire_idle(
    tx: Tx,
    schedule: Schedule,
    planner: Planner,
    now_s: float,
    columns: tuple[str | None, float, str | None],
) -> list[Run]:
    glob, idle_s, state = columns
    mark = IdleWatermark.load(_codec.loads(state) if state else None)
    due = await _idle_subjects(tx, schedule, glob, mark, now_s - idle_s)
    deferred = await _due(tx, DUE_MARKS, (schedule.namespace, schedule.id, now_s, MARKS_BATCH))
    subjects: Due = dict(deferred) | dict(due)
    plan = plan_idle(now_s, idle_s, cooldown_s(schedule.trigger),
                     ((s, activity, m) for s, (activity, m) in subjects.items()))  # fmt: skip
    runs = [
        planner.for_subject(schedule, subject, _dt(slot),
                            {"kind": "idle", "idle_since": iso(_codec.dt(activity))})
        for subject, slot, activity in plan.fire
    ]  # fmt: skip
    fired = await insert_within_quota(tx, schedule, runs, now_s)
    await _write_marks(
        tx,
        IDLE_MARKS,
        [(schedule.id, s, activity, now_s, None) for s, _, activity in plan.fire]
        + [(schedule.id, s, None, None, when) for s, when in plan.defer.items()]
        + [(schedule.id, s, None, None, None) for s in plan.clear],
    )
    mark.advance([(s, a) for s, (a, _) in due], IDLE_BATCH, now_s - idle_s)
    if len(due) == IDLE_BATCH or len(deferred) == MARKS_BATCH:
        nxt: float | None = now_s
    else:
        nxt = await _next_idle(tx, schedule.id, schedule.namespace, glob, idle_s, mark.activity)
    await tx.execute(MOVE, (nxt, now_s if fired else None, _codec.dumps(mark.dump()), schedule.id))
    return fired


async def _idle_subjects(
    tx: Tx, schedule: Schedule, glob: str | None, mark: IdleWatermark, upto: float
) -> list[tuple[str, tuple[Any, Mark | None]]]:
    """Subjects whose last activity lies past the watermark and at or before ``upto``."""
    params: list[Any] = [schedule.id, schedule.namespace, upto]
    after = ""
    if mark.activity is not None and mark.after is not None:
        after = PAST_MARK
        params += [mark.activity, mark.activity, mark.after]
    elif mark.activity is not None:
        after = PAST_ACTIVITY
        params.append(mark.activity)
    match = ""
    if glob is not None:
        sql, pattern = subject_glob(tx, glob, "s.subject")
        match = f" AND {sql}"
        params.append(pattern)
    sql = IDLE_SUBJECTS.format(after=after, glob=match)
    return await _due(tx, sql, (*params, IDLE_BATCH))


async def _due(
    tx: Tx, sql: str, params: Sequence[Any]
) -> list[tuple[str, tuple[Any, Mark | None]]]:
    """Rows of (subject, last activity, mark's subject, answered, fired) as `Due` items."""
    rows = await tx.all(sql, params)
    return [(r[0], (r[1], (r[3], r[4]) if r[2] is not None else None)) for r in rows]


async def _write_marks(tx: Tx, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """Upsert ``rows`` of marks with ``sql`` (``{values}``: the rows' placeholders)."""
    for start in range(0, len(rows), MARK_ROWS):
        chunk = rows[start : start + MARK_ROWS]
        values = ", ".join(["(" + ", ".join("?" * len(chunk[0])) + ")"] * len(chunk))
        text = sql.format(values=values, greatest=tx.dialect.greatest)
        await tx.execute(text, [value for row in chunk for value in row])


async def _next_idle(
    tx: Tx, schedule_id: str, namespace: str, glob: str | None, idle_s: float, watermark: Any
) -> float | None:
    """The earliest deadline ahead: of a subject active after the watermark, or of a
    deferred mark. With a filter, a bounded scan of the subjects ahead that may answer early,
    never late."""
    if glob is None:
        row = await tx.one(NEXT_IDLE, (namespace, watermark, schedule_id))
    else:
        match, pattern = subject_glob(tx, glob)
        row = await tx.one(
            NEXT_IDLE_MATCHING.format(glob=match),
            (pattern, schedule_id, namespace, watermark, NEXT_SCAN),
        )
    assert row is not None
    first, last, seen, due_at = row
    if first is None and seen == NEXT_SCAN:  # none of these matches: look again after them
        first = last
    return earliest(float(first) + idle_s if first is not None else None, due_at)


async def _fire_messages(
    tx: Tx, schedule: Schedule, planner: Planner, now_s: float, every_n: int
) -> list[Run]:
    rows = await tx.all(DUE_MESSAGES, (schedule.namespace, schedule.id, now_s, MARKS_BATCH))
    plan = plan_messages(every_n, ((r[0], r[1], r[2], r[3]) for r in rows))
    runs = [
        planner.for_subject(schedule, subject, _dt(due_at),
                            {"kind": "messages", "count": reached, "key": f"m{reached}"})
        for subject, due_at, reached in plan.fire
    ]  # fmt: skip
    fired = await insert_within_quota(tx, schedule, runs, now_s)
    answered = [(schedule.id, s, count, now_s) for s, count in plan.answered.items()]
    await _write_marks(tx, MESSAGE_MARKS, answered)
    nxt = now_s if len(rows) == MARKS_BATCH else await _next_mark(tx, schedule.id)
    await tx.execute(MOVE, (nxt, now_s if fired else None, None, schedule.id))
    return fired


async def _next_mark(tx: Tx, schedule_id: str) -> float | None:
    row: Row | None = await tx.one(NEXT_MARK, (schedule_id,))
    return float(row[0]) if row and row[0] is not None else None


# -- saving and deleting -----------------------------------------------------------------------
async def resume(tx: Tx, schedule_id: str) -> None:
    """An enabled idle / messages schedule saved or resumed without a next time gets the
    earliest one its subjects ask for (from its watermark and marks; no clock needed), so
    that subjects which went idle meanwhile are not left waiting for the next activity."""
    row = await tx.one(RESUMABLE, (schedule_id,))
    if row is None:
        return
    namespace, kind, glob, wait_s, state = row
    mark = IdleWatermark.load(_codec.loads(state) if state else None)
    if kind == "messages":
        nxt = await _next_mark(tx, schedule_id)
    elif mark.activity is None or not wait_s:
        return
    elif mark.after is not None:  # a batch was left: due at once
        nxt = mark.activity + wait_s
    else:
        nxt = await _next_idle(tx, schedule_id, namespace, glob, wait_s, mark.activity)
    await tx.execute(SET_NEXT, (nxt, schedule_id))


async def forget_schedule(tx: Tx, schedule_id: str) -> None:
    """Drop the per-subject state of a deleted schedule."""
    await tx.execute(FORGET, (schedule_id,))


def _dt(value: float) -> datetime:
    result = _codec.dt(value)
    assert result is not None
    return result
