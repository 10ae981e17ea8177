"""The Store protocol: the domain verbs every backend implements, with their contract.

All coordination between agentcron processes goes through a store; no process keeps state
another needs. Both backends (``sqlite.py``, ``postgres.py``) pass one contract suite
(``tests/store``). Times in and out are aware UTC datetimes. Driver errors never leave a
store: they become `agentcron.errors.StoreError` subclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from agentcron.models import (
    NewRun,
    Run,
    RunOutcome,
    RunStatus,
    Schedule,
    ScheduleSource,
    ScheduleSpec,
    WorkerInfo,
)

__all__ = [
    "FirePlan",
    "Planner",
    "RunFilter",
    "Store",
    "StoreStats",
]


@dataclass(frozen=True, slots=True)
class FirePlan:
    """What firing one due schedule does: the runs to insert and where the schedule moves next.

    ``runs`` may hold queued runs and ``SKIPPED`` records; each carries its dedup key
    ``(schedule, slot)`` so that inserting it twice is impossible. ``next_run_at`` None means the
    trigger is exhausted (the schedule stays, disabled of further fires).
    """

    runs: list[NewRun]
    next_run_at: datetime | None
    last_run_at: datetime | None = None


class Planner(Protocol):
    """Plans runs inside a firing transaction (pure: no I/O). ``now`` is the firing time."""

    now: datetime

    def __call__(self, schedule: Schedule, busy: bool) -> FirePlan:
        """A due time-triggered schedule: its runs and next fire time (``busy``: a run of
        it is queued or running)."""
        ...

    def for_subject(
        self, schedule: Schedule, subject: str | None, slot: datetime, info: dict[str, Any]
    ) -> NewRun:
        """One run of ``schedule`` for ``subject`` (idle, messages, event, fan-out), with
        ``info`` merged into its trigger info and a dedup key per (schedule, slot, subject)."""
        ...


@dataclass(frozen=True, slots=True)
class RunFilter:
    namespace: str | None = None
    task: str | None = None
    status: RunStatus | None = None
    schedule_id: str | None = None
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class StoreStats:
    runs_by_status: dict[str, int]
    schedules: int
    schedules_enabled: int
    schedules_parked: int
    oldest_queued_at: datetime | None
    workers: int
    extra: dict[str, Any] = field(default_factory=dict)


class Store(Protocol):
    """A durable store for schedules and runs.

    Lifecycle: ``await store.open()`` (connects, applies pending migrations unless
    ``migrate=False``; raises `SchemaError` for a database that is not agentcron's or is newer
    than this code, `StoreUnavailable` when it cannot be reached), ``await store.close()``.
    """

    url: str
    applied_migrations: list[str]
    """The migrations the last ``open()`` applied (empty when the schema was up to date)."""

    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def migrate(self) -> list[str]:
        """Apply pending migrations; return the names applied (empty when up to date)."""
        ...

    async def schema_version(self) -> int: ...

    # -- schedules -----------------------------------------------------------------------------
    async def add_schedule(self, spec: ScheduleSpec, next_run_at: datetime | None) -> Schedule:
        """Insert a schedule. Raises `ScheduleExists` when ``(namespace, name)`` is taken."""
        ...

    async def update_schedule(
        self, schedule_id: str, spec: ScheduleSpec, next_run_at: datetime | None
    ) -> Schedule:
        """Replace every caller-decided field. Raises `ScheduleNotFound`, `ScheduleExists`."""
        ...

    async def get_schedule(self, key: str, namespace: str | None = None) -> Schedule:
        """By id, else by name in ``namespace`` (default ``default``). Raises `ScheduleNotFound`."""
        ...

    async def list_schedules(
        self,
        *,
        namespace: str | None = None,
        source: ScheduleSource | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Schedule], str | None]:
        """Ordered by (namespace, name); returns the page and the cursor of the next page."""
        ...

    async def delete_schedule(self, schedule_id: str) -> None:
        """Delete a schedule; its runs stay (history). Raises `ScheduleNotFound`."""
        ...

    async def set_schedule_enabled(
        self, schedule_id: str, enabled: bool, next_run_at: datetime | None
    ) -> Schedule:
        """Pause (``enabled=False``, ``next_run_at`` None) or resume. Raises `ScheduleNotFound`."""
        ...

    async def park_schedules(self, known_tasks: Iterable[str]) -> tuple[int, int]:
        """Mark schedules whose task is not in ``known_tasks`` parked, the others not.

        Parked schedules are kept and shown, never fired. Returns ``(parked, unparked)``.
        """
        ...

    async def next_due_at(self) -> datetime | None:
        """Earliest ``next_run_at`` of enabled, unparked schedules (index lookup, O(log n))."""
        ...

    async def fire_due(self, now: datetime, planner: Planner, limit: int = 500) -> list[Run]:
        """Fire up to ``limit`` schedules with ``next_run_at <= now``, earliest first.

        Exactly once: for each due schedule, in one transaction with the lock that excludes
        other schedulers (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``FOR UPDATE SKIP LOCKED``),
        the planner's runs are inserted (a run whose dedup key exists is ignored) and the
        schedule moves to the planner's ``next_run_at``. Returns the runs inserted.
        """
        ...

    # -- runs ----------------------------------------------------------------------------------
    async def enqueue(self, runs: Sequence[NewRun], now: datetime) -> list[Run]:
        """Insert runs in one transaction. A run whose ``dedup_key`` already exists is not
        inserted; the existing run is returned in its place. Order of the result = input."""
        ...

    async def claim_runs(
        self,
        worker_id: str,
        *,
        now: datetime,
        lease: timedelta,
        limit: int,
        queues: Sequence[str] | None = None,
        tasks: Sequence[str] | None = None,
    ) -> list[Run]:
        """Lease up to ``limit`` queued runs with ``available_at <= now``.

        Eligible: status queued, queue in ``queues`` (None: any), task in ``tasks`` (None: any),
        and no other run with the same ``serial_key`` running. Order: priority desc,
        available_at, id. Claimed runs become running, attempts + 1, started_at = now,
        lease owned by ``worker_id`` until ``now + lease``. Safe under concurrent claimers:
        a run is claimed by one worker.
        """
        ...

    async def extend_leases(
        self, worker_id: str, run_ids: Sequence[int], until: datetime
    ) -> set[int]:
        """Extend the leases this worker still holds (one statement); return the ids among
        them whose cancellation was requested. Runs whose lease was lost are not extended."""
        ...

    async def finish_runs(
        self, worker_id: str, outcomes: Sequence[RunOutcome], now: datetime
    ) -> int:
        """Record outcomes of runs this worker holds; outcomes for runs whose lease it lost
        (reaped, cancelled) are ignored. Returns how many were written."""
        ...

    async def reap_expired(self, now: datetime) -> list[Run]:
        """Runs whose lease expired go back to queued, or to dead when their attempts are
        spent, with an error saying the lease expired. Returns the reaped runs."""
        ...

    async def next_available_at(
        self, queues: Sequence[str] | None = None, tasks: Sequence[str] | None = None
    ) -> datetime | None:
        """Earliest ``available_at`` among queued runs a worker could claim."""
        ...

    async def get_run(self, run_id: int) -> Run:
        """Raises `RunNotFound`."""
        ...

    async def list_runs(
        self, filters: RunFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Run], str | None]:
        """Newest first (by id); returns the page and the cursor of the next page."""
        ...

    async def cancel_run(self, run_id: int, now: datetime) -> Run:
        """A queued run is cancelled at once; a running one gets ``cancel_requested`` and its
        worker cancels it at its next heartbeat. Raises `RunNotFound`, `InvalidRunState` when
        the run already finished."""
        ...

    async def retry_run(self, run_id: int, now: datetime) -> Run:
        """Queue a dead / failed / cancelled run again for one more attempt. Raises
        `RunNotFound`, `InvalidRunState` for a queued or running run."""
        ...

    async def purge_runs(self, finished_before: datetime) -> int:
        """Delete finished runs older than ``finished_before``; returns how many."""
        ...

    # -- workers, tasks, stats, maintenance ----------------------------------------------------
    async def register_tasks(self, tasks: dict[str, dict[str, Any]], now: datetime) -> None:
        """Record the tasks a process registered (name -> description), so that processes
        that do not import task code (CLI, API) can validate task names."""
        ...

    async def known_tasks(self) -> dict[str, dict[str, Any]]: ...
    async def register_worker(self, info: WorkerInfo) -> None: ...
    async def heartbeat_worker(self, worker_id: str, now: datetime, running: int) -> None: ...
    async def remove_worker(self, worker_id: str) -> None: ...
    async def list_workers(self) -> list[WorkerInfo]: ...
    async def stats(self, namespace: str | None = None) -> StoreStats: ...
    async def vacuum(self) -> None:
        """Reclaim space (SQLite ``VACUUM``/``optimize``; PostgreSQL ``ANALYZE``)."""
        ...

    # -- wake-ups --------------------------------------------------------------------------------
    def notify(self, channel: str) -> None:
        """Wake waiters on ``channel`` ("runs", "schedules") in this process and others."""
        ...

    async def wait(self, channel: str, timeout: float) -> bool:
        """Wait until ``channel`` is notified (from any process) or ``timeout`` seconds pass.
        Returns True when woken. A lost notification only delays: callers re-read tables."""
        ...
