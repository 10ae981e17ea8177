"""Config files (``agentcron.toml``, ``agentcron.yaml``) and ``AGENTCRON_*`` environment variables.

This is the only module that reads ``os.environ`` (see `ENV_VARS`). A file looks like::

    [agentcron]
    db = "sqlite:///agentcron.db"     # relative to this file; --db / AGENTCRON_DB win
    tasks = ["myapp.tasks"]           # modules to import; they register with @agentcron.task
    concurrency = 32
    timezone = "UTC"

    [[schedule]]
    name = "weekday-digest"
    task = "digest"
    trigger = "0 9 * * 1-5"
    timezone = "Europe/Berlin"

`load_config` reports every problem at once, each with its place in the file
(``agentcron.toml:14: schedule[2] "digest": trigger: ...``), as one `ConfigError`.
"""

from __future__ import annotations

import difflib
import importlib
import os
import re
import sys
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from agentcron.durations import parse_duration
from agentcron.errors import ConfigError, InvalidTrigger, ValidationError
from agentcron.models import ScheduleSource
from agentcron.specs import SCHEDULE_FIELDS, Built, build_schedule, check_name
from agentcron.tasks import default_registry
from agentcron.triggers._time import load_zone

if TYPE_CHECKING:
    from agentcron.app import App

__all__ = [
    "CONFIG_NAMES",
    "DEFAULT_DB",
    "ENV_VARS",
    "Config",
    "Settings",
    "build_app",
    "env",
    "error_text",
    "find_config",
    "import_tasks",
    "load_config",
    "load_settings",
    "resolve_db",
]

DEFAULT_DB = "sqlite:///agentcron.db"
CONFIG_NAMES = ("agentcron.toml", "agentcron.yaml", "agentcron.yml")
ENV_VARS = {
    "AGENTCRON_DB": f"store URL when --db is not given (default {DEFAULT_DB})",
    "AGENTCRON_CONFIG": "config file when --config is not given (default ./agentcron.toml)",
    "AGENTCRON_LOG_LEVEL": "log level of serve / scheduler / worker (default INFO)",
}
SETTINGS_FIELDS = frozenset(
    {"db", "tasks", "concurrency", "queues", "timezone", "retention", "lease", "shutdown_timeout"}
)
_TOP_FIELDS = frozenset({"agentcron", "schedule"})
KeyPath = tuple[str | int, ...]


def env(name: str) -> str | None:
    """The value of one of `ENV_VARS` (None when unset or empty)."""
    if name not in ENV_VARS:
        raise KeyError(f"{name} is not an agentcron environment variable")
    return os.environ.get(name) or None


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


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded config file: settings, the ``[[schedule]]`` entries, and where it came from."""

    settings: Settings = field(default_factory=Settings)
    schedules: list[Built] = field(default_factory=list)
    path: Path | None = None


def find_config(explicit: str | Path | None = None, *, cwd: Path | None = None) -> Path | None:
    """``explicit``, else ``AGENTCRON_CONFIG``, else ``./agentcron.{toml,yaml,yml}`` if present."""
    given = explicit or env("AGENTCRON_CONFIG")
    if given:
        return Path(given)
    folder = cwd or Path()
    for name in CONFIG_NAMES:
        if (folder / name).is_file():
            return folder / name
    return None


def resolve_db(flag: str | None, config: Config | Settings | None = None) -> str:
    """``--db``, else ``AGENTCRON_DB``, else the config's ``db``, else `DEFAULT_DB`."""
    if flag:
        return flag
    from_env = env("AGENTCRON_DB")
    if from_env:
        return from_env
    settings = config.settings if isinstance(config, Config) else config
    return settings.db if settings is not None and settings.db else DEFAULT_DB


def build_app(config: Config, db_override: str | None = None) -> App:
    """An `App` with the config's settings. Before running it, store the config's schedules
    with ``await app.sync_schedules(config.schedules)``."""
    from agentcron.app import App

    s = config.settings
    return App(
        resolve_db(db_override, config),
        concurrency=s.concurrency,
        queues=list(s.queues) if s.queues else None,
        lease=s.lease,
        shutdown_timeout=s.shutdown_timeout,
        retention=s.retention,
        timezone=s.timezone,
    )


