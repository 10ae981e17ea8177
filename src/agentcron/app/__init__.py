"""`App` wires a store, a task registry, a scheduler and a worker behind the Python API.

It is the one door to the store: the REST API, the CLI, the MCP tools and the dashboard call
its verbs, never the store. `App` is composed of parts, one module each: `base` (settings and
shared checks), `schedules`, `runs`, `subjects` (and events), `registry` (tasks, workers,
tokens, stats, schema) and `lifecycle` (open, close, run, stop).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from agentcron.app.base import NAMESPACE_MAX_SCHEDULES
from agentcron.app.lifecycle import Lifecycle, lifespan
from agentcron.app.registry import RegistryVerbs
from agentcron.app.runs import RunVerbs
from agentcron.app.subjects import SubjectVerbs

if TYPE_CHECKING:
    from agentcron.config import Config

__all__ = ["NAMESPACE_MAX_SCHEDULES", "App", "lifespan"]


class App(RegistryVerbs, SubjectVerbs, Lifecycle, RunVerbs):  # reference docs: schedules first
    """The agentcron application.

    Examples:
        >>> app = App("sqlite:///agentcron.db")
        >>> @app.task(retries=3)
        ... async def digest(channel: str) -> None: ...
        >>> app.schedule("digest", "0 9 * * 1-5", timezone="Europe/Berlin",
        ...              args={"channel": "email"})

    ``max_schedules``: `add_schedule` (REST, CLI, MCP) refuses to create a schedule in a
    namespace that holds this many (`ScheduleQuotaExceeded`, HTTP 409); None: no limit.
    Schedules declared in code or config are not counted against it when stored.
    """

    @classmethod
    def from_config(cls, config: Config, db: str | None = None) -> App:
        """An app with a loaded config's settings and tasks (`agentcron.config.load_config`),
        on ``db`` (else the config's, see `agentcron.config.resolve_db`). Before running it,
        store the config's schedules with ``await app.sync_schedules(config.schedules)``."""
        from agentcron.config import resolve_db, store_options
        from agentcron.store import create_store

        s = config.settings
        app = cls(
            create_store(resolve_db(db, config), **store_options(s)),
            concurrency=s.concurrency,
            queues=list(s.queues) if s.queues else None,
            lease=s.lease,
            shutdown_timeout=s.shutdown_timeout,
            retention=s.retention,
            timezone=s.timezone,
            max_schedules=s.max_schedules,
            llm=s.llm,
        )
        for declared in config.tasks:
            app.registry.add(declared)
        for built in config.schedules:
            if built.result_callback is not None:
                key = (built.spec.namespace, built.spec.name)
                app.result_callbacks[key] = built.result_callback
        return app
