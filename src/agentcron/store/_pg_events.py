"""Events on PostgreSQL: publish (firing event schedules in the same transaction), debounce,
run lifecycle events, reading and purging. (Contract: `agentcron.store.base.Store`; the
rules both stores share: ``_event_rules``.)

Writing a batch of events is one statement, which also reads the enabled event schedules
(usually none), so lifecycle events cost one round trip per state-changing transaction. The
``events_inserted`` trigger (migration 2) sends ``NOTIFY agentcron_events`` at commit.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentcron.models import Event, NewEvent, NewRun, Run, Schedule
from agentcron.store import _codec
from agentcron.store._codec import SCHEDULE_COLUMNS
from agentcron.store._event_rules import (
    EVENT_COLUMNS,
    MAX_CHAIN,
    MAX_GROUP_EVENTS,
    PURGE_BATCH,
    DefaultsPlanner,
    Emitted,
    Pending,
    Rule,
    chain_of,
    check_after,
    checked,
    event_filter,
    event_from_row,
    fire_info,
    group_info,
    matches,
    rules_of,
    run_event,
    wake,
)
from agentcron.store._ops import PgOps as _PgOps
from agentcron.store.base import Planner

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.AsyncConnection[Any]


__all__ = ["PgEventVerbs", "emit", "fire_debounced", "fired_runs", "forget_schedule", "restore_due"]

log = logging.getLogger("agentcron.events")
_quote = json.encoder.encode_basestring  # a str as a JSON string (C-accelerated)

GROUPS_PER_FIRE = 500

# The rows travel as one JSON array of [namespace, type, subject, data] (2-3x cheaper than
# one array parameter per column, which psycopg adapts element by element).
_INSERT = (
    "INSERT INTO events (namespace, type, subject, data, created_at) "
    "SELECT e->>0, e->>1, e->>2, e->3, %s FROM jsonb_array_elements(%s::jsonb) "
    "WITH ORDINALITY AS x(e, n) ORDER BY n"
)
# Insert, and in the same round trip the enabled event schedules (a row of NULLs: none).
_INSERT_AND_RULES = (
    f"WITH ev AS ({_INSERT} RETURNING id) "
    "SELECT (SELECT array_agg(id ORDER BY id) FROM ev), s.* FROM (SELECT 1) AS one "
    f"LEFT JOIN (SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE trigger_kind = 'event' "
    "AND enabled AND NOT parked) AS s ON true"
)
_UPSERT_GROUP = (
    "INSERT INTO debounces (schedule_id, subject, first_at, due_at, event_ids) "
    "VALUES (%s, %s, %s, %s, jsonb_build_array(%s::bigint)) "
    "ON CONFLICT (schedule_id, subject) DO UPDATE SET due_at = {due}, "
    "event_ids = debounces.event_ids || excluded.event_ids RETURNING due_at"
)
_CAPPED = _UPSERT_GROUP.format(due="LEAST(excluded.due_at, debounces.first_at + %s)")
_UNCAPPED = _UPSERT_GROUP.format(due="excluded.due_at")


class PgEventVerbs(_PgOps):
    async def publish(
        self, events: Sequence[NewEvent], now: datetime, planner: Planner
    ) -> tuple[list[Event], list[Run]]:
        pending = [checked(e) for e in events]
        if not pending:
            return [], []
        now_s = now.timestamp()
        out: Emitted = await self._tx(
            lambda conn: emit(conn, pending, now_s, planner, with_events=True)
        )
        self.emitted(out)
        return out.events, out.runs

    async def read_events(
        self,
        after_id: int,
        *,
        namespace: str | None = None,
        pattern: str | None = None,
        limit: int = 500,
        until: int | None = None,
    ) -> list[Event]:
        where, params = event_filter(after_id, namespace, pattern, until, dialect="postgres")
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY id LIMIT %s"
        if limit <= 0:
            return []

        async def op(conn: Conn) -> list[Event]:
            cur = await conn.execute(sql, (*params, limit))
            return [event_from_row(r) for r in await cur.fetchall()]

        result: list[Event] = await self._tx(op)
        return result

    async def event_ids(self, after_id: int, limit: int = 1000) -> list[int]:
        async def op(conn: Conn) -> list[int]:
            cur = await conn.execute(
                "SELECT id FROM events WHERE id > %s ORDER BY id LIMIT %s", (after_id, limit)
            )
            return [r[0] for r in await cur.fetchall()]

        check_after(after_id)
        result: list[int] = await self._tx(op)
        return result

    async def last_event_id(self) -> int:
        async def op(conn: Conn) -> int:
            cur = await conn.execute("SELECT max(id) FROM events")
            row = await cur.fetchone()
            return int(row[0] or 0) if row else 0

        result: int = await self._tx(op)
        return result

    async def purge_events(self, before: datetime) -> int:
        """Events are not indexed by time (schema 4: an index entry less in every write): ids
        follow creation, so the cut is found by a binary search through the ids
        (`first_id_at`), then everything below it is deleted in batches."""
        cut: int = await self._tx(lambda conn: first_id_at(conn, before.timestamp()))

        async def op(conn: Conn) -> int:
            cur = await conn.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < %s "
                "ORDER BY id LIMIT %s)",
                (cut, PURGE_BATCH),
            )
            return cur.rowcount

        total = 0
        while True:  # in batches: short transactions
            deleted: int = await self._tx(op)
            total += deleted
            if deleted < PURGE_BATCH:
                return total

    def emitted(self, out: Emitted, *, announced: bool = False) -> None:
        """After a commit that wrote events: wake this process's readers at once, and the
        other processes' through the announcer (the events table has no NOTIFY trigger),
        unless the write ``announced`` them itself."""
        wake(self.notify, out)
        if out.wrote and not announced:
            self._announcer()


async def first_id_at(conn: Conn, at_s: float) -> int:
    """The id of the first event created at or after ``at_s`` (one past the last id when
    none): a binary search over ids, each step one primary-key lookup. Ids are drawn just
    after the creation time is taken, so the two agree up to the length of a transaction; a
    retention cut that far off is immaterial."""
    cur = await conn.execute("SELECT min(id), max(id) FROM events")
    bounds = await cur.fetchone()
    if bounds is None or bounds[0] is None:
        return 0
    lo, hi = bounds
    hi += 1  # invariant: events below lo are older than at_s, the event at/after hi is not
    while lo < hi:
        mid = (lo + hi) // 2
        cur = await conn.execute(
            "SELECT id, created_at FROM events WHERE id >= %s ORDER BY id LIMIT 1", (mid,)
        )
        row = await cur.fetchone()
        if row is None:  # deleted meanwhile, above mid
            hi = mid
        elif row[1] < at_s:
            lo = row[0] + 1
        else:
            hi = mid
    return int(lo)


# -- writing events and firing what they match --------------------------------------------------
async def emit(
    conn: Conn,
    pending: Sequence[Pending],
    now_s: float,
    planner: Planner | None,
    *,
    with_events: bool = False,
) -> Emitted:
    """Insert ``pending`` and fire the event schedules they match, in one statement unless
    something matches. ``planner`` None: runs are planned from the ``tasks`` table."""
    if not pending:
        return Emitted()
    columns = (now_s, _rows_json(pending))
    if not with_events and not any(p.fires for p in pending):
        await conn.execute(_INSERT, columns)
        return Emitted(wrote=True)
    cur = await conn.execute(_INSERT_AND_RULES, columns)
    rows = await cur.fetchall()
    ids: list[int] = rows[0][0] or []
    schedules = [_codec.schedule_from_row(r[1:]) for r in rows if r[1] is not None]
    rules = rules_of(schedules) if any(p.fires for p in pending) else []
    hits = matches(rules, pending) if rules else []
    if not hits and not with_events:
        return Emitted(wrote=True)
    events = [p.event(i, now_s) for i, p in zip(ids, pending, strict=True)]
    out = Emitted(events if with_events else [], wrote=True)
    if hits:
        out += await _fire(conn, hits, pending, events, now_s, planner)
    return out


async def fired_runs(
    conn: Conn, runs: Sequence[Run], now_s: float, planner: Planner | None
) -> Emitted:
    """The lifecycle events of inserted runs; those of runs that event schedules fired
    (debounce groups) fire nothing more."""
    return await emit(
        conn,
        [run_event(r, fires=(r.trigger_info or {}).get("kind") != "event") for r in runs],
        now_s,
        planner,
    )


async def _fire(
    conn: Conn,
    hits: list[tuple[int, Rule]],
    pending: Sequence[Pending],
    events: list[Event],
    now_s: float,
    planner: Planner | None,
) -> Emitted:
    out = Emitted()
    slot = datetime.fromtimestamp(now_s, UTC)
    plan = planner or await _defaults_planner(conn, slot)
    for index, rule in hits:
        event, origin = events[index], pending[index].origin_run
        if rule.debounce_s is not None:
            await _join_group(conn, rule, event, now_s)
            out.debounced = True
            continue
        chain = 0
        if origin is not None:
            chain = await _chain(conn, origin) + 1
            if chain > MAX_CHAIN:
                log.warning(
                    "schedule %s not fired by %s of run %s: a chain of %d runs fired by run "
                    "events", rule.schedule.name, event.type, origin, MAX_CHAIN,
                )  # fmt: skip
                continue
        new = plan.for_subject(rule.schedule, event.subject, slot, fire_info(event, chain))
        out.runs += await _insert(conn, rule.schedule, new, now_s)
    out += await emit(conn, [run_event(r, fires=False) for r in out.runs], now_s, None)
    return out


async def _insert(conn: Conn, schedule: Schedule, new: NewRun, now_s: float) -> list[Run]:
    from agentcron.store._pg_helpers import INSERT_RUN

    if schedule.limit is not None:
        new = await _with_quota(conn, schedule, new)
    cur = await conn.execute(INSERT_RUN, _codec.run_insert_params(new, now_s))
    row = await cur.fetchone()
    return [_codec.run_from_row(row)] if row is not None else []


async def _with_quota(conn: Conn, schedule: Schedule, new: NewRun) -> NewRun:
    """``new``, or ``new`` skipped with the reason when it is over the schedule's quota."""
    from agentcron.rules.quotas import quota_reason, quota_window, skipped

    if schedule.limit is None or new.subject is None or new.scheduled_for is None:
        return new
    start, end = quota_window(schedule.limit, schedule.timezone, new.scheduled_for)
    cur = await conn.execute(
        "SELECT count(*) FROM runs WHERE schedule_id = %s AND subject = %s "
        "AND scheduled_for >= %s AND scheduled_for < %s AND status <> 'skipped'",
        (schedule.id, new.subject, start.timestamp(), end.timestamp()),
    )
    row = await cur.fetchone()
    if row is not None and row[0] >= schedule.limit.count:
        return skipped(new, quota_reason(schedule.limit, new.subject))
    return new