def error_text(exc: ValidationError) -> str:
    """``field: message``; a trigger's inner field is shown under ``trigger``."""
    if isinstance(exc, InvalidTrigger) and exc.field not in (None, "trigger", "timezone"):
        return f"trigger: {exc}"
    return str(exc)


# -- loading ---------------------------------------------------------------------------------
def load_settings(path: str | Path) -> Settings:
    """Read only the ``[agentcron]`` table (no imports, no schedules)."""
    doc = _Doc.read(Path(path))
    settings = _read_settings(doc)
    doc.raise_problems()
    return settings


def load_config(path: str | Path) -> Config:
    """Read, validate and build everything in the file; import its task modules.

    Raises `ConfigError` listing every problem, each as ``file:line: where: field: message``.
    """
    doc = _Doc.read(Path(path))
    settings = _read_settings(doc)
    readable = ("agentcron", "tasks") not in doc.bad and ("agentcron",) not in doc.bad
    imported = _import_modules(doc, settings) if readable else False
    schedules = _read_schedules(doc, settings, check_tasks=imported)
    doc.raise_problems()
    return Config(settings, schedules, doc.path)


def import_tasks(settings: Settings, path: str | Path) -> None:
    """Import the settings' task modules, with the config file's folder on ``sys.path``."""
    doc = _Doc.read(Path(path))
    _import_modules(doc, settings)
    doc.raise_problems()


@dataclass
class _Doc:
    """A parsed file: its data, the line of each key path, and the problems found so far."""

    path: Path
    data: dict[str, Any]
    lines: dict[KeyPath, int]
    found: list[tuple[int, str]] = field(default_factory=list)
    bad: set[KeyPath] = field(default_factory=set)  # the key paths that have a problem

    @property
    def problems(self) -> list[str]:
        """Every problem so far, in file order."""
        return [text for _, text in sorted(self.found, key=lambda item: item[0])]

    @classmethod
    def read(cls, path: Path) -> _Doc:
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read {path}: {exc}", field="config") from None
        if path.suffix.lower() in (".yaml", ".yml"):
            data, lines = _parse_yaml(text, path)
        else:
            data, lines = _parse_toml(text, path)
        doc = cls(path, data, lines)
        doc.check_keys(data, (), _TOP_FIELDS, "")
        return doc

    def line(self, at: KeyPath) -> int | None:
        for end in range(len(at), -1, -1):
            if at[:end] in self.lines:
                return self.lines[at[:end]]
        return None

    def add(self, at: KeyPath, text: str) -> None:
        self.bad.add(at)
        line = self.line(at)
        place = f"{self.path}:{line}" if line else str(self.path)
        self.found.append((line or 0, f"{place}: {text}"))

    def check_keys(self, data: Mapping[str, Any], at: KeyPath, allowed: Iterable[str],
                   where: str) -> None:  # fmt: skip
        for key in data:
            if key not in allowed:
                self.add((*at, key), f"{where}{_unknown(key, allowed, at)}")

    def raise_problems(self) -> None:
        if self.found:
            count = len(self.found)
            summary = f"{self.path}: {count} problem{'s' if count > 1 else ''}"
            raise ConfigError(summary, problems=self.problems)


def _unknown(key: str, allowed: Iterable[str], at: KeyPath) -> str:
    if at == () and key == "task":
        return "[[task]] (declarative agent tasks) is not supported yet"
    text = f"unknown key {key!r}"
    close = difflib.get_close_matches(key, sorted(allowed), n=1)
    return f"{text} (did you mean {close[0]!r}?)" if close else text


# -- parsing with line numbers ---------------------------------------------------------------
_TOML_AT = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?")
_TOML_KEY = re.compile(r"""^\s*["']?([A-Za-z0-9_-]+)["']?\s*[=.]""")


