"""Loading a config file: every section read, every problem collected, one `ConfigError`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from agentcron.config.document import Document
from agentcron.config.env import resolve_db
from agentcron.config.model import Config, NativeForm, Settings
from agentcron.config.modules import import_modules, on_path
from agentcron.config.schedules import Known, add_unique, build_entry, read_schedules
from agentcron.config.settings import read_settings
from agentcron.config.tasks import Derived, read_tasks
from agentcron.config.youlab import to_toml
from agentcron.specs import Built

if TYPE_CHECKING:
    from agentcron.app import App

__all__ = ["build_app", "import_tasks", "load_config", "load_settings", "store_options"]


def load_settings(path: str | Path) -> Settings:
    """Read only the ``[agentcron]`` table (no imports, no schedules)."""
    doc = Document.read(Path(path))
    settings = read_settings(doc)
    doc.raise_problems()
    return settings


def load_config(path: str | Path) -> Config:
    """Read, validate and build everything in the file; import its task modules (and the
    functions its schedules name as ``module:function``).

    Raises `ConfigError` listing every problem, each as ``file:line: where: field: message``.
    """
    doc = Document.read(Path(path))
    settings = read_settings(doc)
    readable = not doc.bad & {("agentcron",), ("agentcron", "tasks")}
    on_path(doc)
    known = Known(checked=import_modules(doc, settings) if readable else False)
    derived = read_tasks(doc, settings, known)
    schedules = read_schedules(doc, settings, known)
    native = _derived_schedules(doc, settings, known, derived, schedules)
    doc.raise_problems()
    return Config(settings, schedules, doc.path, list(known.declared.values()), native)


def import_tasks(settings: Settings, path: str | Path) -> None:
    """Import the settings' task modules, with the config file's folder on ``sys.path``."""
    doc = Document.read(Path(path))
    import_modules(doc, settings)
    doc.raise_problems()


class StoreOptions(TypedDict, total=False):
    """`agentcron.store.create_store` keyword arguments a config sets."""

    connect_timeout_s: float | None
    reconnect_max_delay_s: float | None


def store_options(settings: Settings | None) -> StoreOptions:
    """The settings' options of the store: `agentcron.store.create_store` keyword arguments."""
    if settings is None:
        return {}
    return {
        "connect_timeout_s": _seconds(settings.connect_timeout),
        "reconnect_max_delay_s": _seconds(settings.reconnect_max_delay),
    }


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


def build_app(config: Config, db_override: str | None = None) -> App:
    """An `App` with the config's settings and tasks. Before running it, store the config's
    schedules with ``await app.sync_schedules(config.schedules)``."""
    from agentcron.app import App
    from agentcron.store import create_store

    s = config.settings
    app = App(
        create_store(resolve_db(db_override, config), **store_options(s)),
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
            app.result_callbacks[(built.spec.namespace, built.spec.name)] = built.result_callback
    return app


def _derived_schedules(doc: Document, settings: Settings, known: Known, derived: list[Derived],
                       built: list[Built]) -> list[NativeForm]:  # fmt: skip
    """Build the schedules of the YouLab-form tasks into ``built``; their native forms."""
    now = datetime.now(UTC)
    forms: list[NativeForm] = []
    for item in derived:
        t = item.translation
        for fields in t.schedules:
            origin = (*item.at, t.origins[str(fields["name"])])
            result, errors = build_entry(fields, settings.timezone, now, known)
            for _, message in errors:
                doc.add(origin, f"{item.label}{fields['name']}: {message}")
            if result is not None:
                add_unique(doc, built, result, origin, item.label)
        name = str(t.task["name"])
        forms.append(NativeForm(name, t.task, t.schedules, to_toml(t.task, t.schedules)))
    return forms