async def _chain(conn: Conn, run_id: int) -> int:
    cur = await conn.execute("SELECT trigger_info FROM runs WHERE id = %s", (run_id,))
    row = await cur.fetchone()
    return chain_of(_codec.loads(row[0]) if row and row[0] else None)


async def _defaults_planner(conn: Conn, now: datetime) -> DefaultsPlanner:
    cur = await conn.execute("SELECT name, info FROM tasks")
    return DefaultsPlanner({n: _codec.loads(i) for n, i in await cur.fetchall()}, now)


# -- debounce ------------------------------------------------------------------------------------
async def _join_group(conn: Conn, rule: Rule, event: Event, now_s: float) -> None:
    """Add ``event`` to its (schedule, subject) group; the group is due ``debounce`` after
    this event, at the latest ``max_wait`` after its first; the schedule wakes by then (and
    schedulers elsewhere are notified: a NOTIFY is sent at commit)."""
    key = (rule.schedule.id, event.subject or "", now_s, rule.due_at(now_s), event.id)
    if rule.max_wait_s is None:
        cur = await conn.execute(_UNCAPPED, key)
    else:
        cur = await conn.execute(_CAPPED, (*key, rule.max_wait_s))
    row = await cur.fetchone()
    assert row is not None
    await conn.execute(
        "UPDATE schedules SET next_run_at = LEAST(next_run_at, %s) WHERE id = %s",
        (row[0], rule.schedule.id),
    )
    await conn.execute("SELECT pg_notify('agentcron_schedules', '')")


