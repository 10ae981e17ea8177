"""Events on SQLite: publish (firing event schedules in the same transaction), debounce,
run lifecycle events. (Contract: `agentcron.store.base.Store`.)"""

from __future__ import annotations

import sqlite3

from agentcron.models import Run, Schedule
from agentcron.store.base import Planner


def fire_debounced(
    conn: sqlite3.Connection, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    """Fire the due debounce groups of an event schedule; move its next_run_at."""
    conn.execute("UPDATE schedules SET next_run_at = NULL WHERE id = ?", (schedule.id,))
    return []
