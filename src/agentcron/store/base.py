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
from typing import TYPE_CHECKING, Any, Protocol

from agentcron.models import (
    Event,
    NewEvent,
    NewRun,
    Run,
    RunOutcome,
    RunStatus,
    Schedule,
    ScheduleSource,
    ScheduleSpec,
    WorkerInfo,
)
from agentcron.rules.firing import FirePlan, Planner
from agentcron.store.core.write_health import WriteFailure
from agentcron.store.durable_contract import DurableState, DurableStore
from agentcron.subjects import Subject

if TYPE_CHECKING:
    from agentcron.models import ApiToken

__all__ = [
    "FAN_OUT_RETURNED",
    "DurableState",
    "FannedOut",
    "FinishedRun",
    "FirePlan",
    "Planner",
    "RunFilter",
    "Store",
    "StoreStats",
    "WriteFailure",
]

FAN_OUT_RETURNED = 1000
"""At most this many runs of one fanned-out slot are returned by `Store.fire_due` (all are
inserted): reading back 100,000 runs would cost more than inserting them."""


@dataclass(frozen=True, slots=True)
class FannedOut:
    """What a manual trigger of a ``for_each_subject`` schedule queued (`Store.fan_out_now`):
    one run per matching subject, ``queued`` of them queued and ``skipped`` ones recorded as
    skipped (over the schedule's ``limit``); ``runs``: the first of them (at most
    `FAN_OUT_RETURNED`), by subject."""

    queued: int
    skipped: int
    runs: list[Run]

    def to_dict(self, limit: int = 100) -> dict[str, Any]:
        """``{"queued": N, "skipped": K, "runs": [the first `limit` runs]}``."""
        return {
            "queued": self.queued,
            "skipped": self.skipped,
            "runs": [run.to_dict() for run in self.runs[:limit]],
        }


@dataclass(frozen=True, slots=True)
class RunFilter:
    namespace: str | None = None
    task: str | None = None
    status: RunStatus | None = None
    schedule_id: str | None = None
    subject: str | None = None


@dataclass(frozen=True, slots=True)
class FinishedRun:
    """What ``/metrics`` needs of a finished run (see `Store.finished_runs`)."""

    id: int
    task: str
    status: RunStatus
    finished_at: datetime
    duration_s: float | None  # finished_at - started_at
    lag_s: float | None  # started_at - scheduled_for (or queued_at)


@dataclass(frozen=True, slots=True)
class StoreStats:
    runs_by_status: dict[str, int]
    schedules: int
    schedules_enabled: int
    schedules_parked: int
    oldest_queued_at: datetime | None
    workers: int
    extra: dict[str, Any] = field(default_factory=dict)