async def fire_debounced(
    conn: Conn, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    """Fire the due debounce groups of an event schedule (one run per group, with the group's
    events read back); delete them; move next_run_at to the earliest group left (or None)."""
    cur = await conn.execute(
        "DELETE FROM debounces WHERE (schedule_id, subject) IN (SELECT schedule_id, subject "
        "FROM debounces WHERE schedule_id = %s AND due_at <= %s ORDER BY due_at LIMIT %s) "
        "RETURNING subject, due_at, event_ids::text",
        (schedule.id, now_s, GROUPS_PER_FIRE),
    )
    rows = sorted(await cur.fetchall(), key=lambda r: r[1])
    fired: list[Run] = []
    for subject, due_at, ids_json in rows:
        ids = [int(i) for i in _codec.loads(ids_json)]
        info = group_info(await _events_by_id(conn, ids[-MAX_GROUP_EVENTS:]), len(ids), ids[0])
        slot = datetime.fromtimestamp(due_at, UTC)
        new = planner.for_subject(schedule, subject or None, slot, info)
        fired += await _insert(conn, schedule, new, now_s)
    last = max((r[1] for r in rows), default=None)
    await conn.execute(
        "UPDATE schedules SET next_run_at = (SELECT min(due_at) FROM debounces "
        "WHERE schedule_id = %s), last_run_at = coalesce(%s, last_run_at) WHERE id = %s",
        (schedule.id, last, schedule.id),
    )
    return fired


async def _events_by_id(conn: Conn, ids: list[int]) -> list[Event]:
    """The events with these ids still stored (purged ones are left out), in id order."""
    cur = await conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE id = ANY(%s) ORDER BY id", (ids,)
    )
    return [event_from_row(r) for r in await cur.fetchall()]


