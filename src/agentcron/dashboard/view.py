"""What the dashboard shows, read through the `App` for one principal (its namespaces only)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from agentcron.api.health import HealthPolicy, assess
from agentcron.api.schemas import HealthOut
from agentcron.app import App
from agentcron.auth import Principal
from agentcron.models import Run, RunStatus, Schedule, WorkerInfo

__all__ = ["Panels", "ScheduleRow", "WorkerRow", "gather"]

MAX_SCHEDULES = 200
MAX_RUNS = 50
MAX_FAILURES = 20
MAX_WAITING = 20
MAX_LOOKUPS = 50  # schedules whose last run is not among the recent runs: looked up one by one
_FAILURES = (RunStatus.DEAD, RunStatus.FAILED)


@dataclass(frozen=True, slots=True)
class ScheduleRow:
    schedule: Schedule
    last_status: RunStatus | None

    @property
    def state(self) -> str:
        """``parked`` (its task is not registered), ``paused``, or ``enabled``."""
        if self.schedule.parked:
            return "parked"
        return "enabled" if self.schedule.enabled else "paused"


@dataclass(frozen=True, slots=True)
class WorkerRow:
    worker: WorkerInfo
    alive: bool


@dataclass(frozen=True, slots=True)
class Panels:
    now: datetime
    health: HealthOut
    counts: dict[str, int]  # runs by status, in `RunStatus` order
    schedules: list[ScheduleRow]
    schedule_names: dict[str, str]  # id -> name, to label runs
    runs: list[Run]
    failures: list[Run]
    workers: list[WorkerRow]
    waiting: list[Run]  # durably suspended runs (a sleep, a signal, an event), newest first

    @property
    def approvals(self) -> list[Run]:
        """The waiting runs whose agent proposes a tool call for a person to approve."""
        return [r for r in self.waiting if r.waiting_for and "call" in r.waiting_for]


async def gather(app: App, who: Principal, policy: HealthPolicy) -> Panels:
    """Everything one page shows: schedules, recent runs, failed and dead runs, workers,
    run counts and health. A token sees only its namespaces (workers and health are global,
    as in ``/v1/workers`` and ``/healthz``)."""
    spaces = _namespaces(who)
    schedules = [s for ns in spaces for s in await _schedules(app, ns)]
    runs = await _runs(app, spaces, None, MAX_RUNS)
    failures = await _runs(app, spaces, _FAILURES, MAX_FAILURES)
    waiting = await _runs(app, spaces, (RunStatus.WAITING,), MAX_WAITING)
    last = await _last_statuses(app, schedules, runs)
    return Panels(
        now=app.clock.now(),
        health=await assess(app, policy),
        counts=await _counts(app, spaces),
        schedules=[ScheduleRow(s, last.get(s.id)) for s in schedules],
        schedule_names={s.id: s.name for s in schedules},
        runs=runs,
        failures=failures,
        workers=await _workers(app, policy),
        waiting=waiting,
    )


def _namespaces(who: Principal) -> list[str | None]:
    return [None] if who.all_namespaces else list(who.namespaces)


async def _schedules(app: App, namespace: str | None) -> list[Schedule]:
    page, _ = await app.list_schedules(namespace=namespace, limit=MAX_SCHEDULES)
    return page


async def _runs(
    app: App, spaces: list[str | None], statuses: tuple[RunStatus, ...] | None, limit: int
) -> list[Run]:
    """The newest ``limit`` runs of ``spaces`` (with one of ``statuses``), newest first."""
    found: list[Run] = []
    for ns in spaces:
        for status in statuses or (None,):
            page, _ = await app.list_runs(namespace=ns, status=status, limit=limit)
            found += page
    found.sort(key=lambda r: r.id, reverse=True)
    return found[:limit]


async def _last_statuses(
    app: App, schedules: list[Schedule], recent: list[Run]
) -> dict[str, RunStatus]:
    """The status of each schedule's latest run: from the recent runs, else looked up (for at
    most `MAX_LOOKUPS` schedules that have fired)."""
    last: dict[str, RunStatus] = {}
    for run in recent:  # newest first
        if run.schedule_id is not None:
            last.setdefault(run.schedule_id, run.status)
    missing = [s for s in schedules if s.id not in last and s.last_run_at is not None]
    for s in missing[:MAX_LOOKUPS]:
        page, _ = await app.list_runs(schedule=s, limit=1)
        if page:
            last[s.id] = page[0].status
    return last


async def _counts(app: App, spaces: list[str | None]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for ns in spaces:
        total.update((await app.stats(ns)).runs_by_status)
    return {status.value: total[status.value] for status in RunStatus}


async def _workers(app: App, policy: HealthPolicy) -> list[WorkerRow]:
    now = app.clock.now()
    stale_s = policy.worker_stale_s(app)
    return [
        WorkerRow(w, (now - w.last_heartbeat_at).total_seconds() <= stale_s)
        for w in await app.list_workers()
    ]
