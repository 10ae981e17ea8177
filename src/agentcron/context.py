"""`RunContext`: what a task sees of its run, through a keyword-only ``ctx`` parameter."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from agentcron.durable import Journal

__all__ = ["RunContext"]


@dataclass(slots=True)
class RunContext:
    """Passed to a task that declares ``*, ctx: agentcron.RunContext``.

    ``cancelled`` is set when a cancellation of the run was requested; a sync task that runs
    long can check ``ctx.cancelled.is_set()`` and return early (async tasks are cancelled).
    ``metadata`` and ``thread_id`` are the schedule's (``{}`` / None when it has none, or for
    a run without schedule); ``thread`` is the conversation thread the run belongs to.

    Durable runs (async tasks run by a worker): `step` stores each step's JSON result and
    replays it on any later execution of the run; `sleep`, `wait_for_signal` and
    `wait_for_event` suspend the run (status ``waiting``) without holding a worker.
    """

    run_id: int
    task: str
    attempt: int
    max_attempts: int
    scheduled_for: datetime | None
    schedule: str | None
    subject: str | None
    namespace: str
    args: dict[str, Any] | list[Any]  # keyword (object) or positional (list) arguments
    worker: str
    event: dict[str, Any] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    thread_id: str | None = None
    logger: logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.LoggerAdapter(logging.getLogger("agentcron.task"), {})
    )
    cancelled: threading.Event = field(default_factory=threading.Event)
    _journal: Journal | None = field(default=None, repr=False, compare=False)

    async def step(self, name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` (awaited when async, a plain function in a thread) once
        per run: its JSON result is stored before this returns, and any later execution of
        the run (a retry, a recovery, a resume after a wait) gets the stored result without
        calling ``fn``. A step that raised runs again on a later execution. ``name`` is
        unique within the run; a result that is not JSON raises `TypeError`."""
        if self._journal is None:  # not run by a worker (a direct call): nothing to store
            from agentcron.durable import _call

            return await _call(fn, args, kwargs)
        return await self._journal.step(name, fn, *args, **kwargs)

    async def sleep(self, duration: float | timedelta | str) -> None:
        """Sleep durably: the run leaves its worker (status ``waiting``) and is queued again
        after ``duration`` (seconds, a `timedelta` or ``"2h"``), whatever restarted meanwhile."""
        if self._journal is None:
            from agentcron.durable import seconds_of

            await asyncio.sleep(seconds_of(duration, "duration"))
            return
        await self._journal.sleep(duration)

    async def wait_for_signal(
        self, name: str, timeout: float | timedelta | str | None = None
    ) -> Any:
        """Wait (status ``waiting``, no worker held) for signal ``name`` and return its JSON
        data; raises `agentcron.WaitTimeout` after ``timeout``. Signals are sent with
        ``app.signal(run_id, name, data)``, REST, the CLI or MCP; one sent before the run
        waits for it is kept and taken here."""
        return await self._durable().wait_for_signal(name, timeout)

    async def wait_for_event(
        self,
        pattern: str,
        timeout: float | timedelta | str | None = None,
        subject: str | None = None,
    ) -> dict[str, Any]:
        """Wait for the first event whose type matches the glob ``pattern``, published in
        the run's namespace after the wait began, about ``subject`` (default: the run's
        subject; none: any); returns it (``id``, ``type``, ``subject``, ``data``...). Raises
        `agentcron.WaitTimeout` after ``timeout``."""
        return await self._durable().wait_for_event(pattern, timeout, subject)

    def _durable(self) -> Journal:
        if self._journal is None:
            raise RuntimeError("a durable wait needs a run executed by an agentcron worker")
        return self._journal

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    @property
    def thread(self) -> str:
        """The schedule's ``thread_id``, else the subject, else the schedule's name, else the
        run id: what a LangGraph graph gets as ``thread_id``, so a graph with a checkpointer
        keeps one conversation per subject (or per schedule) across runs."""
        return self.thread_id or self.subject or self.schedule or str(self.run_id)
