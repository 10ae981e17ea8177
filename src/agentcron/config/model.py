"""What a loaded config holds: `Settings` (``[agentcron]``), `LLMSettings`
(``[agentcron.llm]``) and `Config` (everything, built)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from agentcron.specs import Built
from agentcron.tasks import Task

__all__ = ["Config", "LLMSettings", "NativeForm", "Settings"]


@dataclass(frozen=True, slots=True)
class LLMSettings:
    """The ``[agentcron.llm]`` table: defaults of the ``[[task]]`` agent tasks."""

    base_url: str | None = None
    api_key_env: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """The ``[agentcron]`` table."""

    db: str | None = None
    tasks: tuple[str, ...] = ()
    concurrency: int = 32
    queues: tuple[str, ...] | None = None
    timezone: str = "UTC"
    retention: timedelta | None = timedelta(days=30)
    lease: timedelta = timedelta(seconds=30)
    shutdown_timeout: timedelta = timedelta(seconds=30)
    llm: LLMSettings = field(default_factory=LLMSettings)
    max_schedules: int | None = 10_000  # per namespace, through the API; false: no limit
    connect_timeout: timedelta | None = None  # PostgreSQL; None: the store's default (5s)
    reconnect_max_delay: timedelta | None = None  # PostgreSQL; None: the store's default (1s)


@dataclass(frozen=True, slots=True)
class NativeForm:
    """How a ``[[task]]`` written in the YouLab form is read: its native ``[[task]]`` and
    ``[[schedule]]`` entries, and the same as TOML text (what ``agentcron validate`` shows)."""

    name: str
    task: dict[str, object]
    schedules: list[dict[str, object]]
    toml: str


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded config file: settings, the ``[[schedule]]`` entries, and where it came from.

    ``tasks``: the tasks the config defines, built (``[[task]]`` entries, and the functions
    a schedule names as ``module:function``); `App.from_config` registers them. ``native``: the
    native form of each ``[[task]]`` written in the YouLab form.
    """

    settings: Settings = field(default_factory=Settings)
    schedules: list[Built] = field(default_factory=list)
    path: Path | None = None
    tasks: list[Task] = field(default_factory=list)
    native: list[NativeForm] = field(default_factory=list)
