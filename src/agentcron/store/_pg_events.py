"""Temporary: the old PostgreSQL modules not yet written once (``_pg_runs``,
``_pg_schedules``) call the shared events and debounce verbs (`agentcron.store.core.events`,
``core.debounce``) on their connection through these. Goes with them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from agentcron.models import Run, Schedule
from agentcron.rules.events import Emitted, Pending
from agentcron.store.base import Planner
from agentcron.store.core import debounce, events
from agentcron.store.db import Tx

__all__ = ["emit", "fire_debounced", "fired_runs", "forget_schedule", "restore_due"]


def _tx(conn: Any) -> Tx:
    from agentcron.store.postgres.tx import PgTx  # not at import: the package imports us

    return PgTx(conn)


async def emit(
    conn: Any,
    pending: Sequence[Pending],
    now_s: float,
    planner: Planner | None,
    *,
    with_events: bool = False,
) -> Emitted:
    return await events.emit(_tx(conn), pending, now_s, planner, with_events=with_events)


async def fired_runs(
    conn: Any, runs: Sequence[Run], now_s: float, planner: Planner | None
) -> Emitted:
    return await events.fired_runs(_tx(conn), runs, now_s, planner)


async def fire_debounced(
    conn: Any, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    return await debounce.fire_debounced(_tx(conn), schedule, planner, now_s)


async def restore_due(conn: Any, schedule_id: str) -> None:
    await debounce.restore_due(_tx(conn), schedule_id)


async def forget_schedule(conn: Any, schedule_id: str) -> None:
    await debounce.forget_schedule(_tx(conn), schedule_id)
