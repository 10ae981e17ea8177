"""Per-subject firing on PostgreSQL: idle and messages triggers, ``for_each_subject``
fan-out, quotas. (Contract: `agentcron.store.base.Store.fire_due` and ``record_activity``.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from agentcron.models import Run, Schedule
from agentcron.store.base import FirePlan, Planner

if TYPE_CHECKING:
    import psycopg

    Conn = psycopg.AsyncConnection[Any]


async def fire_subject_schedule(
    conn: Conn, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    """Fire a due idle / messages schedule for its due subjects; move its next_run_at."""
    await conn.execute("UPDATE schedules SET next_run_at = NULL WHERE id = %s", (schedule.id,))
    return []


async def fan_out(
    conn: Conn, schedule: Schedule, plan: FirePlan, planner: Planner, now_s: float
) -> list[Run]:
    """Replace each queued slot run of ``plan`` by one run per matching subject."""
    raise NotImplementedError
