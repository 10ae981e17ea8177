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
    logger: logging.LoggerAdapter[logging.Logger] = field(
        default_factory=lambda: logging.LoggerAdapter(logging.getLogger("agentcron.task"), {})
    )
    cancelled: threading.Event = field(default_factory=threading.Event)

    @property
    def is_last_attempt(self) -> bool:
        return self.attempt >= self.max_attempts
