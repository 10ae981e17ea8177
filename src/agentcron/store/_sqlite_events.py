"""Events on SQLite: publish (firing event schedules in the same transaction), debounce,
run lifecycle events, reading and purging. (Contract: `agentcron.store.base.Store`; the
rules both stores share: ``_event_rules``.)

Ids: events use AUTOINCREMENT and every write holds the database's one write lock, so the
ids of one ``executemany`` are consecutive and end at ``last_insert_rowid()``, and they
become visible in id order.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from datetime import UTC, datetime

from agentcron.models import Event, NewEvent, NewRun, Run, Schedule
from agentcron.store import _codec
from agentcron.store._codec import (
    RUN_COLUMNS,
    RUN_INSERT_COLUMNS,
    RUN_INSERT_MARKS,
    SCHEDULE_COLUMNS,
)
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
from agentcron.store._ops import SqliteOps as _Ops
from agentcron.store.base import Planner

__all__ = [
    "EventVerbs",
    "emit",
    "fire_debounced",
    "fired_runs",
    "forget_schedule",
    "restore_due",
    "runs_inserted",
]

log = logging.getLogger("agentcron.events")

GROUPS_PER_FIRE = 500

_INSERT_EVENT = (
    "INSERT INTO events (namespace, type, subject, data, created_at) VALUES (?, ?, ?, ?, ?)"
)
_INSERT_RUN = (
    f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) VALUES ({RUN_INSERT_MARKS}) "
    f"ON CONFLICT DO NOTHING RETURNING {RUN_COLUMNS}"
)
# Repeats the partial index's condition so that SQLite reads schedules_kind, not the table.
_RULES = (
    f"SELECT {SCHEDULE_COLUMNS} FROM schedules "
    "WHERE trigger_kind IN ('idle', 'messages', 'event') AND trigger_kind = 'event' "
    "AND enabled = 1 AND parked = 0"
)
_UPSERT_GROUP = (
    "INSERT INTO debounces (schedule_id, subject, first_at, due_at, event_ids) "
    "VALUES (?, ?, ?, ?, json_array(?)) ON CONFLICT (schedule_id, subject) DO UPDATE SET "
    "due_at = {due}, event_ids = json_insert(event_ids, '$[#]', ?) RETURNING due_at"
)
_CAPPED = _UPSERT_GROUP.format(due="min(excluded.due_at, first_at + ?)")
_UNCAPPED = _UPSERT_GROUP.format(due="excluded.due_at")


class EventVerbs(_Ops):
    async def publish(
        self, events: Sequence[NewEvent], now: datetime, planner: Planner
    ) -> tuple[list[Event], list[Run]]:
        pending = [checked(e) for e in events]
        if not pending:
            return [], []
        now_s = now.timestamp()
        out: Emitted = await self._write(
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
        where, params = event_filter(after_id, namespace, pattern, until, dialect="sqlite")
        sql = f"SELECT {EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        if limit <= 0:
            return []

        def op(conn: sqlite3.Connection) -> list[Event]:
            return [event_from_row(r) for r in conn.execute(sql, (*params, limit))]

        result: list[Event] = await self._read(op)
        return result

    async def event_ids(self, after_id: int, limit: int = 1000) -> list[int]:
        def op(conn: sqlite3.Connection) -> list[int]:
            rows = conn.execute(
                "SELECT id FROM events WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)
            )
            return [r[0] for r in rows]

        check_after(after_id)
        result: list[int] = await self._read(op)
        return result

    async def last_event_id(self) -> int:
        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT max(id) FROM events").fetchone()
            return int(row[0] or 0)

        result: int = await self._read(op)
        return result

    async def purge_events(self, before: datetime) -> int:
        """Events are not indexed by time (an index page less in every commit): ids follow
        creation, so the cut is found by a binary search through the ids (`first_id_at`), then
        everything below it is deleted in batches."""
        cut: int = await self._read(lambda conn: first_id_at(conn, before.timestamp()))

        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM events WHERE id IN (SELECT id FROM events WHERE id < ? "
                "ORDER BY id LIMIT ?)",
                (cut, PURGE_BATCH),
            ).rowcount

        total = 0
        while True:  # in batches: never hold the write lock for long
            deleted: int = await self._write(op)
            total += deleted
            if deleted < PURGE_BATCH:
                return total

    def emitted(self, out: Emitted) -> None:
        wake(self.notify, out)


def first_id_at(conn: sqlite3.Connection, at_s: float) -> int:
    """The id of the first event created at or after ``at_s`` (one past the last id when
    none): a binary search over ids, each step one primary-key lookup. Ids are given in commit
    order and creation times are taken just before, so they agree up to the time a writer
    waits for the lock; a retention cut that far off is immaterial."""
    lo, hi = conn.execute("SELECT min(id), max(id) FROM events").fetchone()
    if lo is None:
        return 0
    hi += 1  # invariant: events below lo are older than at_s, the event at/after hi is not
    while lo < hi:
        mid = (lo + hi) // 2
        row = conn.execute(
            "SELECT id, created_at FROM events WHERE id >= ? ORDER BY id LIMIT 1", (mid,)
        ).fetchone()
        if row[1] < at_s:
            lo = row[0] + 1
        else:
            hi = mid
    return int(lo)


# -- writing events and firing what they match --------------------------------------------------
def emit(
    conn: sqlite3.Connection,
    pending: Sequence[Pending],
    now_s: float,
    planner: Planner | None,
    *,
    with_events: bool = False,
) -> Emitted:
    """Insert ``pending`` (one ``executemany``) and fire the event schedules they match
    (one indexed query for the enabled event schedules, usually none).

    ``planner`` None: runs are planned from the ``tasks`` table (`DefaultsPlanner`).
    ``with_events``: return the stored events (otherwise they are only built when needed).
    """
    if not pending:
        return Emitted()
    conn.executemany(_INSERT_EVENT, [p.params(now_s) for p in pending])
    rules = _rules(conn) if any(p.fires for p in pending) else []
    hits = matches(rules, pending) if rules else []
    if not hits and not with_events:
        return Emitted(wrote=True)
    last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
    first = last - len(pending) + 1
    events = [p.event(first + i, now_s) for i, p in enumerate(pending)]
    out = Emitted(events if with_events else [], wrote=True)
    if hits:
        out += _fire(conn, hits, pending, events, now_s, planner)
    return out


def runs_inserted(
    conn: sqlite3.Connection,
    runs: Sequence[Run],
    now_s: float,
    planner: Planner | None = None,
    *,
    fires: bool = True,
) -> Emitted:
    """The lifecycle events of newly inserted runs (``run.queued`` / ``run.skipped``).
    ``fires`` False for runs that event schedules fired (they fire nothing more here)."""
    return emit(conn, [run_event(r, fires=fires) for r in runs], now_s, planner)


def _rules(conn: sqlite3.Connection) -> list[Rule]:
    return rules_of(_codec.schedule_from_row(r) for r in conn.execute(_RULES))


def _fire(
    conn: sqlite3.Connection,
    hits: list[tuple[int, Rule]],
    pending: Sequence[Pending],
    events: list[Event],
    now_s: float,
    planner: Planner | None,
) -> Emitted:
    out = Emitted()
    slot = datetime.fromtimestamp(now_s, UTC)
    plan = planner or _defaults_planner(conn, slot)
    for index, rule in hits:
        event, origin = events[index], pending[index].origin_run
        if rule.debounce_s is not None:
            _join_group(conn, rule, event, now_s)
            out.debounced = True
            continue
        chain = 0
        if origin is not None:
            chain = _chain(conn, origin) + 1
            if chain > MAX_CHAIN:
                log.warning(
                    "schedule %s not fired by %s of run %s: a chain of %d runs fired by run "
                    "events", rule.schedule.name, event.type, origin, MAX_CHAIN,
                )  # fmt: skip
                continue
        new = plan.for_subject(rule.schedule, event.subject, slot, fire_info(event, chain))
        out.runs += _insert(conn, rule.schedule, new, now_s)
    out += runs_inserted(conn, out.runs, now_s, fires=False)
    return out


def _insert(conn: sqlite3.Connection, schedule: Schedule, new: NewRun, now_s: float) -> list[Run]:
    if schedule.limit is not None:
        from agentcron.store.core.quotas import with_quota
        from agentcron.store.db import drive
        from agentcron.store.sqlite.tx import SqliteTx

        new = drive(with_quota(SqliteTx(conn), schedule, new))
    row = conn.execute(_INSERT_RUN, _codec.run_insert_params(new, now_s)).fetchone()
    return [_codec.run_from_row(row)] if row is not None else []


def _chain(conn: sqlite3.Connection, run_id: int) -> int:
    row = conn.execute("SELECT trigger_info FROM runs WHERE id = ?", (run_id,)).fetchone()
    return chain_of(_codec.loads(row[0]) if row and row[0] else None)


def _defaults_planner(conn: sqlite3.Connection, now: datetime) -> DefaultsPlanner:
    tasks = {n: _codec.loads(i) for n, i in conn.execute("SELECT name, info FROM tasks")}
    return DefaultsPlanner(tasks, now)


# -- debounce ------------------------------------------------------------------------------------
def _join_group(conn: sqlite3.Connection, rule: Rule, event: Event, now_s: float) -> None:
    """Add ``event`` to its (schedule, subject) group; the group is due ``debounce`` after
    this event, at the latest ``max_wait`` after its first; the schedule wakes by then."""
    key = (rule.schedule.id, event.subject or "", now_s, rule.due_at(now_s), event.id)
    if rule.max_wait_s is None:
        (due,) = conn.execute(_UNCAPPED, (*key, event.id)).fetchone()
    else:
        (due,) = conn.execute(_CAPPED, (*key, rule.max_wait_s, event.id)).fetchone()
    conn.execute(
        "UPDATE schedules SET next_run_at = min(coalesce(next_run_at, ?), ?) WHERE id = ?",
        (due, due, rule.schedule.id),
    )


def fire_debounced(
    conn: sqlite3.Connection, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    """Fire the due debounce groups of an event schedule (one run per group, with the group's
    events read back); delete them; move next_run_at to the earliest group left (or None)."""
    rows = conn.execute(
        "SELECT subject, due_at, event_ids FROM debounces WHERE schedule_id = ? AND due_at <= ? "
        "ORDER BY due_at LIMIT ?",
        (schedule.id, now_s, GROUPS_PER_FIRE),
    ).fetchall()
    fired: list[Run] = []
    for subject, due_at, ids_json in rows:
        ids = [int(i) for i in _codec.loads(ids_json)]
        info = group_info(_events_by_id(conn, ids[-MAX_GROUP_EVENTS:]), len(ids), ids[0])
        slot = datetime.fromtimestamp(due_at, UTC)
        new = planner.for_subject(schedule, subject or None, slot, info)
        fired += _insert(conn, schedule, new, now_s)
        conn.execute(
            "DELETE FROM debounces WHERE schedule_id = ? AND subject = ?", (schedule.id, subject)
        )
    last = max((r[1] for r in rows), default=None)
    conn.execute(
        "UPDATE schedules SET next_run_at = (SELECT min(due_at) FROM debounces "
        "WHERE schedule_id = ?), last_run_at = coalesce(?, last_run_at) WHERE id = ?",
        (schedule.id, last, schedule.id),
    )
    return fired


def _events_by_id(conn: sqlite3.Connection, ids: list[int]) -> list[Event]:
    """The events with these ids still stored (purged ones are left out), in id order."""
    rows = conn.execute(
        f"SELECT {EVENT_COLUMNS} FROM events WHERE id IN ({', '.join('?' * len(ids))}) ORDER BY id",
        ids,
    )
    return [event_from_row(r) for r in rows]


def restore_due(conn: sqlite3.Connection, schedule_id: str) -> None:
    """After a schedule is resumed or updated: an event schedule keeps the due time of its
    pending debounce groups (pausing clears ``next_run_at``, not the groups); a schedule that
    is no longer an event schedule loses them."""
    conn.execute(
        "DELETE FROM debounces WHERE schedule_id = ? AND NOT EXISTS (SELECT 1 FROM schedules "
        "WHERE id = ? AND trigger_kind = 'event')",
        (schedule_id, schedule_id),
    )
    conn.execute(
        "UPDATE schedules SET next_run_at = min(coalesce(next_run_at, d.due), d.due) "
        "FROM (SELECT min(due_at) AS due FROM debounces WHERE schedule_id = ?) AS d "
        "WHERE id = ? AND enabled = 1 AND d.due IS NOT NULL",
        (schedule_id, schedule_id),
    )


def forget_schedule(conn: sqlite3.Connection, schedule_id: str) -> None:
    """Drop the debounce groups of a deleted schedule."""
    conn.execute("DELETE FROM debounces WHERE schedule_id = ?", (schedule_id,))


def fired_runs(
    conn: sqlite3.Connection, runs: Sequence[Run], now_s: float, planner: Planner
) -> Emitted:
    """The lifecycle events of the runs `fire_due` inserted; those of runs that event
    schedules fired (debounce groups) fire nothing more."""
    return emit(
        conn,
        [run_event(r, fires=(r.trigger_info or {}).get("kind") != "event") for r in runs],
        now_s,
        planner,
    )
