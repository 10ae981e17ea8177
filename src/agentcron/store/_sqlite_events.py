"""Temporary: the old SQLite modules not yet written once (``_sqlite_runs``,
``_sqlite_schedules``) call the shared events and debounce verbs (`agentcron.store.core.events`,
``core.debounce``) on their connection through these. Goes with them."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from agentcron.models import Run, Schedule
from agentcron.rules.events import Emitted, Pending, wake
from agentcron.store._ops import SqliteOps
from agentcron.store.base import Planner
from agentcron.store.core import debounce, events
from agentcron.store.db import Tx, drive

__all__ = ["EventVerbs", "emit", "fire_debounced", "fired_runs", "forget_schedule", "restore_due"]


class EventVerbs(SqliteOps):
    """What the old run verbs take from events (the store's `emitted`)."""

    def emitted(self, out: Emitted) -> None:
        wake(self.notify, out)


def _tx(conn: sqlite3.Connection) -> Tx:
    from agentcron.store.sqlite.tx import SqliteTx  # not at import: the package imports us

    return SqliteTx(conn)


def emit(
    conn: sqlite3.Connection,
    pending: Sequence[Pending],
    now_s: float,
    planner: Planner | None,
    *,
    with_events: bool = False,
) -> Emitted:
    return drive(events.emit(_tx(conn), pending, now_s, planner, with_events=with_events))


def fired_runs(
    conn: sqlite3.Connection, runs: Sequence[Run], now_s: float, planner: Planner | None
) -> Emitted:
    return drive(events.fired_runs(_tx(conn), runs, now_s, planner))


def fire_debounced(
    conn: sqlite3.Connection, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    return drive(debounce.fire_debounced(_tx(conn), schedule, planner, now_s))


def restore_due(conn: sqlite3.Connection, schedule_id: str) -> None:
    drive(debounce.restore_due(_tx(conn), schedule_id))


def forget_schedule(conn: sqlite3.Connection, schedule_id: str) -> None:
    drive(debounce.forget_schedule(_tx(conn), schedule_id))
