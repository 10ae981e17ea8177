"""Schedule verbs, written once for both dialects (contract: `agentcron.store.base.Store`).

A schedule's trigger columns (``trigger_kind``, ``subject_glob``, ``wait_s``, ``every_n``,
``lead_s``) are derived from its spec and written by the same statement as the schedule.
Saving or resuming a schedule lets its per-subject and debounce state catch up
(`subjects.resume`, `debounce.restore_due`); deleting it drops that state."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agentcron.errors import ScheduleExists, ScheduleNotFound
from agentcron.models import Schedule, ScheduleSource, ScheduleSpec
from agentcron.store import _codec
from agentcron.store._codec import SCHEDULE_COLUMNS
from agentcron.store.core import debounce, subjects
from agentcron.store.core.ops import CoreOps
from agentcron.store.db import Tx, UniqueConflict

__all__ = ["ScheduleVerbs", "new_schedule_id"]

# What a spec sets (`_values`), in this order; ``parked`` and ``last_run_at`` start as their
# defaults (not parked, never fired).
_SAVED = (
    "namespace, name, task, trigger, policies, args, description, enabled, source, next_run_at, "
    "updated_at, trigger_kind, subject_glob, wait_s, every_n, lead_s"
)
# Not a unique violation when the name is taken: processes starting with one config add its
# schedules at once, and PostgreSQL would log each loser's ERROR.
INSERT = (
    f"INSERT INTO schedules (id, created_at, {_SAVED}) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    f"ON CONFLICT DO NOTHING RETURNING {SCHEDULE_COLUMNS}"
)
# A name taken by another schedule of the namespace leaves the row as it was (rowcount 0).
UPDATE = (
    "UPDATE schedules SET namespace = ?, name = ?, task = ?, trigger = ?, policies = ?, "
    "args = ?, description = ?, enabled = ?, source = ?, next_run_at = ?, updated_at = ?, "
    "trigger_kind = ?, subject_glob = ?, wait_s = ?, every_n = ?, lead_s = ? WHERE id = ? "
    "AND NOT EXISTS (SELECT 1 FROM schedules AS other "
    "WHERE other.namespace = ? AND other.name = ? AND other.id <> ?)"
)
SET_ENABLED = "UPDATE schedules SET enabled = ?, next_run_at = ?, updated_at = ? WHERE id = ?"
DELETE = "DELETE FROM schedules WHERE id = ?"
EXISTS = "SELECT 1 FROM schedules WHERE id = ?"
BY_ID = f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ?"
# An id wins over a name that happens to equal it.
BY_KEY = (
    f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id = ? OR (namespace = ? AND name = ?) "
    "ORDER BY id = ? DESC LIMIT 1"
)
LIST = f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE {{where}} ORDER BY namespace, name LIMIT ?"
LIST_NAMESPACE = "namespace = ?"
LIST_SOURCE = "source = ?"
LIST_AFTER = "(namespace, name) > (?, ?)"
COUNT = "SELECT count(*) FROM schedules WHERE namespace = ?"
PARK = "UPDATE schedules SET parked = ? WHERE parked = ? AND {known}"
# Repeats the predicate of the partial index `schedules_fire` (see `Dialect.true`).
NEXT_DUE = (
    "SELECT min(next_run_at - lead_s) FROM schedules "
    "WHERE enabled = {d.true} AND parked = {d.false} AND next_run_at IS NOT NULL"
)


def new_schedule_id() -> str:
    return uuid.uuid4().hex[:16]


class ScheduleVerbs(CoreOps):
    async def add_schedule(self, spec: ScheduleSpec, next_run_at: datetime | None) -> Schedule:
        now_s = time.time()
        params = (new_schedule_id(), now_s, *_values(spec, next_run_at, now_s))

        async def op(tx: Tx) -> Schedule:
            row = await tx.one(INSERT, params)
            if row is None:
                raise ScheduleExists(spec.name, spec.namespace)
            return _codec.schedule_from_row(row)

        schedule = await self.write(op)
        self.notify("schedules")
        return schedule

    async def update_schedule(
        self, schedule_id: str, spec: ScheduleSpec, next_run_at: datetime | None
    ) -> Schedule:
        params = (*_values(spec, next_run_at, time.time()), schedule_id,
                  spec.namespace, spec.name, schedule_id)  # fmt: skip

        async def op(tx: Tx) -> Schedule:
            if await tx.execute(UPDATE, params) == 0:
                if await tx.one(EXISTS, (schedule_id,)) is None:
                    raise ScheduleNotFound(schedule_id)
                raise ScheduleExists(spec.name, spec.namespace)
            return await _caught_up(tx, schedule_id)

        try:
            schedule = await self.write(op)
        except UniqueConflict:  # renamed at once by two transactions (PostgreSQL)
            raise ScheduleExists(spec.name, spec.namespace) from None
        self.notify("schedules")
        return schedule

    async def get_schedule(self, key: str, namespace: str | None = None) -> Schedule:
        async def op(tx: Tx) -> Schedule:
            row = await tx.one(BY_KEY, (key, namespace or "default", key, key))
            if row is None:
                raise ScheduleNotFound(key)
            return _codec.schedule_from_row(row)

        return await self.read(op, small=True)

    async def list_schedules(
        self,
        *,
        namespace: str | None = None,
        source: ScheduleSource | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Schedule], str | None]:
        where, params = _listing(namespace, source, cursor)
        sql = LIST.format(where=" AND ".join(where) or "1 = 1")

        async def op(tx: Tx) -> list[Schedule]:
            rows = await tx.all(sql, (*params, limit + 1))
            return [_codec.schedule_from_row(r) for r in rows]

        items = await self.read(op, small=True)
        if len(items) > limit:
            items = items[:limit]
            return items, _codec.encode_cursor(items[-1].namespace, items[-1].name)
        return items, None

    async def count_schedules(self, namespace: str) -> int:
        async def op(tx: Tx) -> int:
            row = await tx.one(COUNT, (namespace,))
            return int(row[0]) if row else 0

        return await self.read(op, small=True)

    async def delete_schedule(self, schedule_id: str) -> None:
        async def op(tx: Tx) -> None:
            if await tx.execute(DELETE, (schedule_id,)) == 0:
                raise ScheduleNotFound(schedule_id)
            await subjects.forget_schedule(tx, schedule_id)
            await debounce.forget_schedule(tx, schedule_id)

        await self.write(op)
        self.notify("schedules")

    async def set_schedule_enabled(
        self, schedule_id: str, enabled: bool, next_run_at: datetime | None
    ) -> Schedule:
        params = (enabled, _codec.ts(next_run_at), time.time(), schedule_id)

        async def op(tx: Tx) -> Schedule:
            if await tx.execute(SET_ENABLED, params) == 0:
                raise ScheduleNotFound(schedule_id)
            return await _caught_up(tx, schedule_id)

        schedule = await self.write(op)
        self.notify("schedules")
        return schedule

    async def park_schedules(self, known_tasks: Iterable[str]) -> tuple[int, int]:
        known = sorted(set(known_tasks))
        marks = ", ".join("?" * len(known))
        unknown_sql = PARK.format(known=f"task NOT IN ({marks})" if known else "1 = 1")
        known_sql = PARK.format(known=f"task IN ({marks})" if known else "1 = 0")

        async def op(tx: Tx) -> tuple[int, int]:
            parked = await tx.execute(unknown_sql, (True, False, *known))
            unparked = await tx.execute(known_sql, (False, True, *known))
            return parked, unparked

        result = await self.write(op)
        if result[1]:
            self.notify("schedules")
        return result

    async def next_due_at(self) -> datetime | None:
        async def op(tx: Tx) -> float | None:
            row = await tx.one(NEXT_DUE.format(d=tx.dialect))
            return row[0] if row else None

        return _codec.dt(await self.read(op))


def _values(spec: ScheduleSpec, next_run_at: datetime | None, now_s: float) -> tuple[Any, ...]:
    """The values of `_SAVED`: the spec's, and the trigger columns derived from it (the lead
    is computed from the time as stored, which is what a read gives back)."""
    stored = _codec.dt(_codec.ts(next_run_at))
    return (
        spec.namespace, spec.name, spec.task, _codec.trigger_json(spec.trigger),
        _codec.policies_json(spec), _codec.dumps(spec.args), spec.description, spec.enabled,
        spec.source.value, _codec.ts(next_run_at), now_s, *_codec.trigger_columns(spec.trigger),
        _codec.lead_seconds(spec.trigger, stored),
    )  # fmt: skip


async def _caught_up(tx: Tx, schedule_id: str) -> Schedule:
    """A saved or resumed schedule, once its per-subject and debounce state gave it the
    earliest next time they ask for."""
    await subjects.resume(tx, schedule_id)
    await debounce.restore_due(tx, schedule_id)
    row = await tx.one(BY_ID, (schedule_id,))
    if row is None:
        raise ScheduleNotFound(schedule_id)
    return _codec.schedule_from_row(row)


def _listing(
    namespace: str | None, source: ScheduleSource | None, cursor: str | None
) -> tuple[list[str], list[Any]]:
    """The filters of a listing page and their parameters (keyset: after the cursor's
    ``(namespace, name)``)."""
    where: list[str] = []
    params: list[Any] = []
    if namespace is not None:
        where.append(LIST_NAMESPACE)
        params.append(namespace)
    if source is not None:
        where.append(LIST_SOURCE)
        params.append(source.value)
    if cursor:
        where.append(LIST_AFTER)
        params += _codec.decode_name_cursor(cursor)
    return where, params