class Store(DurableStore, Protocol):
    """A durable store for schedules and runs.

    Lifecycle: ``await store.open()`` (connects, applies pending migrations unless
    ``migrate=False``; raises `SchemaError` for a database that is not agentcron's or is newer
    than this code, or, when made with ``create=False``, for a missing database or one
    without the agentcron schema, which it leaves as it was; `StoreUnavailable` when it
    cannot be reached), ``await store.close()``.
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

    async def count_schedules(self, namespace: str) -> int:
        """How many schedules ``namespace`` holds, of every source (one count over the
        ``(namespace, name)`` index, not a listing)."""
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
        """When the next schedule must be fired: the earliest ``next_run_at - lead_s`` of
        enabled, unparked schedules (an index lookup, O(log n)). A time-triggered slot is
        fired up to its lead (at most 1 s) early; its run waits for the slot."""
        ...

    async def fire_due(self, now: datetime, planner: Planner, limit: int = 500) -> list[Run]:
        """Fire up to ``limit`` schedules with ``next_run_at - lead_s <= now``, earliest first.

        Exactly once: for each due schedule, in one transaction with the lock that excludes
        other schedulers (SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``FOR UPDATE SKIP LOCKED``),
        the planner's runs are inserted (a run whose dedup key exists is ignored) and the
        schedule moves to the planner's ``next_run_at``. Returns the runs inserted.

        Per-subject schedules (each run made by ``planner.for_subject``, deduplicated per
        subject; a run over the schedule's ``limit`` quota is inserted ``skipped`` with the
        reason):

        - ``idle``: one run per subject of the namespace matching the filter whose deadline
          ``last_activity_at + idle`` passed since the last evaluation (read through the
          activity index: cost O(due subjects)); not again until the subject was active again;
          a fire within ``cooldown`` of the previous one for that subject is deferred to the
          cooldown's end. The schedule then moves to the earliest deadline still ahead, or
          None (`record_activity` wakes it). Subjects already idle when the schedule first
          sees activity do not fire until they are active again.
        - ``messages``: one run per multiple of N reached since the last fire (the newest 100),
          with ``{"kind": "messages", "count": k*N}``; then None until woken.
        - ``for_each_subject`` (time triggers): each queued slot run of the plan becomes one run
          per matching subject (in batches of ``batch_size``); skipped slot runs are inserted
          as planned. The runs returned are capped at `FAN_OUT_RETURNED` per slot (all are
          inserted).
        """
        ...

    async def fan_out_now(
        self, schedule: Schedule, slot_run: NewRun, planner: Planner
    ) -> FannedOut:
        """Fan ``slot_run`` (a manual trigger of the ``for_each_subject`` ``schedule``, for
        ``planner.now``) out as `fire_due` fans out a fired slot: one run per matching subject
        of the schedule's namespace, made by ``planner.for_subject`` with the ``schedule`` as
        given (its args may differ from the stored ones for this trigger), in batches, over
        the ``limit`` quota inserted skipped, deduplicated per (schedule, slot, subject); in
        one transaction, with their lifecycle events. The schedule itself does not move.
        Raises `ScheduleNotFound` when it was deleted."""
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
        """Runs whose lease expired before ``now`` (their worker died), each with a
        ``LeaseExpired`` error: ``cancelled`` when its cancellation was asked for; ``dead``
        when it was already recovered ``max_recoveries`` times; else queued again at once,
        whatever its retries: ``recoveries`` + 1 and ``max_attempts`` + 1, so that the lost
        attempt stays counted in ``attempts`` without using up a retry (only failures the
        task raised do). Returns the reaped runs."""
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

    # -- events ---------------------------------------------------------------------------------
    # Every run state change above also stores its lifecycle event, in the transaction of the
    # change and one statement per batch: ``run.queued`` (enqueue, fire, retry, reaped back
    # to the queue, handed back on shutdown), ``run.started`` (claim), ``run.succeeded``,
    # ``run.failed`` (an attempt failed: ``final`` false with ``retry_at``, or true for a
    # permanent failure), ``run.dead``, ``run.cancelled``, ``run.skipped``. Data: ``{"run_id",
    # "task", "status", "schedule_id", "attempts", "error": {"type", "message"} | null}``;
    # subject and namespace are the run's. Those events fire event schedules like published
    # ones, in the same transaction, except: never the run's own schedule; never when the run
    # was itself fired by an event schedule in that transaction; not beyond a chain of 16 runs
    # fired by run events.
    async def publish(
        self, events: Sequence[NewEvent], now: datetime, planner: Planner
    ) -> tuple[list[Event], list[Run]]:
        """Store ``events`` and, in the same transaction, fire the enabled, unparked ``event``
        schedules of each event's namespace whose pattern (a glob on the type) and subject
        filter match it. Returns the stored events (in input order, ids increasing) and the
        runs fired.

        Without debounce: one run per (schedule, event), made by ``planner.for_subject`` with
        ``{"kind": "event", "event": {"id", "type", "namespace", "subject", "data",
        "created_at"}, "key": "e<id>"}`` (deduplicated per event), subject the event's.
        With debounce: the (schedule, subject) group keeps its first time, becomes due at
        ``min(now + debounce, first + max_wait)`` and lists the event; the schedule's
        ``next_run_at`` moves to that time if earlier. `fire_due` then fires each due group as
        one run with ``{"kind": "event", "events": [...], "event": <the last>, "count": n}``
        (the latest 200 events) and moves ``next_run_at`` to the earliest group left (or None).

        Raises `ValidationError` naming the field (``type`` not a dotted lower-case name,
        ``subject`` empty or over 256 characters, ``data`` not a JSON object or over 64 KiB,
        ``namespace``); then nothing is stored.
        """
        ...

    async def read_events(
        self,
        after_id: int,
        *,
        namespace: str | None = None,
        pattern: str | None = None,
        limit: int = 500,
        until: int | None = None,
    ) -> list[Event]:
        """Events with ``after_id < id <= until`` ordered by id, at most ``limit``: of
        ``namespace`` (None: all), whose type matches the glob ``pattern`` (None or ``*``:
        all). Raises `ValidationError` (``after``, ``pattern``).

        On PostgreSQL ids are taken at insert and become visible at commit, so an id may
        appear after a larger one (`agentcron.events.Subscription` waits for such gaps)."""
        ...

    async def event_ids(self, after_id: int, limit: int = 1000) -> list[int]:
        """The ids of stored events above ``after_id``, ascending, at most ``limit`` (an
        index-only scan: how a subscriber sees gaps, ids not yet visible)."""
        ...

    async def last_event_id(self) -> int:
        """The largest event id stored (0 when there is none)."""
        ...

    async def purge_events(self, before: datetime) -> int:
        """Delete events created before ``before`` (in batches); returns how many."""
        ...

    # -- subjects -------------------------------------------------------------------------------
    async def record_activity(
        self, namespace: str, subject: str, kind: str, now: datetime
    ) -> Subject:
        """Record activity of ``subject`` at ``now``; return the subject as it is now.

        Upserts the subject: ``first_seen_at`` on first sight, ``last_activity_at`` the latest
        activity recorded (an older ``now`` does not move it back), ``message_count`` + 1 when
        ``kind`` is ``"message"``. In the same transaction it wakes, through an index (never a
        scan), the per-subject schedules of ``namespace`` this concerns, enabled and whose
        subject filter matches: an ``idle`` schedule is due at the latest ``now + idle``; a
        ``messages`` schedule is due ``now`` when the new count is a multiple of its N.
        Raises `ValidationError` (field ``subject``, ``kind`` or ``namespace``).
        """
        ...

    async def list_subjects(
        self, namespace: str = "default", *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Subject], str | None]:
        """Subjects of ``namespace`` ordered by name; the page and the next page's cursor."""
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

    def outage(self) -> str | None:
        """Why the store is known to be unreachable right now (PostgreSQL down: the last
        connection error and for how long), or None. Answers at once, without I/O."""
        ...

    async def check_writes(self, probe_after_s: float = 5.0) -> WriteFailure | None:
        """Whether the store can write: None, or the failure of its latest write attempt (the
        error, and since when writes fail). When it attempted no write in the last
        ``probe_after_s`` seconds, it first tries a small one (a row in ``agentcron_meta``).
        Writes refused for what they hold do not count, nor a failure to connect at all:
        that raises `StoreUnavailable` (PostgreSQL).
        """
        ...

    async def finished_runs(
        self, after: datetime, after_id: int, until: datetime, limit: int
    ) -> list[FinishedRun]:
        """Runs with ``(finished_at, id) > (after, after_id)`` and ``finished_at <= until``,
        ordered by ``(finished_at, id)``, at most ``limit`` (an index range scan): what a
        scrape feeds its counters and histograms with, from where the last one stopped."""
        ...

    # -- API tokens (agentcron.auth) -----------------------------------------------------------
    async def add_token(self, token: ApiToken, token_hash: str) -> None:
        """Store a token with the SHA-256 of its secret (the secret itself is never stored)."""
        ...

    async def find_token(self, token_hash: str) -> ApiToken | None:
        """The token whose secret hashes to ``token_hash`` (revoked ones too), or None."""
        ...

    async def list_tokens(self) -> list[ApiToken]:
        """Every token, revoked ones too, oldest first."""
        ...

    async def revoke_token(self, token_id: str, now: datetime) -> ApiToken:
        """Mark revoked (idempotent: the first revocation time stays). Raises `TokenNotFound`."""
        ...

    async def touch_token(self, token_id: str, now: datetime) -> None:
        """Set ``last_used_at`` (callers do it at most once a minute per token)."""
        ...

    async def has_tokens(self) -> bool:
        """Whether any unrevoked token exists (then the API requires one)."""
        ...

    # -- wake-ups --------------------------------------------------------------------------------
    def notify(self, channel: str) -> None:
        """Wake waiters on ``channel`` ("runs", "schedules", "events") in this process and
        others."""
        ...

    async def wait(self, channel: str, timeout: float) -> bool:
        """Wait until ``channel`` is notified (from any process) or ``timeout`` seconds pass.
        Returns True when woken. A lost notification only delays: callers re-read tables."""
        ...
