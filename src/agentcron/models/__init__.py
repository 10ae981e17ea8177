"""Immutable domain models. Aware UTC datetimes only; ``timedelta`` for durations.

The parts: `values` (enums, `iso`), `schedules`, `runs`, `events`, `registry` (workers, API
tokens), and `shapes`: the JSON shape of each model, which its ``to_dict`` builds and the REST
API documents.
"""

from __future__ import annotations

from agentcron.models.events import Event, NewEvent
from agentcron.models.registry import ApiToken, WorkerInfo
from agentcron.models.runs import NewRun, Run, RunOutcome, Step
from agentcron.models.schedules import FanOut, Quota, Schedule, ScheduleSpec
from agentcron.models.shapes import (
    Doc,
    EventOut,
    ForEachSubjectOut,
    RunOut,
    ScheduleOut,
    SubjectOut,
    TaskOut,
    Time,
    TokenOut,
    WorkerInfoOut,
    shape,
)
from agentcron.models.values import (
    DEFAULT_MAX_RECOVERIES,
    DEFAULT_NAMESPACE,
    Args,
    Misfire,
    Overlap,
    RunStatus,
    ScheduleSource,
    Scope,
    iso,
    seconds,
)

__all__ = [
    "DEFAULT_MAX_RECOVERIES",
    "DEFAULT_NAMESPACE",
    "ApiToken",
    "Args",
    "Doc",
    "Event",
    "EventOut",
    "FanOut",
    "ForEachSubjectOut",
    "Misfire",
    "NewEvent",
    "NewRun",
    "Overlap",
    "Quota",
    "Run",
    "RunOut",
    "RunOutcome",
    "RunStatus",
    "Schedule",
    "ScheduleOut",
    "ScheduleSource",
    "ScheduleSpec",
    "Scope",
    "Step",
    "SubjectOut",
    "TaskOut",
    "Time",
    "TokenOut",
    "WorkerInfo",
    "WorkerInfoOut",
    "iso",
    "seconds",
    "shape",
]
