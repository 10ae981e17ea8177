"""agentcron: a durable scheduler and background-task runner for AI-agent applications.

Embedded SQLite for one process, PostgreSQL for many processes on many machines; every
schedule slot fires exactly once and no queued run is lost.
"""

from __future__ import annotations

from agentcron._version import __version__
from agentcron.agents import tool
from agentcron.app import App
from agentcron.context import RunContext
from agentcron.errors import (
    AgentcronError,
    ConfigError,
    Conflict,
    InvalidTrigger,
    NotFound,
    PermanentError,
    ScheduleExists,
    ScheduleNotFound,
    ScheduleQuotaExceeded,
    StoreError,
    TaskNotFound,
    TaskTimeout,
    ValidationError,
    WaitTimeout,
)
from agentcron.models import Misfire, Overlap, Run, RunStatus, Schedule
from agentcron.tasks import task

__all__ = [
    "AgentcronError",
    "App",
    "ConfigError",
    "Conflict",
    "InvalidTrigger",
    "Misfire",
    "NotFound",
    "Overlap",
    "PermanentError",
    "Run",
    "RunContext",
    "RunStatus",
    "Schedule",
    "ScheduleExists",
    "ScheduleNotFound",
    "ScheduleQuotaExceeded",
    "StoreError",
    "TaskNotFound",
    "TaskTimeout",
    "ValidationError",
    "WaitTimeout",
    "__version__",
    "task",
    "tool",
]
