"""A temporary bridge while the store's parts move into `agentcron.store.core`: a part
already written once calls a part not yet moved through these functions, which hand the
transaction's connection to that part's per-dialect module. Each function goes when its
part has moved; the module goes with the last one. Events and debounce have moved: their
names here are the shared functions themselves (`core.events`, `core.debounce`)."""

from __future__ import annotations

from typing import Any

from agentcron.models import NewRun, Run, Schedule
from agentcron.store.base import FirePlan, Planner
from agentcron.store.core import fanout, subjects
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


# -- subjects (written once: `core.subjects`, `core.fanout`) -------------------------------------
async def subjects_resume(tx: Tx, schedule_id: str) -> None:
    await subjects.resume(tx, schedule_id)


async def subjects_forget_schedule(tx: Tx, schedule_id: str) -> None:
    await subjects.forget_schedule(tx, schedule_id)


async def fire_subject_schedule(
    tx: Tx, schedule: Schedule, planner: Planner, now_s: float
) -> list[Run]:
    return await subjects.fire_subject_schedule(tx, schedule, planner, now_s)


async def fan_out(
    tx: Tx, schedule: Schedule, plan: FirePlan, planner: Planner, now_s: float
) -> list[Run]:
    """Inserts the plan's skipped slot runs too (`core.fanout.fan_out`): a caller inserts
    only the runs of plans without ``for_each_subject``."""
    return await fanout.fan_out(tx, schedule, plan, planner, now_s)


async def fan_out_now(
    tx: Tx, schedule: Schedule, slot_run: NewRun, planner: Planner, now_s: float
) -> tuple[list[Run], dict[str, int]]:
    return await fanout.fan_out_now(tx, schedule, slot_run, planner, now_s)
