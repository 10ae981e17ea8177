"""Schedule verbs of the PostgreSQL store (contract: `agentcron.store.base.Store`)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import psycopg

from agentcron.errors import ScheduleExists, ScheduleNotFound
from agentcron.models import NewRun, Run, Schedule, ScheduleSource, ScheduleSpec
from agentcron.store import _codec, _pg_events
from agentcron.store._codec import SCHEDULE_COLUMNS
from agentcron.store._event_rules import Emitted
from agentcron.store._ops import PgOps as _PgOps
from agentcron.store._pg_helpers import (
    Conn,
    fetchall,
    fetchone,
    insert_runs,
)
from agentcron.store._sqlite_schedules import new_schedule_id
from agentcron.store.base import FannedOut, FirePlan, Planner
from agentcron.store.core import fanout, subjects


class PgScheduleVerbs(_PgOps):
    async def add_schedule(self, spec: ScheduleSpec, next_run_at: datetime | None) -> Schedule:
        schedule_id = new_schedule_id()

        async def op(conn: Conn) -> Schedule:
            now = time.time()
            # Not a unique violation when the name is taken: processes starting with one
            # config add its schedules at once, and the server would log each loser's ERROR.
            added = await fetchone(
                conn,
                f"INSERT INTO schedules ({SCHEDULE_COLUMNS}) VALUES (%s, %s, %s, %s, "
                "%s::jsonb, %s::jsonb, %s::jsonb, %s, %s, false, %s, %s, NULL, %s, %s) "
                "ON CONFLICT DO NOTHING RETURNING id",
                (schedule_id, spec.namespace, spec.name, spec.task,
                 _codec.trigger_json(spec.trigger), _codec.policies_json(spec),
                 _codec.dumps(spec.args), spec.description, spec.enabled,
                 spec.source.value, _codec.ts(next_run_at), now, now),
            )  # fmt: skip
            if added is None:
                raise ScheduleExists(spec.name, spec.namespace)
            await _set_trigger_columns(conn, schedule_id, spec)
            return await _get(conn, schedule_id)

        schedule = await self._tx(op)
        self.notify("schedules")
        return schedule

    async def update_schedule(
        self, schedule_id: str, spec: ScheduleSpec, next_run_at: datetime | None
    ) -> Schedule:
        async def op(conn: Conn) -> Schedule:
            try:
                async with conn.transaction():
                    cur = await conn.execute(
                        "UPDATE schedules SET namespace=%s, name=%s, task=%s, trigger=%s::jsonb, "
                        "policies=%s::jsonb, args=%s::jsonb, description=%s, enabled=%s, "
                        "source=%s, next_run_at=%s, updated_at=%s WHERE id=%s",
                        (spec.namespace, spec.name, spec.task, _codec.trigger_json(spec.trigger),
                         _codec.policies_json(spec), _codec.dumps(spec.args), spec.description,
                         spec.enabled, spec.source.value, _codec.ts(next_run_at), time.time(),
                         schedule_id),
                    )  # fmt: skip
            except psycopg.errors.UniqueViolation:
                raise ScheduleExists(spec.name, spec.namespace) from None
            if cur.rowcount == 0:
                raise ScheduleNotFound(schedule_id)
            await _set_trigger_columns(conn, schedule_id, spec)
            await subjects.resume(_tx(conn), schedule_id)
            await _pg_events.restore_due(conn, schedule_id)
            return await _get(conn, schedule_id)

        schedule = await self._tx(op)
        self.notify("schedules")
        return schedule

    async def get_schedule(self, key: str, namespace: str | None = None) -> Schedule:
        async def op(conn: Conn) -> Schedule:
            row = await fetchone(
                conn,
                f"SELECT {SCHEDULE_COLUMNS} FROM schedules "
                "WHERE id=%s OR (namespace=%s AND name=%s) ORDER BY (id = %s) DESC LIMIT 1",
                (key, namespace or "default", key, key),
            )
            if row is None:
                raise ScheduleNotFound(key)
            return _codec.schedule_from_row(row)

        return await self._tx(op)

    async def count_schedules(self, namespace: str) -> int:
        row = await self._statement(
            "SELECT count(*) FROM schedules WHERE namespace = %s", (namespace,)
        )
        return int(row[0])

    async def list_schedules(
        self,
        *,
        namespace: str | None = None,
        source: ScheduleSource | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Schedule], str | None]:
        where, params = ["true"], []
        if namespace is not None:
            where.append("namespace = %s")
            params.append(namespace)
        if source is not None:
            where.append("source = %s")
            params.append(source.value)
        if cursor:
            after_ns, after_name = _codec.decode_name_cursor(cursor)
            where.append("(namespace, name) > (%s, %s)")
            params += [after_ns, after_name]
        sql = (
            f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE {' AND '.join(where)} "
            "ORDER BY namespace, name LIMIT %s"
        )

        async def op(conn: Conn) -> list[Schedule]:
            rows = await fetchall(conn, sql, (*params, limit + 1))
            return [_codec.schedule_from_row(r) for r in rows]

        items = await self._tx(op)
        if len(items) > limit:
            items = items[:limit]
            return items, _codec.encode_cursor(items[-1].namespace, items[-1].name)
        return items, None

    async def delete_schedule(self, schedule_id: str) -> None:
        async def op(conn: Conn) -> None:
            cur = await conn.execute("DELETE FROM schedules WHERE id=%s", (schedule_id,))
            if cur.rowcount == 0:
                raise ScheduleNotFound(schedule_id)
            await subjects.forget_schedule(_tx(conn), schedule_id)
            await _pg_events.forget_schedule(conn, schedule_id)

        await self._tx(op)
        self.notify("schedules")

    async def set_schedule_enabled(
        self, schedule_id: str, enabled: bool, next_run_at: datetime | None
    ) -> Schedule:
        async def op(conn: Conn) -> Schedule:
            cur = await conn.execute(
                "UPDATE schedules SET enabled=%s, next_run_at=%s, updated_at=%s WHERE id=%s",
                (enabled, _codec.ts(next_run_at), time.time(), schedule_id),
            )
            if cur.rowcount == 0:
                raise ScheduleNotFound(schedule_id)
            await subjects.resume(_tx(conn), schedule_id)
            await _pg_events.restore_due(conn, schedule_id)
            return await _get(conn, schedule_id)

        schedule = await self._tx(op)
        self.notify("schedules")
        return schedule

    async def park_schedules(self, known_tasks: Iterable[str]) -> tuple[int, int]:
        known = sorted(set(known_tasks))

        async def op(conn: Conn) -> tuple[int, int]:
            parked = await conn.execute(
                "UPDATE schedules SET parked=true WHERE NOT parked AND NOT (task = ANY(%s))",
                (known,),
            )
            unparked = await conn.execute(
                "UPDATE schedules SET parked=false WHERE parked AND task = ANY(%s)", (known,)
            )
            return parked.rowcount, unparked.rowcount

        result = await self._tx(op)
        if result[1]:
            self.notify("schedules")
        return result

    async def next_due_at(self) -> datetime | None:
        async def op(conn: Conn) -> float | None:
            row = await fetchone(
                conn,
                "SELECT min(next_run_at - lead_s) FROM schedules "
                "WHERE enabled AND NOT parked AND next_run_at IS NOT NULL",
            )
            return row[0] if row else None

        return _codec.dt(await self._tx(op))

    async def fire_due(self, now: datetime, planner: Planner, limit: int = 500) -> list[Run]:
        now_s = now.timestamp()

        async def op(conn: Conn) -> tuple[list[Run], Emitted]:
            fired = await fire(conn)
            return fired, await _pg_events.fired_runs(conn, fired, now_s, planner)

        async def fire(conn: Conn) -> list[Run]:
            rows = await fetchall(
                conn,
                f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE enabled AND NOT parked "
                "AND next_run_at IS NOT NULL AND next_run_at - lead_s <= %s "
                "ORDER BY next_run_at - lead_s LIMIT %s FOR UPDATE SKIP LOCKED",
                (now_s, limit),
            )
            if not rows:
                return []
            schedules = [_codec.schedule_from_row(r) for r in rows]
            special = [s for s in schedules if _special(s)]
            timed = [s for s in schedules if not _special(s)]
            inserted = await _fire_special(conn, special, planner, now_s)
            if not timed:
                return inserted
            busy = await _busy(conn, [s.id for s in timed])
            plans = [(s, planner(s, s.id in busy)) for s in timed]
            plain = [(s, p) for s, p in plans if s.for_each_subject is None]
            inserted += await insert_runs(conn, [r for _, p in plain for r in p.runs], now_s)
            for s, p in plans:
                if s.for_each_subject is not None:
                    inserted += await fanout.fan_out(_tx(conn), s, p, planner, now_s)
            await _advance(conn, plans)
            return inserted

        runs, emitted = await self._tx(op)
        self.emitted(emitted)
        runs += emitted.runs
        if runs:
            self.notify("runs")
        return runs

    async def fan_out_now(
        self, schedule: Schedule, slot_run: NewRun, planner: Planner
    ) -> FannedOut:
        now_s = planner.now.timestamp()

        async def op(conn: Conn) -> tuple[list[Run], dict[str, int], Emitted]:
            # the schedule's row lock: a firing of it (SKIP LOCKED) waits for the next loop,
            # so that both count its quota right
            row = await fetchone(
                conn, "SELECT id FROM schedules WHERE id = %s FOR UPDATE", (schedule.id,)
            )
            if row is None:
                raise ScheduleNotFound(schedule.id)
            tx = _tx(conn)
            runs, counts = await fanout.fan_out_now(tx, schedule, slot_run, planner, now_s)
            return runs, counts, await _pg_events.fired_runs(conn, runs, now_s, planner)

        runs, counts, emitted = await self._tx(op)
        self.emitted(emitted)
        self.notify("runs")
        return FannedOut(counts.get("queued", 0), counts.get("skipped", 0), runs)


def _special(schedule: Schedule) -> bool:
    """Idle, messages and event schedules fire per subject, not on a clock."""
    return _codec.trigger_columns(schedule.trigger)[0] in _codec.PER_SUBJECT_KINDS


async def _fire_special(
    conn: Conn, schedules: list[Schedule], planner: Planner, now_s: float
) -> list[Run]:
    from agentcron.store import _pg_events

    out: list[Run] = []
    for schedule in schedules:
        if _codec.trigger_columns(schedule.trigger)[0] == "event":
            out += await _pg_events.fire_debounced(conn, schedule, planner, now_s)
        else:
            out += await subjects.fire_subject_schedule(_tx(conn), schedule, planner, now_s)
    return out


async def _busy(conn: Conn, ids: list[str]) -> set[str]:
    rows = await fetchall(
        conn,
        "SELECT DISTINCT schedule_id FROM runs WHERE schedule_id = ANY(%s) "
        "AND status IN ('queued', 'running')",
        (ids,),
    )
    return {r[0] for r in rows}


async def _advance(conn: Conn, plans: list[tuple[Schedule, FirePlan]]) -> None:
    await conn.execute(
        "UPDATE schedules SET next_run_at = v.next, last_run_at = coalesce(v.last, last_run_at), "
        "lead_s = v.lead FROM unnest(%s::text[], %s::float8[], %s::float8[], %s::float8[]) "
        "AS v(id, next, last, lead) WHERE schedules.id = v.id",
        (
            [s.id for s, _ in plans],
            [_codec.ts(p.next_run_at) for _, p in plans],
            [_codec.ts(p.last_run_at) for _, p in plans],
            [p.lead_s for _, p in plans],
        ),
    )


async def _set_trigger_columns(conn: Conn, schedule_id: str, spec: ScheduleSpec) -> None:
    row = await fetchone(conn, "SELECT next_run_at FROM schedules WHERE id=%s", (schedule_id,))
    lead_s = _codec.lead_seconds(spec.trigger, _codec.dt(row[0] if row else None))
    await conn.execute(
        "UPDATE schedules SET trigger_kind=%s, subject_glob=%s, wait_s=%s, every_n=%s, "
        "lead_s=%s WHERE id=%s",
        (*_codec.trigger_columns(spec.trigger), lead_s, schedule_id),
    )


async def _get(conn: Conn, schedule_id: str) -> Schedule:
    row = await fetchone(
        conn, f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id=%s", (schedule_id,)
    )
    if row is None:
        raise ScheduleNotFound(schedule_id)
    return _codec.schedule_from_row(row)


def _tx(conn: Conn) -> Any:
    """``conn`` as the shared code's transaction (imported here: the postgres package
    imports this module)."""
    from agentcron.store.postgres.tx import PgTx

    return PgTx(conn)
