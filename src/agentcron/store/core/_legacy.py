"""A temporary bridge while the store's parts move into `agentcron.store.core`: a part
already written once calls a part not yet moved through these functions, which hand the
transaction's connection to that part's per-dialect module. Each function goes when its
part has moved; the module goes with the last one. Events and debounce have moved: their
names here are the shared functions themselves (`core.events`, `core.debounce`)."""

from __future__ import annotations

from typing import Any

from agentcron.models import NewRun, Run, Schedule
from agentcron.store import _pg_subjects, _sqlite_subjects
from agentcron.store.base import FirePlan, Planner
from agentcron.store.core.debounce import fire_debounced, forget_schedule, restore_due
from agentcron.store.core.events import emit, fired_runs
from agentcron.store.db import Tx

__all__ = [
    "emit",
    "fan_out",
    "fan_out_now",
    "fire_debounced",
    "fire_subject_schedule",
    "fired_runs",
    "forget_schedule",
    "restore_due",
    "subjects_forget_schedule",
    "subjects_resume",
]


def _conn(tx: Tx) -> Any:
    return tx.conn  # type: ignore[attr-defined]  # SqliteTx and PgTx both hold one


# -- subjects ----------------------------------------------------------------------------------
async def subjects_resume(tx: Tx, schedule_id: str) -> None:
    if tx.dialect.name == "sqlite":
        _sqlite_subjects.resume(_conn(tx), schedule_id)
    else:
        await _pg_subjects.resume(_conn(tx), schedule_id)


async def subjects_forget_schedule(tx: Tx, schedule_id: str) -> None:
    if tx.dialect.name == "sqlite":
        _sqlite_subjects.forget_schedule(_conn(tx), schedule_id)
    else:
        await _pg_subjects.forget_schedule(_conn(tx), schedule_id)


async def fire_subject_schedule(
    tx: Tx, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    if tx.dialect.name == "sqlite":
        return _sqlite_subjects.fire_subject_schedule(_conn(tx), schedule, planner, now_s)
    return await _pg_subjects.fire_subject_schedule(_conn(tx), schedule, planner, now_s)


async def fan_out(
    tx: Tx, schedule: Schedule, plan: FirePlan, planner: Planner, now_s: float
) -> list[Run]:
    """Note: SQLite inserts the plan's skipped slot runs too; PostgreSQL leaves them to its
    caller."""
    if tx.dialect.name == "sqlite":
        return _sqlite_subjects.fan_out(_conn(tx), schedule, plan, planner, now_s)
    return await _pg_subjects.fan_out(_conn(tx), schedule, plan, planner, now_s)


async def fan_out_now(
    tx: Tx, schedule: Schedule, slot_run: NewRun, planner: Planner, now_s: float
) -> tuple[list[Run], dict[str, int]]:
    if tx.dialect.name == "sqlite":
        return _sqlite_subjects.fan_out_now(_conn(tx), schedule, slot_run, planner, now_s)
    return await _pg_subjects.fan_out_now(_conn(tx), schedule, slot_run, planner, now_s)
