"""Per-subject firing on SQLite: idle and messages triggers, ``for_each_subject`` fan-out,
quotas. (Contract: `agentcron.store.base.Store.fire_due` and ``record_activity``.)"""

from __future__ import annotations

import sqlite3

from agentcron.models import Run, Schedule
from agentcron.store.base import FirePlan, Planner


def fire_subject_schedule(
    conn: sqlite3.Connection, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    """Fire a due idle / messages schedule for its due subjects; move its next_run_at."""
    conn.execute("UPDATE schedules SET next_run_at = NULL WHERE id = ?", (schedule.id,))
    return []


def fan_out(
    conn: sqlite3.Connection, schedule: Schedule, plan: FirePlan, planner: Planner, now_s: float
) -> list[Run]:
    """Replace each queued slot run of ``plan`` by one run per matching subject."""
    raise NotImplementedError
