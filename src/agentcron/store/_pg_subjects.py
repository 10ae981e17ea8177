"""Per-subject firing on PostgreSQL: idle and messages triggers, ``for_each_subject``
fan-out, quotas. (Contract: `agentcron.store.base.Store.fire_due`; activity is in
``_pg_activity``.)

Same design as ``_sqlite_subjects``, with round trips in mind: the runs and marks of one
evaluation are written in batches. Subject filters are globs, matched with LIKE here
(`agentcron.subjects.glob_to_like`; bracket classes match literally).

Lock order, everywhere: a schedule row before its subject marks (the scheduler holds the
schedule while it evaluates; activity locks the schedule in its wake-up before it writes a
mark), so activity and firing cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.models import NewRun, Run, RunStatus, Schedule, iso
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS, RUN_INSERT_COLUMNS
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
    glob_to_like,
    idle_action,
    quota_reason,
    quota_window,
)

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.AsyncConnection[Any]

_VALUES = (
    "%s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s::jsonb, %s, %s, %s, %s, %s, %s::jsonb, "
    "%s"
)
_INSERT = f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) VALUES ({_VALUES}) ON CONFLICT DO NOTHING"
_INSERT_RUN = _INSERT + f" RETURNING {RUN_COLUMNS}"


# -- firing ------------------------------------------------------------------------------------
async def fire_subject_schedule(
    conn: Conn, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    """Fire a due idle / messages schedule for its due subjects; move its next_run_at."""
    row = await _one(
        conn,
        "SELECT trigger_kind, subject_glob, wait_s, every_n, state FROM schedules WHERE id = %s",
        (schedule.id,),
    )
    assert row is not None
    kind, glob, wait_s, every_n, state = row
    if kind == "idle" and wait_s:
        return await _fire_idle(conn, schedule, planner, now_s, (glob, float(wait_s), state))
    if kind == "messages" and every_n:
        return await _fire_messages(conn, schedule, planner, now_s, int(every_n))
    await _move(conn, schedule.id, None, None)
    return []


async def _fire_idle(
    conn: Conn,
    schedule: Schedule,
    planner: Planner,
    now_s: float,
    columns: tuple[str | None, float, str | None],
) -> list[Run]:
    glob, idle_s, state = columns
    mark = IdleWatermark.load(state)
    due = await _idle_subjects(conn, schedule.namespace, glob, mark, now_s - idle_s)
    deferred = await _due_marks(conn, schedule, now_s)
    subjects = dict(deferred) | dict(due)
    marks = await _marks_of(conn, schedule.id, list(subjects))
    cooldown = cooldown_s(schedule)
    runs: list[NewRun] = []
    answered: dict[str, float] = {}
    defer: dict[str, float] = {}
    for subject, activity in subjects.items():
        done, last_fire = marks.get(subject, (None, None))
        action, when = idle_action(now_s, idle_s, cooldown, activity, done, last_fire)
        if action == "fire" and when is not None and activity is not None:
            info = {"kind": "idle", "idle_since": iso(_codec.dt(activity))}
            runs.append(planner.for_subject(schedule, subject, _dt(when), info))
            answered[subject] = activity
        elif action == "defer" and when is not None:
            defer[subject] = when
    fired = await _insert_checked(conn, schedule, runs, now_s)
    await _write_idle_marks(conn, schedule.id, answered, defer, now_s)
    clear = [s for s in subjects if s in marks and s not in answered and s not in defer]
    if clear:
        await conn.execute(
            "UPDATE subject_marks SET due_at = NULL WHERE schedule_id = %s AND subject = ANY(%s)",
            (schedule.id, clear),
        )
    more = len(due) == IDLE_BATCH or len(deferred) == MARKS_BATCH
    if len(due) == IDLE_BATCH:
        mark.activity, mark.after = due[-1][1], due[-1][0]
    else:
        mark.activity, mark.after = now_s - idle_s, None
    nxt = now_s if more else await _next_idle(conn, schedule.id, schedule.namespace, glob,
                                              idle_s, mark.activity)  # fmt: skip
    await _move(conn, schedule.id, nxt, now_s if fired else None, mark.dump())
    return fired


async def _idle_subjects(
    conn: Conn, namespace: str, glob: str | None, mark: IdleWatermark, upto: float
) -> list[tuple[str, float]]:
    """Subjects whose last activity lies past the watermark and at or before ``upto``."""
    where, params = ["namespace = %s", "last_activity_at <= %s"], [namespace, upto]
    if mark.activity is not None and mark.after is not None:
        where.append("last_activity_at >= %s AND (last_activity_at > %s OR subject > %s)")
        params += [mark.activity, mark.activity, mark.after]
    elif mark.activity is not None:
        where.append("last_activity_at > %s")
        params.append(mark.activity)
    if glob is not None:
        where.append("subject LIKE %s")
        params.append(glob_to_like(glob))
    rows = await _all(
        conn,
        f"SELECT subject, last_activity_at FROM subjects WHERE {' AND '.join(where)} "
        "ORDER BY last_activity_at, subject LIMIT %s",
        (*params, IDLE_BATCH),
    )
    return [(r[0], r[1]) for r in rows]


async def _due_marks(conn: Conn, schedule: Schedule, now_s: float) -> list[tuple[str, Any]]:
    """Subjects whose mark is due (a fire deferred by the cooldown), with their activity."""
    rows = await _all(
        conn,
        "SELECT m.subject, s.last_activity_at FROM subject_marks m LEFT JOIN subjects s "
        "ON s.namespace = %s AND s.subject = m.subject "
        "WHERE m.schedule_id = %s AND m.due_at IS NOT NULL AND m.due_at <= %s "
        "ORDER BY m.due_at LIMIT %s",
        (schedule.namespace, schedule.id, now_s, MARKS_BATCH),
    )
    return [(r[0], r[1]) for r in rows]


async def _marks_of(
    conn: Conn, schedule_id: str, subjects: Sequence[str]
) -> dict[str, tuple[float | None, float | None]]:
    if not subjects:
        return {}
    rows = await _all(
        conn,
        "SELECT subject, activity_at, fired_at FROM subject_marks "
        "WHERE schedule_id = %s AND subject = ANY(%s)",
        (schedule_id, list(subjects)),
    )
    return {r[0]: (r[1], r[2]) for r in rows}


async def _write_idle_marks(
    conn: Conn, schedule_id: str, answered: dict[str, float], defer: dict[str, float], now_s: float
) -> None:
    if answered:
        await conn.execute(
            "INSERT INTO subject_marks (schedule_id, subject, activity_at, fired_at) "
            "SELECT %s, v.s, v.a, %s FROM unnest(%s::text[], %s::float8[]) AS v(s, a) "
            "ON CONFLICT (schedule_id, subject) DO UPDATE SET activity_at = excluded.activity_at, "
            "fired_at = excluded.fired_at, due_at = NULL",
            (schedule_id, now_s, list(answered), list(answered.values())),
        )
    if defer:
        await conn.execute(
            "INSERT INTO subject_marks (schedule_id, subject, due_at) "
            "SELECT %s, v.s, v.d FROM unnest(%s::text[], %s::float8[]) AS v(s, d) "
            "ON CONFLICT (schedule_id, subject) DO UPDATE SET due_at = excluded.due_at",
            (schedule_id, list(defer), list(defer.values())),
        )


async def _next_idle(
    conn: Conn, schedule_id: str, namespace: str, glob: str | None, idle_s: float, watermark: float
) -> float | None:
    """The earliest deadline ahead: of a subject active after the watermark, or of a deferred
    mark. With a filter, a bounded scan of the subjects ahead that may answer early, never
    late."""
    due = (
        "(SELECT min(due_at) FROM subject_marks WHERE schedule_id = %(id)s AND due_at IS NOT NULL)"
    )
    params = {"id": schedule_id, "ns": namespace, "after": watermark}
    if glob is None:
        sql = (
            f"SELECT min(last_activity_at), NULL, 0, {due} FROM subjects "
            "WHERE namespace = %(ns)s AND last_activity_at > %(after)s"
        )
    else:
        sql = (
            "SELECT min(CASE WHEN subject LIKE %(like)s THEN last_activity_at END), "
            f"max(last_activity_at), count(*), {due} FROM (SELECT subject, last_activity_at "
            "FROM subjects WHERE namespace = %(ns)s AND last_activity_at > %(after)s "
            "ORDER BY last_activity_at LIMIT %(n)s) AS ahead"
        )
        params |= {"like": glob_to_like(glob), "n": NEXT_SCAN}
    row = await _one(conn, sql, params)
    assert row is not None
    first, last, seen, due_at = row
    if first is None and seen == NEXT_SCAN:  # none of these matches: look again after them
        first = last
    times = [t for t in (first + idle_s if first is not None else None, due_at) if t is not None]
    return min(times) if times else None


async def _fire_messages(
    conn: Conn, schedule: Schedule, planner: Planner, now_s: float, every_n: int
) -> list[Run]:
    rows = await _all(
        conn,
        "SELECT m.subject, m.count, m.due_at, s.message_count FROM subject_marks m "
        "LEFT JOIN subjects s ON s.namespace = %s AND s.subject = m.subject "
        "WHERE m.schedule_id = %s AND m.due_at IS NOT NULL AND m.due_at <= %s "
        "ORDER BY m.due_at LIMIT %s",
        (schedule.namespace, schedule.id, now_s, MARKS_BATCH),
    )
    runs: list[NewRun] = []
    tops: dict[str, int] = {}
    for subject, answered, due_at, count in rows:
        counts = crossed_multiples(int(answered), int(count or 0), every_n)
        for reached in counts:
            info = {"kind": "messages", "count": reached, "key": f"m{reached}"}
            runs.append(planner.for_subject(schedule, subject, _dt(due_at), info))
        tops[subject] = counts[-1] if counts else int(answered)
    fired = await _insert_checked(conn, schedule, runs, now_s)
    if tops:
        await conn.execute(
            "UPDATE subject_marks AS m SET count = GREATEST(m.count, v.top), due_at = NULL, "
            "fired_at = %s FROM unnest(%s::text[], %s::bigint[]) AS v(s, top) "
            "WHERE m.schedule_id = %s AND m.subject = v.s",
            (now_s, list(tops), list(tops.values()), schedule.id),
        )
    nxt = now_s if len(rows) == MARKS_BATCH else await _next_mark(conn, schedule.id)
    await _move(conn, schedule.id, nxt, now_s if fired else None)
    return fired


async def _next_mark(conn: Conn, schedule_id: str) -> float | None:
    row = await _one(
        conn,
        "SELECT min(due_at) FROM subject_marks WHERE schedule_id = %s AND due_at IS NOT NULL",
        (schedule_id,),
    )
    return float(row[0]) if row and row[0] is not None else None


async def resume(conn: Conn, schedule_id: str) -> None:
    """An enabled idle / messages schedule saved or resumed without a next time gets the
    earliest one its subjects ask for (from its watermark and marks; no clock needed), so
    that subjects which went idle meanwhile are not left waiting for the next activity."""
    row = await _one(
        conn,
        "SELECT namespace, trigger_kind, subject_glob, wait_s, state FROM schedules "
        "WHERE id = %s AND enabled AND next_run_at IS NULL "
        "AND trigger_kind IN ('idle', 'messages')",
        (schedule_id,),
    )
    if row is None:
        return
    namespace, kind, glob, wait_s, state = row
    mark = IdleWatermark.load(state)
    if kind == "messages":
        nxt = await _next_mark(conn, schedule_id)
    elif mark.activity is None or not wait_s:
        return
    elif mark.after is not None:  # a batch was left: due at once
        nxt = mark.activity + wait_s
    else:
        nxt = await _next_idle(conn, schedule_id, namespace, glob, wait_s, mark.activity)
    await conn.execute("UPDATE schedules SET next_run_at = %s WHERE id = %s", (nxt, schedule_id))


async def _move(
    conn: Conn, schedule_id: str, nxt: float | None, fired: float | None, state: str | None = None
) -> None:
    await conn.execute(
        "UPDATE schedules SET next_run_at = %s, last_run_at = coalesce(%s, last_run_at), "
        "state = coalesce(%s::jsonb, state) WHERE id = %s",
        (nxt, fired, state, schedule_id),
    )


# -- fan-out -----------------------------------------------------------------------------------
async def fan_out(
    conn: Conn, schedule: Schedule, plan: FirePlan, planner: Planner, now_s: float
) -> list[Run]:
    """Replace each queued slot run of ``plan`` by one run per matching subject. (The caller,
    ``fire_due``, moves the schedule to the plan's next time with the other plans.)"""
    fired: list[Run] = []
    for slot_run in plan.runs:
        if fired_before(schedule, slot_run):
            continue
        if slot_run.status is RunStatus.QUEUED and slot_run.scheduled_for is not None:
            fired += await _fan_out_slot(
                conn, schedule, SlotRuns(schedule, planner, slot_run, now_s)
            )
        else:
            fired += await _insert_many(conn, [_codec.run_insert_params(slot_run, now_s)], True)
    return fired


async def fan_out_now(
    conn: Conn, schedule: Schedule, slot_run: NewRun, planner: Planner, now_s: float
) -> tuple[list[Run], dict[str, int]]:
    """Fan ``slot_run`` (a manual trigger's) out as `fan_out` does a fired slot; the runs
    returned (the first `FAN_OUT_RETURNED`) and how many were inserted, by status."""
    row = await _one(conn, "SELECT coalesce(max(id), 0) FROM runs")
    before = row[0] if row else 0
    fired = await _fan_out_slot(conn, schedule, SlotRuns(schedule, planner, slot_run, now_s))
    counts = await _all(conn, NEW_RUNS_BY_STATUS.format(p="%s"), (schedule.id, before))
    return fired, {str(status): int(n) for status, n in counts}


async def _fan_out_slot(conn: Conn, schedule: Schedule, runs: SlotRuns) -> list[Run]:
    assert schedule.for_each_subject is not None
    glob, batch_size = schedule.for_each_subject.subjects, schedule.for_each_subject.batch_size
    sql = "SELECT subject FROM subjects WHERE namespace = %s AND subject > %s "
    sql += "AND subject LIKE %s " if glob else ""
    sql += "ORDER BY subject LIMIT %s"
    fired: list[Run] = []
    after = ""
    while True:
        params = (schedule.namespace, after, glob_to_like(glob), batch_size) if glob else (
            schedule.namespace, after, batch_size)  # fmt: skip
        subjects = [r[0] for r in await _all(conn, sql, params)]
        if not subjects:
            return fired
        over = await _over_quota(conn, schedule, subjects, runs.slot)
        rows = runs.batch(subjects, over)
        wanted = len(fired) < FAN_OUT_RETURNED
        fired += (await _insert_many(conn, rows, wanted))[: FAN_OUT_RETURNED - len(fired)]
        if len(subjects) < batch_size:
            return fired
        after = subjects[-1]


# -- quotas ------------------------------------------------------------------------------------
async def quota_exceeded(
    conn: Conn, schedule: Schedule, subject: str | None, slot: datetime
) -> str | None:
    """Why a run of ``schedule`` for ``subject`` at ``slot`` is over the schedule's quota, or
    None: its runs (not skipped) scheduled in the quota's period of ``slot`` reached the count."""
    if schedule.limit is None or subject is None:
        return None
    start, end = quota_window(schedule.limit, schedule.timezone, slot)
    row = await _one(
        conn,
        "SELECT count(*) FROM runs WHERE schedule_id = %s AND subject = %s "
        "AND scheduled_for >= %s AND scheduled_for < %s AND status <> 'skipped'",
        (schedule.id, subject, start.timestamp(), end.timestamp()),
    )
    count = row[0] if row else 0
    return quota_reason(schedule.limit, subject) if count >= schedule.limit.count else None


async def with_quota(conn: Conn, schedule: Schedule, run: NewRun) -> NewRun:
    """``run``, or ``run`` skipped with the reason when it is over the schedule's quota."""
    if schedule.limit is None or run.scheduled_for is None:
        return run
    reason = await quota_exceeded(conn, schedule, run.subject, run.scheduled_for)
    return skipped(run, reason) if reason else run


async def _over_quota(
    conn: Conn, schedule: Schedule, subjects: Sequence[str], slot: datetime
) -> dict[str, str]:
    limit = schedule.limit
    if limit is None:
        return {}
    start, end = quota_window(limit, schedule.timezone, slot)
    rows = await _all(
        conn,
        "SELECT subject, count(*) FROM runs WHERE schedule_id = %s AND subject = ANY(%s) "
        "AND scheduled_for >= %s AND scheduled_for < %s AND status <> 'skipped' "
        "GROUP BY subject",
        (schedule.id, list(subjects), start.timestamp(), end.timestamp()),
    )
    return {s: quota_reason(limit, s) for s, n in rows if n >= limit.count}


# -- helpers -----------------------------------------------------------------------------------
async def _insert_checked(
    conn: Conn, schedule: Schedule, runs: list[NewRun], now_s: float
) -> list[Run]:
    """Insert ``runs``; under a quota one by one, so that each counts the ones before it."""
    if schedule.limit is None:
        return await _insert_many(conn, [_codec.run_insert_params(r, now_s) for r in runs], True)
    out: list[Run] = []
    for run in runs:
        checked = await with_quota(conn, schedule, run)
        out += await _insert_many(conn, [_codec.run_insert_params(checked, now_s)], True)
    return out


async def _insert_many(conn: Conn, rows: list[tuple[Any, ...]], returning: bool) -> list[Run]:
    """Insert run rows (taken dedup keys ignored) in one pipelined batch; with ``returning``,
    return the runs inserted."""
    if not rows:
        return []
    out: list[Run] = []
    async with conn.cursor() as cur:
        await cur.executemany(_INSERT_RUN if returning else _INSERT, rows, returning=returning)
        while returning:
            row = await cur.fetchone()
            if row is not None:
                out.append(_codec.run_from_row(row))
            if not cur.nextset():
                break
    return out


async def forget_schedule(conn: Conn, schedule_id: str) -> None:
    """Drop the per-subject state of a deleted schedule."""
    await conn.execute("DELETE FROM subject_marks WHERE schedule_id = %s", (schedule_id,))


async def _one(conn: Conn, sql: str, params: Any = ()) -> tuple[Any, ...] | None:
    cur = await conn.execute(sql, params)
    return await cur.fetchone()


async def _all(conn: Conn, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    cur = await conn.execute(sql, params)
    return await cur.fetchall()


def _dt(value: float) -> datetime:
    result = _codec.dt(value)
    assert result is not None
    return result
