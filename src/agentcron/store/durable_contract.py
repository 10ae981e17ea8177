"""The durable-run verbs of the `Store` protocol (`agentcron.store.base.Store` inherits them):
a run's steps, its waits, signals sent to it. Written once for both stores in
`agentcron.store.core.durable`.

A run that waits (`agentcron.durable`) is ``waiting``: it holds no lease, worker or process,
and is neither queued nor finished (purge, reaping and retention leave it). Its waits are
steps with deterministic names (``sleep:1``, ``signal:approve:1``, ``event:user.*:1``) that
whatever ends the wait finishes in the transaction that queues the run again. Deleting a run
deletes its steps and signals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from agentcron.models import Run, RunStatus, Step

__all__ = ["DurableState", "DurableStore"]


@dataclass(frozen=True, slots=True)
class DurableState:
    """What a run's execution replays (`Store.load_steps`): its steps by name (in the order
    they started), the time it spent running in earlier executions (its timeout counts it),
    while it waits, what for (the stored form: ``until`` in Unix seconds), and whether
    signals sent to it wait to be taken (``signals``; when not, a wait for a signal need not
    look: `Store.suspend_run` takes one sent meanwhile)."""

    steps: dict[str, Step] = field(default_factory=dict)
    active_s: float = 0.0
    waiting_for: dict[str, Any] | None = None
    signals: bool = False


class DurableStore(Protocol):
    """Steps, waits and signals of durable runs."""

    async def load_steps(self, run_id: int) -> DurableState:
        """The run's steps, the seconds it ran before, what it waits for and whether signals
        wait to be taken (an empty state for a run that does not exist). One statement."""
        ...

    async def save_step(
        self,
        run_id: int,
        name: str,
        status: str,
        *,
        started_at: datetime,
        now: datetime,
        result_json: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        """Record step ``name`` of the run as ``running``, ``succeeded`` (``result_json``: its
        JSON text) or ``failed`` (``error``), finished at ``now`` unless running: one small
        write, durable when it returns. A succeeded step is never overwritten."""
        ...

    async def suspend_run(
        self,
        run_id: int,
        worker_id: str,
        waiting_for: dict[str, Any],
        wake_at: datetime | None,
        active_s: float,
        now: datetime,
    ) -> RunStatus | None:
        """Suspend a running run this worker holds at a wait: ``waiting_for`` is ``{"kind":
        "sleep" | "signal" | "event", "step", "name"?, "pattern"?, "subject"?, "until"?,
        "after"?}`` (``until`` in Unix seconds; ``after``: the last event id the wait ignores),
        ``wake_at`` when `wake_due` must end it (None: never), ``active_s`` the seconds it has
        run so far. In one transaction: the wait's step row is written as running (kept when
        it exists: a wait resumed keeps its start and deadline), the lease is released and
        ``max_attempts`` grows by one (a wait uses up no retry: the next execution is a claim).
        Returns the run's status now: ``waiting``; ``queued`` when a signal it waits for was
        already sent (taken by the wait, the run runs again at once); ``cancelled`` when its
        cancellation was asked for; None when the worker no longer holds it (nothing done)."""
        ...

    async def signal_run(self, run_id: int, name: str, data: Any, now: datetime) -> bool:
        """Send signal ``name`` with JSON ``data`` to the run. A run waiting for it takes it
        at once (the wait's step succeeds with ``data`` as result) and is queued again; else
        it is kept for the run's next wait of that name (signals of one name are taken
        oldest first). Returns whether it woke the run. Raises `RunNotFound`,
        `InvalidRunState` when the run is finished (succeeded, failed, dead, cancelled,
        skipped)."""
        ...

    async def take_signal(
        self, run_id: int, name: str, step: str, now: datetime
    ) -> tuple[bool, Any]:
        """Take the oldest signal ``name`` sent to the run and not taken yet: ``(True,
        data)``, and in the same transaction the wait ``step`` succeeds with ``data`` as its
        result; ``(False, None)`` when there is none."""
        ...

    async def wake_due(self, now: datetime) -> tuple[int, datetime | None]:
        """Queue the waiting runs whose wait ended: ``wake_at <= now`` (a sleep's step
        succeeds; a signal or event wait's step fails with ``WaitTimeout``), and runs waiting
        for an event whose pattern (a glob on the type), namespace and subject match an event
        published after the wait began (the step succeeds with the event as result). Each
        with its ``run.queued`` event; safe under concurrent callers. Returns how many runs
        it queued and when to call again (the earliest ``wake_at`` left; within
        `EVENT_POLL_S` while runs wait for events; None: nothing to wait for). Reads only,
        unless something is due."""
        ...

    async def cancel_waiting(self, run_id: int, now: datetime) -> Run | None:
        """Cancel the run if it is waiting (its ``run.cancelled`` event too); None when it is
        not (`cancel_run` handles queued and running runs)."""
        ...

    async def waiting_for_runs(self, run_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
        """What each of these runs waits for (the stored form), for those that wait."""
        ...
