"""Builders and small helpers for the store contract suite (Store protocol only, no SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcron.models import NewRun, Run, RunOutcome, RunStatus, Schedule, ScheduleSpec
from agentcron.store import FirePlan, RunFilter, Store

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
LEASE = timedelta(seconds=30)
MISSING_ID = 987_654_321  # no test makes that many runs (ids may keep growing across tests)


LEAD = timedelta(seconds=1)
"""How early a schedule with `make_spec`'s default trigger (``every 1m``) is due for firing:
a time-triggered slot is fired up to min(1 s, a quarter of its period) before it."""


def make_spec(name: str = "digest", **fields: Any) -> ScheduleSpec:
    fields.setdefault("task", "digest")
    fields.setdefault("trigger", {"every": "1m"})
    return ScheduleSpec(name=name, **fields)


def make_run(task: str = "work", **fields: Any) -> NewRun:
    return NewRun(task=task, **fields)


async def enqueue_one(store: Store, now: datetime = T0, **fields: Any) -> Run:
    (run,) = await store.enqueue([make_run(**fields)], now)
    return run


async def claim(
    store: Store, worker: str = "w1", now: datetime = T0, limit: int = 10, **kw: Any
) -> list[Run]:
    return await store.claim_runs(worker, now=now, lease=LEASE, limit=limit, **kw)


async def start_one(store: Store, worker: str = "w1", now: datetime = T0, **fields: Any) -> Run:
    """Enqueue a run and claim it: a running run leased by ``worker``."""
    run = await enqueue_one(store, now, **fields)
    claimed = await claim(store, worker, now, tasks=[run.task])
    assert [r.id for r in claimed] == [run.id]
    return claimed[0]


async def finish(
    store: Store, run: Run, status: RunStatus, worker: str = "w1", now: datetime = T0, **kw: Any
) -> Run:
    written = await store.finish_runs(worker, [RunOutcome(run.id, status, **kw)], now)
    assert written == 1
    return await store.get_run(run.id)


async def all_runs(store: Store, filters: RunFilter | None = None) -> list[Run]:
    """Every run matching ``filters``, following cursors."""
    out: list[Run] = []
    cursor: str | None = None
    while True:
        page, cursor = await store.list_runs(filters, limit=100, cursor=cursor)
        out += page
        if cursor is None:
            return out


def ids(runs: Sequence[Run]) -> list[int]:
    return [r.id for r in runs]


@dataclass
class RecordingPlanner:
    """Plans one queued run for the due slot (``next_run_at``) and moves on by ``step``.

    Records every call as ``(schedule, busy)``. The dedup key is ``(schedule, slot)``, as the
    real planner's, so firing one slot twice must insert one run; ``dedup=False`` leaves it
    out, so that only the firing lock keeps a slot from firing twice.
    """

    step: timedelta | None = MINUTE
    dedup: bool = True
    calls: list[tuple[Schedule, bool]] = field(default_factory=list)

    def __call__(self, schedule: Schedule, busy: bool) -> FirePlan:
        self.calls.append((schedule, busy))
        slot = schedule.next_run_at
        assert slot is not None
        run = NewRun(
            task=schedule.task,
            args=schedule.args,
            namespace=schedule.namespace,
            schedule_id=schedule.id,
            scheduled_for=slot,
            available_at=slot,
            dedup_key=f"{schedule.id}@{slot.isoformat()}" if self.dedup else None,
            trigger_info={"schedule": schedule.name},
        )
        after = slot + self.step if self.step is not None else None
        return FirePlan(runs=[run], next_run_at=after, last_run_at=slot)

    @property
    def names(self) -> list[str]:
        return [schedule.name for schedule, _ in self.calls]


def known_bug(request: pytest.FixtureRequest, kinds: set[str], reason: str) -> None:
    """Mark this test a strict xfail for the store kinds that still have the bug."""
    if request.getfixturevalue("store_kind") in kinds:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