async def restore_due(conn: Conn, schedule_id: str) -> None:
    """After a schedule is resumed or updated: an event schedule keeps the due time of its
    pending debounce groups (pausing clears ``next_run_at``, not the groups); a schedule that
    is no longer an event schedule loses them."""
    await conn.execute(
        "DELETE FROM debounces WHERE schedule_id = %s AND NOT EXISTS (SELECT 1 FROM schedules "
        "WHERE id = %s AND trigger_kind = 'event')",
        (schedule_id, schedule_id),
    )
    await conn.execute(
        "UPDATE schedules SET next_run_at = LEAST(next_run_at, d.due) "
        "FROM (SELECT min(due_at) AS due FROM debounces WHERE schedule_id = %s) AS d "
        "WHERE id = %s AND enabled AND d.due IS NOT NULL",
        (schedule_id, schedule_id),
    )


async def forget_schedule(conn: Conn, schedule_id: str) -> None:
    """Drop the debounce groups of a deleted schedule."""
    await conn.execute("DELETE FROM debounces WHERE schedule_id = %s", (schedule_id,))


def _rows_json(pending: Sequence[Pending]) -> str:
    rows = ",".join(
        f"[{_quote(p.namespace)},{_quote(p.type)},"
        f"{'null' if p.subject is None else _quote(p.subject)},{p.data_json}]"
        for p in pending
    )
    return f"[{rows}]"
