"""What every part of `App` shares: its settings and parts (store, clock, task registry,
scheduler, worker), and the checks they all use."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from agentcron._known import run_defaults
from agentcron.callbacks import ResultCallback
from agentcron.clock import Clock, SystemClock
from agentcron.durations import parse_duration
from agentcron.errors import TaskNotFound, ValidationError
from agentcron.models import ScheduleSpec
from agentcron.rules.firing import RunDefaults
from agentcron.scheduler import Scheduler
from agentcron.specs import Built, check_name
from agentcron.store import Store, create_store
from agentcron.tasks import TaskRegistry, check_fit, default_registry
from agentcron.worker import Worker

if TYPE_CHECKING:
    from agentcron.agents.phrases import PhraseReader
    from agentcron.config import LLMSettings

__all__ = ["NAMESPACE_MAX_SCHEDULES", "AppBase", "Duration", "bounded"]

Duration = str | int | float | timedelta
NAMESPACE_MAX_SCHEDULES = 10_000
"""How many schedules a namespace may hold by default (`App` ``max_schedules``)."""


class AppBase:
    """The state of an `App` (its arguments are described there)."""

    def __init__(
        self,
        store: str | Store = "sqlite:///agentcron.db",
        *,
        clock: Clock | None = None,
        concurrency: int = 32,
        queues: Sequence[str] | None = None,
        lease: Duration = timedelta(seconds=30),
        shutdown_timeout: Duration = timedelta(seconds=30),
        retention: Duration | None = timedelta(days=30),
        maintenance: bool = True,
        timezone: str = "UTC",
        max_schedules: int | None = NAMESPACE_MAX_SCHEDULES,
        llm: LLMSettings | PhraseReader | None = None,
    ) -> None:
        self.store: Store = create_store(store) if isinstance(store, str) else store
        self.clock: Clock = clock or SystemClock()
        self.registry = TaskRegistry()
        self.concurrency = concurrency
        self.queues = [check_name(q, "queues") for q in queues] if queues else None
        self.lease = parse_duration(lease, field="lease")
        self.shutdown_timeout = parse_duration(shutdown_timeout, field="shutdown_timeout")
        self.retention = parse_duration(retention, field="retention") if retention else None
        self.maintenance = maintenance
        self.timezone = timezone
        if max_schedules is not None:
            bounded(max_schedules, "max_schedules", 0, 10**9)
        self.max_schedules = max_schedules
        self.phrases = _phrase_reader(llm)
        self.result_callbacks: dict[tuple[str, str], ResultCallback] = {}  # by (ns, schedule)
        self.task = self.registry.task
        self._declared: dict[tuple[str, str], Built] = {}
        self._opened = 0
        self._opening: asyncio.Future[None] | None = None
        self._stop: asyncio.Event | None = None
        self.scheduler: Scheduler | None = None
        self.worker: Worker | None = None

    def _task_name(self, task: Any) -> Any:
        """A task's name, or a function registered as a task: the name it was registered by."""
        if not callable(task):
            return task
        for registry in (self.registry, default_registry):
            for registered in registry:
                if registered.fn is task:
                    return registered.name
        return getattr(task, "__name__", task)

    async def _check_task(self, spec: ScheduleSpec) -> None:
        """The schedule's task exists (here or in a worker); its args fit the function when
        it is registered here."""
        if spec.task in self.registry:
            check_fit(self.registry.get(spec.task), spec.args)
            return
        if spec.task not in await self.store.known_tasks():
            raise TaskNotFound(spec.task)

    async def _run_defaults(self, names: Iterable[Any]) -> dict[str, RunDefaults]:
        """The defaults of each task's runs; raises `TaskNotFound` for one that is neither
        registered here nor recorded in the store."""
        for name in names:
            if not isinstance(name, str):
                raise TaskNotFound(str(name))
        return await run_defaults(self.registry, self.store, names, required=True)


def bounded(value: Any, field: str, low: int, high: int) -> int:
    """``value`` when it is a whole number in ``[low, high]``, else `ValidationError`."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(f"must be a whole number between {low} and {high}", field=field)
    return value


def _phrase_reader(llm: LLMSettings | PhraseReader | None) -> PhraseReader | None:
    from agentcron.agents.phrases import PhraseReader

    if llm is None or isinstance(llm, PhraseReader):
        return llm
    return phrase_reader(llm)


def phrase_reader(settings: LLMSettings | None) -> PhraseReader | None:
    """The reader of trigger phrases of ``[agentcron.llm]``, or None when it names no
    ``model``; `ValidationError` (field ``llm.base_url``) for an endpoint that is not http(s)."""
    if settings is None or not settings.model:
        return None
    from agentcron.agents.phrases import PhraseReader
    from agentcron.config import llm_endpoint

    return PhraseReader(llm_endpoint(settings), settings.model)
