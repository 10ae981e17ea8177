"""The worker: claim runs in batches under a lease, run them, write results in groups.

- claims up to its free slots in one statement; waits for a wake-up when nothing is ready;
- heartbeats: extends the leases of all its runs in one statement (those finished but not yet
  recorded too), picks up cancellation requests, refreshes its row in ``workers`` and reaps
  runs whose lease expired (any worker's; not within a lease after the store was
  unreachable, when no worker could heartbeat);
- writes finished runs in groups (every few milliseconds), not one transaction per run;
- graceful stop: stops claiming, lets running tasks finish up to ``shutdown_timeout`` (still
  heartbeating, so nobody reaps them meanwhile), then cancels the rest and hands their runs
  back to the queue;
- a task with ``max_concurrency`` is claimed in a statement limited to its free room;
- after a run succeeded, the result callbacks of its task and of its schedule are called
  before the success is recorded (`agentcron.callbacks`);
- a run that reached a durable wait is suspended (`Store.suspend_run`) before its slot is
  freed: it leaves the worker until the wait ends; the reaper pass also wakes waiting runs
  whose wait ended (`Store.wake_due`), so that a deployment of workers alone needs no
  scheduler for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from agentcron._runner import DEFAULT_MAX_RESULT_BYTES, RunCancelled, execute, make_context
from agentcron.callbacks import ResultCallback, deliver
from agentcron.clock import Clock, SystemClock
from agentcron.context import RunContext
from agentcron.durable import Journal, Suspend
from agentcron.errors import StoreError, StoreRefused
from agentcron.logs import plural
from agentcron.models import Run, RunOutcome, RunStatus, WorkerInfo
from agentcron.store.base import Store
from agentcron.tasks import Task, TaskRegistry
from agentcron.tracing import record_outcome, run_span

__all__ = ["Worker"]

log = logging.getLogger("agentcron.worker")

FLUSH_INTERVAL_S = 0.002
GATHER_S = 0.005
CLAIM_GAP_S = 0.01
BLOCKED_POLL_S = 0.25
SHUTDOWN_ERROR = {"type": "WorkerShutdown", "message": "the worker stopped before the run finished"}


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    def __init__(
        self,
        store: Store,
        registry: TaskRegistry,
        *,
        clock: Clock | None = None,
        concurrency: int = 32,
        queues: list[str] | None = None,
        lease: timedelta = timedelta(seconds=30),
        shutdown_timeout: timedelta = timedelta(seconds=30),
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        poll_s: float = 5.0,
        worker_id: str | None = None,
        result_callbacks: Mapping[tuple[str, str], ResultCallback] | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.clock = clock or SystemClock()
        self.concurrency = concurrency
        self.queues = queues
        self.lease = lease
        self.shutdown_timeout = shutdown_timeout
        self.max_result_bytes = max_result_bytes
        self.poll_s = poll_s
        self.id = worker_id or new_worker_id()
        self.result_callbacks = result_callbacks or {}  # by (namespace, schedule name)
        self.processed = 0
        self._active: dict[int, tuple[asyncio.Task[None], RunContext | None]] = {}
        self._per_task: Counter[str] = Counter()
        self._pending: list[RunOutcome] = []
        self._flushing: asyncio.Task[None] | None = None
        self._slot_freed = asyncio.Event()
        self._cancel_requested: set[int] = set()
        self._claimed_at = float("-inf")  # loop time of the last claim
        self._reap_after = float("-inf")  # loop time before which heartbeats do not reap
        # (inf: the store was unreachable; a lease after it is back)
        self._executor = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="agentcron-task"
        )

    # -- main loop -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> None:
        while True:  # the store may be restarting as the process starts: wait for it
            try:
                await self._register()
                break
            except StoreError as exc:
                if burst or stop.is_set():
                    self._executor.shutdown(wait=False)
                    raise
                log.warning("store unavailable, retrying within 1s: %s", exc)
                with contextlib.suppress(StoreError):
                    await self.store.wait("runs", 1.0)
        stopped = asyncio.Event()  # heartbeats go on until running tasks are settled
        heartbeat = asyncio.create_task(self._heartbeat_loop(stopped))
        log.info("worker %s started (concurrency %d)", self.id, self.concurrency)
        try:
            while not stop.is_set():
                try:
                    claimed, drained = await self._claim()
                    if burst and not claimed and not self._active and await self._queue_empty():
                        break
                    if drained or len(self._active) >= self.concurrency:
                        await self._wait(stop)
                        if drained:
                            await self._pace(stop)
                    else:
                        await self._gather_slots()
                except StoreError as exc:  # the store is down: keep running, retry
                    log.warning("store unavailable, retrying within 1s: %s", exc)
                    with contextlib.suppress(StoreError):  # woken when it is back
                        await self.store.wait("runs", 1.0)
        finally:
            try:
                await self._drain()
            finally:
                stopped.set()
                await asyncio.wait([heartbeat], timeout=5)
                heartbeat.cancel()
                await self._close()

    async def _claim(self) -> tuple[int, bool]:
        """Claim what fits; returns how many runs, and whether the queue ran dry (a claim got
        fewer than it asked for: claiming again right away would find nothing)."""
        self._claimed_at = asyncio.get_running_loop().time()
        free = self.concurrency - len(self._active)
        claimed, drained = 0, True
        for tasks, room in self._claim_groups(free):
            if free <= 0:
                drained = False
                break
            limit = min(room, free)
            runs = await self.store.claim_runs(
                self.id,
                now=self.clock.now(),
                lease=self.lease,
                limit=limit,
                queues=self.queues,
                tasks=tasks,
            )
            for run in runs:
                self._start(run)
            claimed += len(runs)
            free -= len(runs)
            drained = drained and len(runs) < limit
        return claimed, drained

    def _claim_groups(self, free: int) -> list[tuple[list[str], int]]:
        """Claims that cannot overrun a task's ``max_concurrency``: one claim of up to
        ``free`` runs for the tasks with room for that many (usually all), and one claim per
        smaller room for the tasks with that room, most constrained first."""
        by_room: dict[int, list[str]] = {}
        for t in self.registry:
            room = free
            if t.max_concurrency is not None:
                room = min(free, t.max_concurrency - self._per_task[t.name])
            if room > 0:
                by_room.setdefault(room, []).append(t.name)
        return [(by_room[room], room) for room in sorted(by_room)]

    def _claimable_tasks(self) -> list[str]:
        return [
            t.name
            for t in self.registry
            if t.max_concurrency is None or self._per_task[t.name] < t.max_concurrency
        ]

    async def _queue_empty(self) -> bool:
        await self._flush()
        return await self.store.next_available_at(self.queues, self.registry.names()) is None

    async def _gather_slots(self) -> None:
        """Claim in batches: when under a quarter of the slots are free, wait up to
        `GATHER_S` for more to free, so that a busy worker makes a few larger claims instead
        of one transaction per finished run (it matters most on PostgreSQL)."""
        deadline = asyncio.get_running_loop().time() + GATHER_S
        while self.concurrency - len(self._active) < max(1, self.concurrency // 4):
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                return
            try:
                await asyncio.wait_for(self._slot_freed.wait(), remaining)
            except TimeoutError:
                return
            self._slot_freed.clear()

    async def _wait(self, stop: asyncio.Event) -> None:
        """Until something may be claimable: a slot freed when all were busy; else a new or
        retried run (a wake-up), the next delayed run's time, or a freed slot when that is
        what held runs back (a task at its ``max_concurrency``, a busy serial run)."""
        if len(self._active) >= self.concurrency:  # full: only a finished run makes room
            waits: list[Coroutine[Any, Any, bool]] = [self._slot_freed.wait()]
        else:
            timeout = self.poll_s
            claimable = self._claimable_tasks()
            nxt = await self.store.next_available_at(self.queues, claimable)  # may raise
            if nxt is not None:
                timeout = max(0.0, min(timeout, (nxt - self.clock.now()).total_seconds()))
            held_back = len(claimable) < len(self.registry)
            if timeout <= 0:  # ready but not claimable (serial run busy): wait for a change
                timeout = min(self.poll_s, BLOCKED_POLL_S)
                held_back = True
            waits = [self.store.wait("runs", timeout)]
            if held_back:
                waits.append(self._slot_freed.wait())
        waits.append(stop.wait())
        futures = [asyncio.ensure_future(w) for w in waits]
        try:
            await asyncio.wait(futures, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for fut in futures:
                fut.cancel()
        self._slot_freed.clear()

    async def _pace(self, stop: asyncio.Event) -> None:
        """After a claim that emptied the queue, claim again no sooner than `CLAIM_GAP_S`
        after it: runs that trickle in one by one (each with its wake-up, which wakes every
        worker) are then taken several per claim; the first run after a quiet spell is
        claimed at once."""
        delay = self._claimed_at + CLAIM_GAP_S - asyncio.get_running_loop().time()
        if delay > 0 and not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    # -- one run -------------------------------------------------------------------------------
    def _start(self, run: Run) -> None:
        task = self.registry.get(run.task)  # claims name only registered tasks
        ctx = None
        if task.takes_ctx:
            journal = Journal(self.store, run.id, run.subject, self.id, self.clock)
            ctx = make_context(run, self.id, journal)
        self._per_task[run.task] += 1
        job = asyncio.create_task(self._execute(task, run, ctx), name=f"agentcron-run-{run.id}")
        self._active[run.id] = (job, ctx)

    async def _execute(self, task: Task, run: Run, ctx: RunContext | None) -> None:
        outcome: RunOutcome | None = None
        try:
            with run_span(run) as span:
                try:
                    outcome = await execute(
                        task, run, ctx, self._executor, self.clock.now, self.max_result_bytes
                    )
                    if outcome.status is RunStatus.WAITING and ctx is not None:
                        await self._suspend(run, ctx, outcome.result)
                        outcome = None  # recorded: nothing to report
                        return
                    wanted = task.result_callback is not None or self.result_callbacks
                    if wanted and outcome.status is RunStatus.SUCCEEDED:
                        await self._call_back(task, run, ctx, outcome.result)
                except asyncio.CancelledError:
                    cancelled_on_request = ctx is not None and ctx.cancelled.is_set()
                    if cancelled_on_request or run.id in self._cancel_requested:
                        outcome = RunOutcome(run.id, RunStatus.CANCELLED, error=_cancelled())
                record_outcome(span, outcome)
        finally:
            self._active.pop(run.id, None)
            self._per_task[run.task] -= 1
            self._cancel_requested.discard(run.id)
            self._slot_freed.set()
        if outcome is not None:
            self._report(outcome)

    async def _suspend(self, run: Run, ctx: RunContext, wait: Suspend) -> None:
        """Record that ``run`` waits (its lease, still extended by heartbeats, is released
        by the write); retried while the store is down, until the worker stops."""
        journal = ctx._journal
        active_s = journal.active_s() if journal is not None else 0.0
        wake_at = datetime.fromtimestamp(wait.wake_at, UTC) if wait.wake_at else None
        while True:
            try:
                status = await self.store.suspend_run(
                    run.id, self.id, wait.waiting_for, wake_at, active_s, self.clock.now()
                )
                break
            except StoreError as exc:
                log.warning("run %s: could not record its wait, retrying: %s", run.id, exc)
                await asyncio.sleep(1)
        log.debug("run %s of %s: %s at %s", run.id, run.task, status, wait.waiting_for["step"])

    async def _call_back(self, task: Task, run: Run, ctx: RunContext | None, result: Any) -> None:
        schedule = (run.trigger_info or {}).get("schedule")
        found = self.result_callbacks.get((run.namespace, schedule)) if schedule else None
        for callback in (task.result_callback, found):
            if callback is not None:
                ctx = ctx or make_context(run, self.id)
                await deliver(callback, result, ctx)

    def _report(self, outcome: RunOutcome) -> None:
        self.processed += 1
        self._pending.append(outcome)
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self._flush_soon())

    async def _flush_soon(self) -> None:
        await asyncio.sleep(FLUSH_INTERVAL_S)
        await self._flush()

    async def _flush(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                try:
                    await self.store.finish_runs(self.id, batch, self.clock.now())
                except StoreRefused:  # a value in the batch: find it, record the others
                    await self._finish_apart(batch)
            except StoreError as exc:
                log.warning("could not record %s, retrying: %s", plural(len(batch), "result"), exc)
                self._pending[:0] = batch
                await asyncio.sleep(1)

    async def _finish_apart(self, batch: list[RunOutcome]) -> None:
        """Record a refused batch outcome by outcome: the store cannot hold something in one
        of them, and sending the batch again would be refused again, forever. An outcome it
        refuses alone is recorded as a dead run that says why. Outcomes recorded are taken
        out of ``batch`` (what is left goes again when the store is back)."""
        while batch:
            outcome = batch[0]
            try:
                await self.store.finish_runs(self.id, [outcome], self.clock.now())
            except StoreRefused as exc:
                log.error("run %s: the store refused its outcome: %s", outcome.run_id, exc)
                await self.store.finish_runs(self.id, [_refused(outcome, exc)], self.clock.now())
            del batch[0]

    # -- heartbeat, cancellation, reaping ------------------------------------------------------
    async def _heartbeat_loop(self, stopped: asyncio.Event) -> None:
        interval = max(0.05, self.lease.total_seconds() / 3)
        while not stopped.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stopped.wait(), interval)
            if stopped.is_set():
                return
            try:
                await self.heartbeat()
            except StoreError as exc:
                log.warning("heartbeat failed: %s", exc)
                self._reap_after = float("inf")

    async def heartbeat(self) -> None:
        now = self.clock.now()
        ids = list(self._active)
        held = ids + [outcome.run_id for outcome in self._pending]  # done, not yet recorded
        cancel = await self.store.extend_leases(self.id, held, now + self.lease)
        for run_id in cancel:
            self._cancel(run_id)
        await self.store.heartbeat_worker(self.id, now, len(ids))
        at = asyncio.get_running_loop().time()
        if self._reap_after == float("inf"):  # back: let the other workers heartbeat first
            self._reap_after = at + self.lease.total_seconds()
        if at < self._reap_after:
            return
        reaped = await self.store.reap_expired(now)
        for run in reaped:
            log.warning("run %s of %s: lease expired, now %s", run.id, run.task, run.status.value)
        await self.store.wake_due(now)

    def _cancel(self, run_id: int) -> None:
        entry = self._active.get(run_id)
        if entry is None:
            return
        job, ctx = entry
        self._cancel_requested.add(run_id)
        if ctx is not None:
            ctx.cancelled.set()
        job.cancel()

    # -- lifecycle -----------------------------------------------------------------------------
    async def _register(self) -> None:
        now = self.clock.now()
        await self.store.register_worker(
            WorkerInfo(
                id=self.id,
                host=socket.gethostname(),
                pid=os.getpid(),
                queues=self.queues or ["*"],
                concurrency=self.concurrency,
                started_at=now,
                last_heartbeat_at=now,
            )
        )

    async def _drain(self) -> None:
        """Let running tasks finish up to ``shutdown_timeout``; hand the rest back."""
        jobs = [job for job, _ in self._active.values()]
        if jobs:
            log.info(
                "waiting up to %s for %s", self.shutdown_timeout, plural(len(jobs), "running task")
            )
            await asyncio.wait(jobs, timeout=self.shutdown_timeout.total_seconds())
        still = dict(self._active)
        for job, _ in still.values():
            job.cancel()
        if still:
            await asyncio.wait([job for job, _ in still.values()], timeout=5)
            self._pending += [
                RunOutcome(
                    rid, RunStatus.QUEUED, error=dict(SHUTDOWN_ERROR), available_at=self.clock.now()
                )
                for rid in still
            ]

    async def _close(self) -> None:
        with contextlib.suppress(StoreError):
            await self._flush()
            await self.store.remove_worker(self.id)
        self._executor.shutdown(wait=False, cancel_futures=True)


def _refused(outcome: RunOutcome, exc: StoreRefused) -> RunOutcome:
    error = {"type": "OutcomeRefused", "message": f"the store could not record the outcome: {exc}"}
    return RunOutcome(outcome.run_id, RunStatus.DEAD, error=error)


def _cancelled() -> dict[str, str]:
    return {"type": "Cancelled", "message": str(RunCancelled("the run was cancelled on request"))}
