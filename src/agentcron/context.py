"""`RunContext`: what a task sees of its run, through a keyword-only ``ctx`` parameter."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["RunContext"]


@dataclass(slots=True)
class RunContext:
    """Passed to a task that declares ``*, ctx: agentcron.RunContext``.

    ``cancelled`` is set when a cancellation of the run was requested; a sync task that runs
    long can check ``ctx.cancelled.is_set()`` and return early (async tasks are cancelled).
    ``metadata`` and ``thread_id`` are the schedule's (``{}`` / None when it has none, or for
    a run without schedule); ``thread`` is the conversation thread the run belongs to.
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

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts

    @property
    def thread(self) -> str:
        """The schedule's ``thread_id``, else the subject, else the schedule's name, else the
        run id: what a LangGraph graph gets as ``thread_id``, so a graph with a checkpointer
        keeps one conversation per subject (or per schedule) across runs."""
        return self.thread_id or self.subject or self.schedule or str(self.run_id)