def _parse_toml(text: str, path: Path) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_AT.search(message)
        place = f"{match[1]}:{match[2]}" if match else "?"
        reason = _TOML_AT.sub("", message)
        problem = f"{path}:{place}: invalid TOML: {reason}"
        raise ConfigError(problem, problems=[problem]) from None
    return data, _toml_lines(text)


def _toml_lines(text: str) -> dict[KeyPath, int]:
    """Line of each table header and key, found by scanning (tomllib keeps no positions)."""
    lines: dict[KeyPath, int] = {}
    table: KeyPath = ()
    arrays: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TOML_HEADER.match(line)
        if header:
            parts = tuple(p.strip().strip("\"'") for p in header[2].split("."))
            name = ".".join(parts)
            if header[1] == "[[":
                arrays[name] = arrays.get(name, 0) + 1
                lines.setdefault(parts, number)
                table = (*parts, arrays[name] - 1)
            elif parts[0] in arrays and len(parts) > 1:  # [schedule.args] of the last entry
                table = (parts[0], arrays[parts[0]] - 1, *parts[1:])
            else:
                table = parts
            lines.setdefault(table, number)
            continue
        key = _TOML_KEY.match(line)
        if key:
            lines.setdefault((*table, key[1]), number)
    return lines


def _parse_yaml(text: str, path: Path) -> tuple[dict[str, Any], dict[KeyPath, int]]:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        place = f"{mark.line + 1}:{mark.column + 1}" if mark else "?"
        reason = exc.problem or exc.context or "syntax error"
        problem = f"{path}:{place}: invalid YAML: {reason}"
        raise ConfigError(problem, problems=[problem]) from None
    except yaml.YAMLError as exc:
        problem = f"{path}: invalid YAML: {exc}"
        raise ConfigError(problem, problems=[problem]) from None
    if data is None or node is None:
        return {}, {}
    if not isinstance(data, dict):
        problem = f"{path}:1: the file must hold a mapping of keys"
        raise ConfigError(problem, problems=[problem])
    lines: dict[KeyPath, int] = {}
    _yaml_lines(node, (), lines)
    return data, lines


