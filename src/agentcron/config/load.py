"""Loading a config file: every section read, every problem collected, one `ConfigError`."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import TypedDict

from agentcron.clock import utcnow
from agentcron.config.document import Document
from agentcron.config.model import Config, NativeForm, Settings
from agentcron.config.modules import import_modules, on_path
from agentcron.config.schedules import Known, add_unique, build_entry, read_schedules
from agentcron.config.settings import read_settings
from agentcron.config.tasks import Derived, read_tasks
from agentcron.config.youlab import to_toml
from agentcron.specs import Built

__all__ = ["import_tasks", "load_config", "load_settings", "store_options"]


def load_settings(path: str | Path) -> Settings:
    """Read only the ``[agentcron]`` table (no imports, no schedules)."""
    doc = Document.read(Path(path))
    settings = read_settings(doc)
    doc.raise_problems()
    return settings


def load_config(path: str | Path, *, now: datetime | None = None) -> Config:
    """Read, validate and build everything in the file; import its task modules (and the
    functions its schedules name as ``module:function``). Relative triggers (``in 30m``)
    count from ``now`` (default: the clock's).

    Raises `ConfigError` listing every problem, each as ``file:line: where: field: message``.
    """
    doc = Document.read(Path(path))
    settings = read_settings(doc)
    readable = not doc.bad & {("agentcron",), ("agentcron", "tasks")}
    on_path(doc)
    known = Known(checked=import_modules(doc, settings) if readable else False)
    derived = read_tasks(doc, settings, known)
    at = now if now is not None else utcnow()
    schedules = read_schedules(doc, settings, known, at)
    native = _derived_schedules(doc, settings, known, derived, schedules, at)
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


def _derived_schedules(doc: Document, settings: Settings, known: Known, derived: list[Derived],
                       built: list[Built], now: datetime) -> list[NativeForm]:  # fmt: skip
    """Build the schedules of the YouLab-form tasks into ``built``; their native forms."""
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
