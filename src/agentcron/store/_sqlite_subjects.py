"""Per-subject firing on SQLite: idle and messages triggers, ``for_each_subject`` fan-out,
quotas. (Contract: `agentcron.store.base.Store.fire_due`; activity is in ``_sqlite_activity``.)

Subjects whose idle deadline passed since the schedule's watermark are read through
``subjects_activity``; deferred and pending subjects through ``subject_marks_due``; quotas are
counted through ``runs_quota``. Each evaluation handles a bounded batch: its cost follows the
subjects due, not the subjects stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from agentcron.models import NewRun, Run, RunStatus, Schedule, iso
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS, RUN_INSERT_COLUMNS, RUN_INSERT_MARKS
from agentcron.store._subject_plans import (
    IDLE_BATCH,
    MARKS_BATCH,
    NEW_RUNS_BY_STATUS,
    NEXT_SCAN,
    IdleWatermark,
    SlotRuns,
    cooldown_s,
    fired_before,
    skipped,
)
from agentcron.store.base import FAN_OUT_RETURNED, FirePlan, Planner
from agentcron.subjects import (
    crossed_multiples,
    idle_action,
    quota_reason,
    quota_window,
)

_INSERT = f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) VALUES ({RUN_INSERT_MARKS}) "
_INSERT_RUN = _INSERT + f"ON CONFLICT DO NOTHING RETURNING {RUN_COLUMNS}"
_INSERT_MANY = _INSERT + "ON CONFLICT DO NOTHING"


# -- firing ------------------------------------------------------------------------------------
def fire_subject_schedule(
    conn: sqlite3.Connection, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    """Fire a due idle / messages schedule for its due subjects; move its next_run_at."""
    row = conn.execute(
        "SELECT trigger_kind, subject_glob, wait_s, every_n, state FROM schedules WHERE id = ?",
        (schedule.id,),
    ).fetchone()
    kind, glob, wait_s, every_n, state = row
    if kind == "idle" and wait_s:
        return _fire_idle(conn, schedule, planner, now_s, (glob, float(wait_s), state))
    if kind == "messages" and every_n:
        return _fire_messages(conn, schedule, planner, now_s, int(every_n))
    _move(conn, schedule.id, None, None)
    return []


def _fire_idle(
    conn: sqlite3.Connection,
    schedule: Schedule,
    planner: Planner,
    now_s: float,
    columns: tuple[str | None, float, str | None],
) -> list[Run]:
    glob, idle_s, state = columns
    mark = IdleWatermark.load(state)
    due = _idle_subjects(conn, schedule.namespace, glob, mark, now_s - idle_s)
    deferred = _due_marks(conn, schedule, now_s)
    subjects = dict(deferred) | dict(due)
    marks = _marks_of(conn, schedule.id, list(subjects))
    cooldown, fired = cooldown_s(schedule), []
    for subject, activity in subjects.items():
        answered, last_fire = marks.get(subject, (None, None))
        action, when = idle_action(now_s, idle_s, cooldown, activity, answered, last_fire)
        if action == "fire" and when is not None and activity is not None:
            info = {"kind": "idle", "idle_since": iso(_codec.dt(activity))}
            run = planner.for_subject(schedule, subject, _dt(when), info)
            fired += _insert(conn, with_quota(conn, schedule, run), now_s)
            conn.execute(
                "INSERT INTO subject_marks (schedule_id, subject, activity_at, fired_at) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (schedule_id, subject) DO UPDATE SET "
                "activity_at = excluded.activity_at, fired_at = excluded.fired_at, due_at = NULL",
                (schedule.id, subject, activity, now_s),
            )
        elif action == "defer":
            conn.execute(
                "INSERT INTO subject_marks (schedule_id, subject, due_at) VALUES (?, ?, ?) "
                "ON CONFLICT (schedule_id, subject) DO UPDATE SET due_at = excluded.due_at",
                (schedule.id, subject, when),
            )
        elif subject in marks:
            conn.execute(
                "UPDATE subject_marks SET due_at = NULL WHERE schedule_id = ? AND subject = ?",
                (schedule.id, subject),
            )
    more = len(due) == IDLE_BATCH or len(deferred) == MARKS_BATCH
    if len(due) == IDLE_BATCH:
        mark.activity, mark.after = due[-1][1], due[-1][0]
    else:
        mark.activity, mark.after = now_s - idle_s, None
    nxt = now_s if more else _next_idle(conn, schedule.id, schedule.namespace, glob, idle_s,
                                        mark.activity)  # fmt: skip
    _move(conn, schedule.id, nxt, now_s if fired else None, mark.dump())
    return fired


def _idle_subjects(
    conn: sqlite3.Connection, namespace: str, glob: str | None, mark: IdleWatermark, upto: float
) -> list[tuple[str, float]]:
    """Subjects whose last activity lies past the watermark and at or before ``upto``."""
    where, params = ["namespace = ?", "last_activity_at <= ?"], [namespace, upto]
    if mark.activity is not None and mark.after is not None:
        where.append("last_activity_at >= ? AND (last_activity_at > ? OR subject > ?)")
        params += [mark.activity, mark.activity, mark.after]
    elif mark.activity is not None:
        where.append("last_activity_at > ?")
        params.append(mark.activity)
    if glob is not None:
        where.append("subject GLOB ?")
        params.append(glob)
    rows = conn.execute(
        f"SELECT subject, last_activity_at FROM subjects WHERE {' AND '.join(where)} "
        "ORDER BY last_activity_at, subject LIMIT ?",
        (*params, IDLE_BATCH),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _due_marks(
    conn: sqlite3.Connection, schedule: Schedule, now_s: float
) -> list[tuple[str, float | None]]:
    """Subjects whose mark is due (a fire deferred by the cooldown), with their activity."""
    rows = conn.execute(
        "SELECT m.subject, s.last_activity_at FROM subject_marks m LEFT JOIN subjects s "
        "ON s.namespace = ? AND s.subject = m.subject "
        "WHERE m.schedule_id = ? AND m.due_at IS NOT NULL AND m.due_at <= ? "
        "ORDER BY m.due_at LIMIT ?",
        (schedule.namespace, schedule.id, now_s, MARKS_BATCH),
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _marks_of(
    conn: sqlite3.Connection, schedule_id: str, subjects: Sequence[str]
) -> dict[str, tuple[float | None, float | None]]:
    out: dict[str, tuple[float | None, float | None]] = {}
    for start in range(0, len(subjects), 500):
        chunk = subjects[start : start + 500]
        rows = conn.execute(
            "SELECT subject, activity_at, fired_at FROM subject_marks WHERE schedule_id = ? "
            f"AND subject IN ({', '.join('?' * len(chunk))})",
            (schedule_id, *chunk),
        ).fetchall()
        out.update({r[0]: (r[1], r[2]) for r in rows})
    return out


def _next_idle(
    conn: sqlite3.Connection,
    schedule_id: str,
    namespace: str,
    glob: str | None,
    idle_s: float,
    watermark: float,
) -> float | None:
    """The earliest deadline ahead: of a subject active after the watermark, or of a
    deferred mark."""
    due = _next_mark(conn, schedule_id)
    ahead = _next_active(conn, namespace, glob, watermark)
    times = [t for t in (ahead + idle_s if ahead is not None else None, due) if t is not None]
    return min(times) if times else None


def _next_active(
    conn: sqlite3.Connection, namespace: str, glob: str | None, after: float
) -> float | None:
    """The earliest last activity after ``after`` of a subject matching ``glob`` (an index
    lookup; with a filter, a bounded scan that may answer early, never late)."""
    if glob is None:
        (first,) = conn.execute(
            "SELECT min(last_activity_at) FROM subjects WHERE namespace = ? "
            "AND last_activity_at > ?",
            (namespace, after),
        ).fetchone()
        return float(first) if first is not None else None
    lows = conn.execute(
        "SELECT min(CASE WHEN subject GLOB ?1 THEN last_activity_at END), "
        "max(last_activity_at), count(*) FROM (SELECT subject, last_activity_at FROM subjects "
        "WHERE namespace = ?2 AND last_activity_at > ?3 ORDER BY last_activity_at LIMIT ?4)",
        (glob, namespace, after, NEXT_SCAN),
    ).fetchone()
    first, last, seen = lows
    if first is None and seen == NEXT_SCAN:  # none of these matches: look again after them
        first = last
    return float(first) if first is not None else None


def _fire_messages(
    conn: sqlite3.Connection, schedule: Schedule, planner: Planner, now_s: float, every_n: int
) -> list[Run]:
    rows = conn.execute(
        "SELECT m.subject, m.count, m.due_at, s.message_count FROM subject_marks m "
        "LEFT JOIN subjects s ON s.namespace = ? AND s.subject = m.subject "
        "WHERE m.schedule_id = ? AND m.due_at IS NOT NULL AND m.due_at <= ? "
        "ORDER BY m.due_at LIMIT ?",
        (schedule.namespace, schedule.id, now_s, MARKS_BATCH),
    ).fetchall()
    fired: list[Run] = []
    for subject, answered, due_at, count in rows:
        counts = crossed_multiples(int(answered), int(count or 0), every_n)
        for reached in counts:
            info = {"kind": "messages", "count": reached, "key": f"m{reached}"}
            run = planner.for_subject(schedule, subject, _dt(due_at), info)
            fired += _insert(conn, with_quota(conn, schedule, run), now_s)
        top = counts[-1] if counts else int(answered)
        conn.execute(
            "UPDATE subject_marks SET count = max(count, ?), due_at = NULL, fired_at = ? "
            "WHERE schedule_id = ? AND subject = ?",
            (top, now_s, schedule.id, subject),
        )
    nxt = now_s if len(rows) == MARKS_BATCH else _next_mark(conn, schedule.id)
    _move(conn, schedule.id, nxt, now_s if fired else None)
    return fired


def _next_mark(conn: sqlite3.Connection, schedule_id: str) -> float | None:
    (due,) = conn.execute(
        "SELECT min(due_at) FROM subject_marks WHERE schedule_id = ? AND due_at IS NOT NULL",
        (schedule_id,),
    ).fetchone()
    return float(due) if due is not None else None


def resume(conn: sqlite3.Connection, schedule_id: str) -> None:
    """An enabled idle / messages schedule saved or resumed without a next time gets the
    earliest one its subjects ask for (from its watermark and marks; no clock needed), so
    that subjects which went idle meanwhile are not left waiting for the next activity."""
    row = conn.execute(
        "SELECT namespace, trigger_kind, subject_glob, wait_s, state FROM schedules "
        "WHERE id = ? AND enabled = 1 AND next_run_at IS NULL "
        "AND trigger_kind IN ('idle', 'messages')",
        (schedule_id,),
    ).fetchone()
    if row is None:
        return
    namespace, kind, glob, wait_s, state = row
    mark = IdleWatermark.load(state)
    if kind == "messages":
        nxt = _next_mark(conn, schedule_id)
    elif mark.activity is None or not wait_s:
        return
    elif mark.after is not None:  # a batch was left: due at once
        nxt = mark.activity + wait_s
    else:
        nxt = _next_idle(conn, schedule_id, namespace, glob, wait_s, mark.activity)
    conn.execute("UPDATE schedules SET next_run_at = ? WHERE id = ?", (nxt, schedule_id))


def _move(
    conn: sqlite3.Connection,
    schedule_id: str,
    nxt: float | None,
    fired: float | None,
    state: str | None = None,
) -> None:
    conn.execute(
        "UPDATE schedules SET next_run_at = ?, last_run_at = coalesce(?, last_run_at), "
        "state = coalesce(?, state) WHERE id = ?",
        (nxt, fired, state, schedule_id),
    )


# -- fan-out -----------------------------------------------------------------------------------
def fan_out(
    conn: sqlite3.Connection, schedule: Schedule, plan: FirePlan, planner: Planner, now_s: float
) -> list[Run]:
    """Replace each queued slot run of ``plan`` by one run per matching subject; skipped slot
    runs are inserted as planned. (The caller moves the schedule to the plan's next time.)"""
    fired: list[Run] = []
    for slot_run in plan.runs:
        if fired_before(schedule, slot_run):
            continue
        if slot_run.status is RunStatus.QUEUED and slot_run.scheduled_for is not None:
            fired += _fan_out_slot(conn, schedule, SlotRuns(schedule, planner, slot_run, now_s))
        else:
            fired += _insert(conn, slot_run, now_s)
    return fired


def fan_out_now(
    conn: sqlite3.Connection, schedule: Schedule, slot_run: NewRun, planner: Planner,
    now_s: float,
) -> tuple[list[Run], dict[str, int]]:  # fmt: skip
    """Fan ``slot_run`` (a manual trigger's) out as `fan_out` does a fired slot; the runs
    returned (the first `FAN_OUT_RETURNED`) and how many were inserted, by status."""
    (before,) = conn.execute("SELECT coalesce(max(id), 0) FROM runs").fetchone()
    fired = _fan_out_slot(conn, schedule, SlotRuns(schedule, planner, slot_run, now_s))
    counts = conn.execute(NEW_RUNS_BY_STATUS.format(p="?"), (schedule.id, before)).fetchall()
    return fired, {str(status): int(n) for status, n in counts}


def _fan_out_slot(conn: sqlite3.Connection, schedule: Schedule, runs: SlotRuns) -> list[Run]:
    assert schedule.for_each_subject is not None
    glob, batch_size = schedule.for_each_subject.subjects, schedule.for_each_subject.batch_size
    sql = "SELECT subject FROM subjects WHERE namespace = ? AND subject > ? "
    sql += "AND subject GLOB ? " if glob else ""
    sql += "ORDER BY subject LIMIT ?"
    fired: list[Run] = []
    after = ""
    while True:
        params = (schedule.namespace, after, glob, batch_size) if glob else (
            schedule.namespace, after, batch_size)  # fmt: skip
        subjects = [r[0] for r in conn.execute(sql, params).fetchall()]
        if not subjects:
            return fired
        over = _over_quota(conn, schedule, subjects, runs.slot)
        rows = runs.batch(subjects, over)
        wanted = max(0, FAN_OUT_RETURNED - len(fired))  # read back only the first ones
        for row in rows[:wanted]:
            found = conn.execute(_INSERT_RUN, row).fetchone()
            if found is not None:
                fired.append(_codec.run_from_row(found))
        conn.executemany(_INSERT_MANY, rows[wanted:])
        if len(subjects) < batch_size:
            return fired
        after = subjects[-1]


# -- quotas ------------------------------------------------------------------------------------
def quota_exceeded(
    conn: sqlite3.Connection, schedule: Schedule, subject: str | None, slot: datetime
) -> str | None:
    """Why a run of ``schedule`` for ``subject`` at ``slot`` is over the schedule's quota, or
    None: its runs (not skipped) scheduled in the quota's period of ``slot`` reached the count."""
    if schedule.limit is None or subject is None:
        return None
    start, end = quota_window(schedule.limit, schedule.timezone, slot)
    (count,) = conn.execute(
        "SELECT count(*) FROM runs WHERE schedule_id = ? AND subject = ? "
        "AND scheduled_for >= ? AND scheduled_for < ? AND status <> 'skipped'",
        (schedule.id, subject, start.timestamp(), end.timestamp()),
    ).fetchone()
    return quota_reason(schedule.limit, subject) if count >= schedule.limit.count else None


def with_quota(conn: sqlite3.Connection, schedule: Schedule, run: NewRun) -> NewRun:
    """``run``, or ``run`` skipped with the reason when it is over the schedule's quota."""
    if schedule.limit is None or run.scheduled_for is None:
        return run
    reason = quota_exceeded(conn, schedule, run.subject, run.scheduled_for)
    return skipped(run, reason) if reason else run


def _over_quota(
    conn: sqlite3.Connection, schedule: Schedule, subjects: Sequence[str], slot: datetime
) -> dict[str, str]:
    limit = schedule.limit
    if limit is None:
        return {}
    start, end = quota_window(limit, schedule.timezone, slot)
    over: dict[str, str] = {}
    for first in range(0, len(subjects), 500):
        chunk = subjects[first : first + 500]
        rows = conn.execute(
            "SELECT subject, count(*) FROM runs WHERE schedule_id = ? "
            f"AND subject IN ({', '.join('?' * len(chunk))}) AND scheduled_for >= ? "
            "AND scheduled_for < ? AND status <> 'skipped' GROUP BY subject",
            (schedule.id, *chunk, start.timestamp(), end.timestamp()),
        ).fetchall()
        over.update({s: quota_reason(limit, s) for s, n in rows if n >= limit.count})
    return over


# -- helpers -----------------------------------------------------------------------------------
def _insert(conn: sqlite3.Connection, run: NewRun, now_s: float) -> list[Run]:
    row = conn.execute(_INSERT_RUN, _codec.run_insert_params(run, now_s)).fetchone()
    return [_codec.run_from_row(row)] if row is not None else []


def forget_schedule(conn: sqlite3.Connection, schedule_id: str) -> None:
    """Drop the per-subject state of a deleted schedule."""
    conn.execute("DELETE FROM subject_marks WHERE schedule_id = ?", (schedule_id,))


def _dt(value: float) -> datetime:
    result = _codec.dt(value)
    assert result is not None
    return result
