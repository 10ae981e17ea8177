"""Debounced event schedules, written once: an event joins its (schedule, subject) group,
which fires one run once ``debounce`` passed after its last event (at the latest ``max_wait``
after its first), with the group's events as input. (The rules: `agentcron.rules.events`.)

The group's event ids are a JSON array, extended in place: the only statement whose SQL
differs between the dialects (`JOIN_SQL`; PostgreSQL's is registered by
``store/postgres/events.py``, with the ``NOTIFY`` that wakes schedulers elsewhere)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentcron.models import Event, NewRun, Run, Schedule
from agentcron.rules.events import (
    EVENT_COLUMNS,
    MAX_GROUP_EVENTS,
    Rule,
    event_from_row,
    group_info,
)
from agentcron.store import _codec
from agentcron.store.base import Planner
from agentcron.store.core.insert import insert_runs
from agentcron.store.core.quotas import with_quota
from agentcron.store.db import Row, Tx

__all__ = [
    "GROUPS_PER_FIRE",
    "JOIN_SQL",
    "JoinSql",
    "fire_debounced",
    "forget_schedule",
    "insert_fired",
    "join",
    "restore_due",
]

GROUPS_PER_FIRE = 500


@dataclass(frozen=True, slots=True)
class JoinSql:
    """How a dialect adds an event to its group: ``capped`` / ``uncapped`` take (schedule id,
    subject, now, due, event id[, max_wait], event id) and return the group's due time; ``wake``, if
    any, runs after (tells schedulers of other processes that a schedule's due time moved)."""

    capped: str
    uncapped: str
    wake: str | None = None


_UPSERT_GROUP = (
    "INSERT INTO debounces (schedule_id, subject, first_at, due_at, event_ids) "
    "VALUES (?, ?, ?, ?, json_array(?)) ON CONFLICT (schedule_id, subject) DO UPDATE SET "
    "due_at = {due}, event_ids = json_insert(event_ids, '$[#]', ?) RETURNING due_at"
)
JOIN_SQL: dict[str, JoinSql] = {
    "sqlite": JoinSql(
        capped=_UPSERT_GROUP.format(due="min(excluded.due_at, first_at + ?)"),
        uncapped=_UPSERT_GROUP.format(due="excluded.due_at"),
    )
}
"""Per dialect (`Dialect.name`); other dialects register theirs."""

_MOVE_DUE = "UPDATE schedules SET next_run_at = {least}(coalesce(next_run_at, ?), ?) WHERE id = ?"
_TAKE_DUE = (
    "DELETE FROM debounces WHERE (schedule_id, subject) IN (SELECT schedule_id, subject "
    "FROM debounces WHERE schedule_id = ? AND due_at <= ? ORDER BY due_at LIMIT ?) "
    "RETURNING subject, due_at, event_ids"
)
_NEXT_DUE = (
    "UPDATE schedules SET next_run_at = (SELECT min(due_at) FROM debounces "
    "WHERE schedule_id = ?), last_run_at = coalesce(?, last_run_at) WHERE id = ?"
)
_DROP_IF_NOT_EVENT = (
    "DELETE FROM debounces WHERE schedule_id = ? AND NOT EXISTS (SELECT 1 FROM schedules "
    "WHERE id = ? AND trigger_kind = 'event')"
)
_RESTORE_DUE = (
    "UPDATE schedules SET next_run_at = {least}(coalesce(next_run_at, d.due), d.due) "
    "FROM (SELECT min(due_at) AS due FROM debounces WHERE schedule_id = ?) AS d "
    "WHERE id = ? AND enabled AND d.due IS NOT NULL"
)
_EVENTS_WHERE = f"SELECT {EVENT_COLUMNS} FROM events WHERE"
_FORGET = "DELETE FROM debounces WHERE schedule_id = ?"


async def join(tx: Tx, rule: Rule, event: Event, now_s: float) -> None:
    """Add ``event`` to its (schedule, subject) group; the group is due ``debounce`` after
    this event, at the latest ``max_wait`` after its first; the schedule wakes by then."""
    sql = JOIN_SQL[tx.dialect.name]
    key = (rule.schedule.id, event.subject or "", now_s, rule.due_at(now_s), event.id)
    if rule.max_wait_s is None:
        row = await tx.one(sql.uncapped, (*key, event.id))
    else:
        row = await tx.one(sql.capped, (*key, rule.max_wait_s, event.id))
    assert row is not None
    due = row[0]
    await tx.execute(_MOVE_DUE.format(least=tx.dialect.least), (due, due, rule.schedule.id))
    if sql.wake is not None:
        await tx.execute(sql.wake)


async def fire_debounced(tx: Tx, schedule: Schedule, planner: Planner, now_s: float) -> list[Run]:
    """Fire the due debounce groups of an event schedule (one run per group, with the group's
    events read back); delete them; move next_run_at to the earliest group left (or None)."""
    rows = sorted(await tx.all(_TAKE_DUE, (schedule.id, now_s, GROUPS_PER_FIRE)), key=_second)
    fired: list[Run] = []
    for subject, due_at, ids_json in rows:
        ids = [int(i) for i in _codec.loads(ids_json)]
        info = group_info(await _events_by_id(tx, ids[-MAX_GROUP_EVENTS:]), len(ids), ids[0])
        slot = datetime.fromtimestamp(due_at, UTC)
        new = planner.for_subject(schedule, subject or None, slot, info)
        fired += await insert_fired(tx, schedule, new, now_s)
    last = max((r[1] for r in rows), default=None)
    await tx.execute(_NEXT_DUE, (schedule.id, last, schedule.id))
    return fired


def _second(row: Row) -> Any:
    return row[1]


async def _events_by_id(tx: Tx, ids: list[int]) -> list[Event]:
    """The events with these ids still stored (purged ones are left out), in id order."""
    marks = ", ".join("?" * len(ids))
    rows = await tx.all(f"{_EVENTS_WHERE} id IN ({marks}) ORDER BY id", ids)
    return [event_from_row(r) for r in rows]


async def restore_due(tx: Tx, schedule_id: str) -> None:
    """After a schedule is resumed or updated: an event schedule keeps the due time of its
    pending debounce groups (pausing clears ``next_run_at``, not the groups); a schedule that
    is no longer an event schedule loses them."""
    await tx.execute(_DROP_IF_NOT_EVENT, (schedule_id, schedule_id))
    await tx.execute(_RESTORE_DUE.format(least=tx.dialect.least), (schedule_id, schedule_id))


async def forget_schedule(tx: Tx, schedule_id: str) -> None:
    """Drop the debounce groups of a deleted schedule."""
    await tx.execute(_FORGET, (schedule_id,))


async def insert_fired(tx: Tx, schedule: Schedule, new: NewRun, now_s: float) -> list[Run]:
    """Insert a run an event schedule fired (for one event or one group): skipped, with the
    reason, when it is over the schedule's quota; none when its dedup key is taken."""
    return await insert_runs(tx, [await with_quota(tx, schedule, new)], now_s)