def _yaml_lines(node: yaml.Node, at: KeyPath, out: dict[KeyPath, int]) -> None:
    out.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            here = (*at, str(key.value))
            out.setdefault(here, key.start_mark.line + 1)
            _yaml_lines(value, here, out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _yaml_lines(item, (*at, index), out)


# -- [agentcron] -------------------------------------------------------------------------------
def _read_settings(doc: _Doc) -> Settings:
    raw = doc.data.get("agentcron", {})
    if not isinstance(raw, Mapping):
        doc.add(("agentcron",), "agentcron: must be a table of settings")
        return Settings()
    doc.check_keys(raw, ("agentcron",), SETTINGS_FIELDS, "[agentcron]: ")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in SETTINGS_FIELDS:
            continue
        try:
            values[key] = _SETTING_READERS[key](value, key)
        except ValidationError as exc:
            doc.add(("agentcron", key), error_text(exc))
    db = values.get("db")
    if isinstance(db, str):
        values["db"] = _relative_db(db, doc.path.parent)
    return Settings(**values)


def _relative_db(url: str, folder: Path) -> str:
    """A relative SQLite path in a config file is relative to the file's folder."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/"):
        return url
    rest = url[len(prefix) :]
    if not rest or rest.startswith(":memory:"):
        return url
    return f"{prefix}{(folder / rest).resolve()}"


def _text(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"expected a non-empty string, got {value!r}", field=key)
    return value


def _names(value: Any, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise ValidationError(f"expected a list of names, got {value!r}", field=key)
    return tuple(items)


def _queues(value: Any, key: str) -> tuple[str, ...]:
    return tuple(check_name(name, key) for name in _names(value, key))


def _positive(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"expected a whole number >= 1, got {value!r}", field=key)
    return value


def _zone(value: Any, key: str) -> str:
    load_zone(_text(value, key))
    return str(value)


def _duration(value: Any, key: str) -> timedelta:
    if isinstance(value, bool):
        raise ValidationError(f"expected a duration such as '30s', got {value!r}", field=key)
    result = parse_duration(value, field=key)
    if result <= timedelta(0):
        raise ValidationError("must be a positive duration", field=key)
    return result


def _retention(value: Any, key: str) -> timedelta | None:
    return None if value is False else _duration(value, key)


_SETTING_READERS = {
    "db": _text,
    "tasks": _names,
    "concurrency": _positive,
    "queues": _queues,
    "timezone": _zone,
    "retention": _retention,
    "lease": _duration,
    "shutdown_timeout": _duration,
}


# -- task modules ----------------------------------------------------------------------------
def _import_modules(doc: _Doc, settings: Settings) -> bool:
    """Import each module (config folder first on sys.path); False when one failed."""
    folder = str(doc.path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    ok = True
    for module in settings.tasks:
        try:
            importlib.import_module(module)
        except Exception as exc:  # any error raised while importing the user's module
            ok = False
            reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")
            doc.add(("agentcron", "tasks"), f"tasks: cannot import module {module!r}: {reason}")
    return ok


# -- [[schedule]] ------------------------------------------------------------------------------
def _read_schedules(doc: _Doc, settings: Settings, *, check_tasks: bool) -> list[Built]:
    entries = doc.data.get("schedule", [])
    if not isinstance(entries, list):
        doc.add(("schedule",), "schedule: must be a list of tables ([[schedule]])")
        return []
    now = datetime.now(UTC)
    built: list[Built] = []
    seen: set[tuple[str, str]] = set()
    for index, entry in enumerate(entries):
        at: KeyPath = ("schedule", index)
        where = _where(index, entry)
        if not isinstance(entry, Mapping):
            doc.add(at, f"{where}must be a table of schedule fields")
            continue
        doc.check_keys(entry, at, SCHEDULE_FIELDS, where)
        fields = {k: v for k, v in entry.items() if k in SCHEDULE_FIELDS}
        result, errors = _build_entry(fields, settings.timezone, now)
        task = fields.get("task")
        if check_tasks and "task" not in dict(errors) and task not in default_registry:
            errors.append(("task", f"task: {_task_unknown(str(task))}"))
        for key, text in errors:
            doc.add((*at, key), f"{where}{text}")
        if result is None:
            continue
        ident = (result.spec.namespace, result.spec.name)
        if ident in seen:
            doc.add((*at, "name"), f"{where}name: {result.spec.name!r} is used twice")
        seen.add(ident)
        built.append(result)
    return built


def _where(index: int, entry: Any) -> str:
    name = entry.get("name") or entry.get("task") if isinstance(entry, Mapping) else None
    label = f"schedule[{index + 1}]"
    return f'{label} "{name}": ' if isinstance(name, str) else f"{label}: "


_STANDINS: dict[str, Any] = {"trigger": "manual", "task": "unknown-task", "timezone": "UTC"}


def _build_entry(
    fields: dict[str, Any], timezone: str, now: datetime
) -> tuple[Built | None, list[tuple[str, str]]]:
    """Build one entry; on a bad field, note it, stand in a default and try again, so that
    every bad field of the entry is reported, not only the first."""
    fields = {"timezone": timezone} | fields
    errors: list[tuple[str, str]] = []
    while True:
        try:
            built = build_schedule(**fields, now=now, source=ScheduleSource.CONFIG, new=False)
        except ValidationError as exc:
            key = exc.field if exc.field in SCHEDULE_FIELDS else "trigger"
            if exc.field is None or any(k == key for k, _ in errors):
                errors.append((key, error_text(exc)))
                return None, errors
            errors.append((key, error_text(exc)))
            if key in _STANDINS:
                fields[key] = _STANDINS[key]
            else:
                fields.pop(key, None)
            continue
        return (None if errors else built), errors


def _task_unknown(name: str) -> str:
    text = f"task {name!r} is not registered (is its module in [agentcron] tasks?)"
    close = difflib.get_close_matches(name, default_registry.names(), n=1)
    return f"{text}; did you mean {close[0]!r}?" if close else text
