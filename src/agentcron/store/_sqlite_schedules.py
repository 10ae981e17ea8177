"""Schedule verbs of the SQLite store (contract: `agentcron.store.base.Store`)."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agentcron.errors import ScheduleExists, ScheduleNotFound
from agentcron.models import NewRun, Run, Schedule, ScheduleSource, ScheduleSpec
from agentcron.store import _codec, _event_rules, _sqlite_events
from agentcron.store._codec import RUN_INSERT_COLUMNS, RUN_INSERT_MARKS, SCHEDULE_COLUMNS
from agentcron.store._ops import SqliteOps as _Ops
from agentcron.store.base import FannedOut, Planner
from agentcron.store.core import fanout, subjects
from agentcron.store.db import drive

_INSERT_PLAIN = (
    f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) VALUES ({RUN_INSERT_MARKS}) ON CONFLICT DO NOTHING"
)


def new_schedule_id() -> str:
    return uuid.uuid4().hex[:16]


class ScheduleVerbs(_Ops):
    async def add_schedule(self, spec: ScheduleSpec, next_run_at: datetime | None) -> Schedule:
        schedule_id = new_schedule_id()

        def op(conn: sqlite3.Connection) -> Schedule:
            now = _now()
            try:
                conn.execute(
                    f"INSERT INTO schedules ({SCHEDULE_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, NULL, ?, ?)",
                    (schedule_id, spec.namespace, spec.name, spec.task,
                     _codec.trigger_json(spec.trigger), _codec.policies_json(spec),
                     _codec.dumps(spec.args), spec.description, int(spec.enabled),
                     spec.source.value, _codec.ts(next_run_at), now, now),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise ScheduleExists(spec.name, spec.namespace) from None
            _set_trigger_columns(conn, schedule_id, spec)
            return _get(conn, schedule_id)

        schedule: Schedule = await self._write(op)
        self.notify("schedules")
        return schedule

    async def update_schedule(
        self, schedule_id: str, spec: ScheduleSpec, next_run_at: datetime | None
    ) -> Schedule:
        def op(conn: sqlite3.Connection) -> Schedule:
            try:
                cur = conn.execute(
                    "UPDATE schedules SET namespace=?, name=?, task=?, trigger=?, policies=?, "
                    "args=?, description=?, enabled=?, source=?, next_run_at=?, updated_at=? "
                    "WHERE id=?",
                    (spec.namespace, spec.name, spec.task, _codec.trigger_json(spec.trigger),
                     _codec.policies_json(spec), _codec.dumps(spec.args), spec.description,
                     int(spec.enabled), spec.source.value, _codec.ts(next_run_at), _now(),
                     schedule_id),
                )  # fmt: skip
            except sqlite3.IntegrityError:
                raise ScheduleExists(spec.name, spec.namespace) from None
            if cur.rowcount == 0:
                raise ScheduleNotFound(schedule_id)
            _set_trigger_columns(conn, schedule_id, spec)
            _sqlite_events.restore_due(conn, schedule_id)
            drive(subjects.resume(_tx(conn), schedule_id))
            return _get(conn, schedule_id)

        schedule: Schedule = await self._write(op)
        self.notify("schedules")
        return schedule

    async def get_schedule(self, key: str, namespace: str | None = None) -> Schedule:
        def op(conn: sqlite3.Connection) -> Schedule:
            row = conn.execute(
                f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id=? "
                "UNION ALL "
                f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE namespace=? AND name=? LIMIT 1",
                (key, namespace or "default", key),
            ).fetchone()
            if row is None:
                raise ScheduleNotFound(key)
            return _codec.schedule_from_row(row)

        schedule: Schedule = await self._read_small(op)
        return schedule

    async def list_schedules(
        self,
        *,
        namespace: str | None = None,
        source: ScheduleSource | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Schedule], str | None]:
        where, params = ["1=1"], []
        if namespace is not None:
            where.append("namespace = ?")
            params.append(namespace)
        if source is not None:
            where.append("source = ?")
            params.append(source.value)
        if cursor:
            after_ns, after_name = _codec.decode_name_cursor(cursor)
            where.append("(namespace, name) > (?, ?)")
            params += [after_ns, after_name]
        sql = (
            f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE {' AND '.join(where)} "
            "ORDER BY namespace, name LIMIT ?"
        )

        def op(conn: sqlite3.Connection) -> list[Schedule]:
            rows = conn.execute(sql, (*params, limit + 1)).fetchall()
            return [_codec.schedule_from_row(r) for r in rows]

        items: list[Schedule] = await self._read_small(op)
        if len(items) > limit:
            items = items[:limit]
            return items, _codec.encode_cursor(items[-1].namespace, items[-1].name)
        return items, None

    async def count_schedules(self, namespace: str) -> int:
        def op(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT count(*) FROM schedules WHERE namespace = ?", (namespace,)
            ).fetchone()
            return int(row[0])

        count: int = await self._read_small(op)
        return count

    async def delete_schedule(self, schedule_id: str) -> None:
        def op(conn: sqlite3.Connection) -> None:
            if conn.execute("DELETE FROM schedules WHERE id=?", (schedule_id,)).rowcount == 0:
                raise ScheduleNotFound(schedule_id)
            drive(subjects.forget_schedule(_tx(conn), schedule_id))
            _sqlite_events.forget_schedule(conn, schedule_id)

        await self._write(op)
        self.notify("schedules")

    async def set_schedule_enabled(
        self, schedule_id: str, enabled: bool, next_run_at: datetime | None
    ) -> Schedule:
        def op(conn: sqlite3.Connection) -> Schedule:
            cur = conn.execute(
                "UPDATE schedules SET enabled=?, next_run_at=?, updated_at=? WHERE id=?",
                (int(enabled), _codec.ts(next_run_at), _now(), schedule_id),
            )
            if cur.rowcount == 0:
                raise ScheduleNotFound(schedule_id)
            _sqlite_events.restore_due(conn, schedule_id)
            drive(subjects.resume(_tx(conn), schedule_id))
            return _get(conn, schedule_id)

        schedule: Schedule = await self._write(op)
        self.notify("schedules")
        return schedule

    async def park_schedules(self, known_tasks: Iterable[str]) -> tuple[int, int]:
        known = sorted(set(known_tasks))
        marks = ", ".join("?" * len(known))

        def op(conn: sqlite3.Connection) -> tuple[int, int]:
            parked = conn.execute(
                f"UPDATE schedules SET parked=1 WHERE parked=0 AND task NOT IN ({marks})", known
            ).rowcount
            unparked = conn.execute(
                f"UPDATE schedules SET parked=0 WHERE parked=1 AND task IN ({marks})", known
            ).rowcount
            return parked, unparked

        result: tuple[int, int] = await self._write(op)
        if result[1]:
            self.notify("schedules")
        return result

    async def next_due_at(self) -> datetime | None:
        def op(conn: sqlite3.Connection) -> float | None:
            row = conn.execute(
                "SELECT min(next_run_at - lead_s) FROM schedules "
                "WHERE enabled=1 AND parked=0 AND next_run_at IS NOT NULL"
            ).fetchone()
            return row[0] if row else None

        return _codec.dt(await self._read(op))

    async def fire_due(self, now: datetime, planner: Planner, limit: int = 500) -> list[Run]:
        now_s = now.timestamp()

        def op(conn: sqlite3.Connection) -> tuple[list[Run], Any]:
            rows = conn.execute(
                f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE enabled=1 AND parked=0 "
                "AND next_run_at IS NOT NULL AND next_run_at - lead_s <= ? "
                "ORDER BY next_run_at - lead_s LIMIT ?",
                (now_s, limit),
            ).fetchall()
            schedules = [_codec.schedule_from_row(row) for row in rows]
            timed = [s for s in schedules if not _per_subject(s)]
            fired: list[Run] = []
            for schedule in schedules:
                if _per_subject(schedule):
                    fired += _fire_per_subject(conn, schedule, planner, now_s)
            fired += _fire_timed(conn, timed, planner, now_s)
            return fired, _sqlite_events.fired_runs(conn, fired, now_s, planner)

        runs: list[Run]
        runs, emitted = await self._write(op)
        _event_rules.wake(self.notify, emitted)
        runs += emitted.runs
        if runs:
            self.notify("runs")
        return runs

    async def fan_out_now(
        self, schedule: Schedule, slot_run: NewRun, planner: Planner
    ) -> FannedOut:
        now_s = planner.now.timestamp()

        def op(conn: sqlite3.Connection) -> tuple[list[Run], dict[str, int], Any]:
            _get(conn, schedule.id)  # still there
            tx = _tx(conn)
            runs, counts = drive(fanout.fan_out_now(tx, schedule, slot_run, planner, now_s))
            return runs, counts, _sqlite_events.fired_runs(conn, runs, now_s, planner)

        runs, counts, emitted = await self._write(op)
        _event_rules.wake(self.notify, emitted)
        self.notify("runs")
        return FannedOut(counts.get("queued", 0), counts.get("skipped", 0), runs)


def _per_subject(schedule: Schedule) -> bool:
    return _codec.trigger_columns(schedule.trigger)[0] in _codec.PER_SUBJECT_KINDS


def _fire_per_subject(
    conn: sqlite3.Connection, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    from agentcron.store import _sqlite_events

    if _codec.trigger_columns(schedule.trigger)[0] == "event":
        return _sqlite_events.fire_debounced(conn, schedule, planner, now_s)
    return drive(subjects.fire_subject_schedule(_tx(conn), schedule, planner, now_s))


def _fire_timed(
    conn: sqlite3.Connection, schedules: list[Schedule], planner: Planner, now_s: float
) -> list[Run]:
    """Fire time-triggered schedules: one query for which are busy, plain inserts (a taken
    dedup key is ignored), one statement moving them all forward."""
    if not schedules:
        return []
    marks = ", ".join("?" * len(schedules))
    busy = {
        row[0]
        for row in conn.execute(
            f"SELECT DISTINCT schedule_id FROM runs WHERE schedule_id IN ({marks}) "
            "AND status IN ('queued', 'running')",
            [s.id for s in schedules],
        )
    }
    inserted: list[Run] = []
    moves = []
    for schedule in schedules:
        plan = planner(schedule, schedule.id in busy)
        if schedule.for_each_subject is not None:
            inserted += drive(fanout.fan_out(_tx(conn), schedule, plan, planner, now_s))
        else:
            inserted += insert_new_runs(conn, plan.runs, now_s)
        moves.append((_codec.ts(plan.next_run_at), _codec.ts(plan.last_run_at), plan.lead_s,
                      schedule.id))  # fmt: skip
    conn.executemany(
        "UPDATE schedules SET next_run_at=?, last_run_at=coalesce(?, last_run_at), lead_s=? "
        "WHERE id=?",
        moves,
    )
    return inserted


def insert_new_runs(conn: sqlite3.Connection, runs: list[NewRun], now_s: float) -> list[Run]:
    """Insert runs, ignoring those whose dedup key is taken; return the ones inserted."""
    out = []
    for new in runs:
        params = _codec.run_insert_params(new, now_s)
        cur = conn.execute(_INSERT_PLAIN, params)
        if cur.rowcount == 1:
            out.append(_codec.run_from_new(cur.lastrowid or 0, new, now_s, params))
    return out


def _set_trigger_columns(conn: sqlite3.Connection, schedule_id: str, spec: ScheduleSpec) -> None:
    next_run_at = conn.execute(
        "SELECT next_run_at FROM schedules WHERE id=?", (schedule_id,)
    ).fetchone()[0]
    conn.execute(
        "UPDATE schedules SET trigger_kind=?, subject_glob=?, wait_s=?, every_n=?, lead_s=? "
        "WHERE id=?",
        (*_codec.trigger_columns(spec.trigger),
         _codec.lead_seconds(spec.trigger, _codec.dt(next_run_at)), schedule_id),
    )  # fmt: skip


def _get(conn: sqlite3.Connection, schedule_id: str) -> Schedule:
    row = conn.execute(
        f"SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE id=?", (schedule_id,)
    ).fetchone()
    if row is None:
        raise ScheduleNotFound(schedule_id)
    return _codec.schedule_from_row(row)


def _now() -> float:
    import time

    return time.time()


def _tx(conn: sqlite3.Connection) -> Any:
    """``conn`` as the shared code's transaction (imported here: the sqlite package imports
    this module)."""
    from agentcron.store.sqlite.tx import SqliteTx

    return SqliteTx(conn)
