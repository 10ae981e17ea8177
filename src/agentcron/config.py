"""Config files (``agentcron.toml``, ``agentcron.yaml``) and ``AGENTCRON_*`` environment variables.

This is the only module that reads ``os.environ`` (see `ENV_VARS`). A file looks like::

    [agentcron]
    db = "sqlite:///agentcron.db"     # relative to this file; --db / AGENTCRON_DB win
    tasks = ["myapp.tasks"]           # modules to import; they register with @agentcron.task
    concurrency = 32
    timezone = "UTC"
    connect_timeout = "5s"            # PostgreSQL: a store call waits at most this for a connection
    reconnect_max_delay = "1s"        # PostgreSQL: the longest wait between reconnect attempts

    [agentcron.llm]                   # defaults of agent tasks (all optional)
    base_url = "http://127.0.0.1:8089/v1"
    api_key_env = "OPENAI_API_KEY"
    model = "gpt-4o-mini"

    [[task]]                          # a declarative agent task (see agentcron.agents)
    name = "grader"
    kind = "agent"                    # or "graph", with graph = "mypkg.graphs:graph"
    system = "You grade a learner's progress."
    prompt = "Grade {subject}. Notes: {args.notes}"
    tools = ["lookup_progress"]       # @agentcron.tool / @agentcron.task functions

    [[schedule]]
    name = "weekday-digest"
    task = "digest"
    trigger = "0 9 * * 1-5"
    timezone = "Europe/Berlin"

An agent task's endpoint: its ``base_url``, else ``AGENTCRON_LLM_BASE_URL``, else
``[agentcron.llm] base_url``, else ``OPENAI_BASE_URL``, else OpenAI's; its API key is read from
the variable its ``api_key_env`` names (else ``[agentcron.llm] api_key_env``, else
``OPENAI_API_KEY``) when the config is loaded; none is sent when that variable is unset.

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

from agentcron.agents.llm import DEFAULT_BASE_URL, Endpoint
from agentcron.agents.specs import KINDS, TASK_FIELDS, build_task
from agentcron.durations import parse_duration
from agentcron.errors import ConfigError, InvalidTrigger, ValidationError
from agentcron.models import ScheduleSource
from agentcron.specs import SCHEDULE_FIELDS, Built, build_schedule, check_name
from agentcron.tasks import Task, default_registry
from agentcron.triggers._time import load_zone

if TYPE_CHECKING:
    from agentcron.app import App

__all__ = [
    "CONFIG_NAMES",
    "DEFAULT_DB",
    "ENV_VARS",
    "Config",
    "LLMSettings",
    "Settings",
    "build_app",
    "env",
    "error_text",
    "find_config",
    "import_tasks",
    "load_config",
    "load_settings",
    "resolve_db",
    "store_options",
]

DEFAULT_DB = "sqlite:///agentcron.db"
CONFIG_NAMES = ("agentcron.toml", "agentcron.yaml", "agentcron.yml")
ENV_VARS = {
    "AGENTCRON_DB": f"store URL when --db is not given (default {DEFAULT_DB})",
    "AGENTCRON_CONFIG": "config file when --config is not given (default ./agentcron.toml)",
    "AGENTCRON_LOG_LEVEL": "log level of serve / scheduler / worker (default INFO)",
    "AGENTCRON_LLM_BASE_URL": "agent tasks' LLM endpoint unless a [[task]] sets base_url",
    "OPENAI_BASE_URL": "agent tasks' LLM endpoint when nothing else sets one",
    "OPENAI_API_KEY": "agent tasks' API key (unless api_key_env names another variable)",
}
SETTINGS_FIELDS = frozenset(
    {"db", "tasks", "concurrency", "queues", "timezone", "retention", "lease", "shutdown_timeout",
     "llm", "connect_timeout", "reconnect_max_delay"}
)  # fmt: skip
LLM_FIELDS = frozenset({"base_url", "api_key_env", "model"})
_TOP_FIELDS = frozenset({"agentcron", "task", "schedule"})
KeyPath = tuple[str | int, ...]


def env(name: str) -> str | None:
    """The value of one of `ENV_VARS` (None when unset or empty)."""
    if name not in ENV_VARS:
        raise KeyError(f"{name} is not an agentcron environment variable")
    return os.environ.get(name) or None


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
    connect_timeout: timedelta | None = None  # PostgreSQL; None: the store's default (5s)
    reconnect_max_delay: timedelta | None = None  # PostgreSQL; None: the store's default (1s)


@dataclass(frozen=True, slots=True)
class Config:
    """A loaded config file: settings, the ``[[schedule]]`` entries, and where it came from.
    ``tasks``: the ``[[task]]`` entries, built; `build_app` registers them."""

    settings: Settings = field(default_factory=Settings)
    schedules: list[Built] = field(default_factory=list)
    path: Path | None = None
    tasks: list[Task] = field(default_factory=list)


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
    """An `App` with the config's settings and ``[[task]]`` tasks. Before running it, store the
    config's schedules with ``await app.sync_schedules(config.schedules)``."""
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
    )
    for declared in config.tasks:
        app.registry.add(declared)
    return app


def store_options(settings: Settings | None) -> dict[str, float | None]:
    """The settings' options of the store: `agentcron.store.create_store` keyword arguments."""
    if settings is None:
        return {}
    return {
        "connect_timeout_s": _seconds(settings.connect_timeout),
        "reconnect_max_delay_s": _seconds(settings.reconnect_max_delay),
    }


def _seconds(value: timedelta | None) -> float | None:
    return value.total_seconds() if value is not None else None


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
    tasks = _read_tasks(doc, settings, check_names=imported)
    declared = {t.name for t in tasks}
    schedules = _read_schedules(doc, settings, check_tasks=imported, declared=declared)
    doc.raise_problems()
    return Config(settings, schedules, doc.path, tasks)


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
        except ValidationError as exc:  # a field "llm.model" is at ("agentcron", "llm", "model")
            doc.add(("agentcron", *(exc.field or key).split(".")), error_text(exc))
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


def _llm(value: Any, key: str) -> LLMSettings:
    if not isinstance(value, Mapping):
        raise ValidationError("must be a table ([agentcron.llm])", field=key)
    for name in value:
        if name not in LLM_FIELDS:
            close = difflib.get_close_matches(name, sorted(LLM_FIELDS), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValidationError(f"unknown key{hint}", field=f"{key}.{name}")
    return LLMSettings(**{name: _text(v, f"{key}.{name}") for name, v in value.items()})


_SETTING_READERS = {
    "db": _text,
    "tasks": _names,
    "concurrency": _positive,
    "queues": _queues,
    "timezone": _zone,
    "retention": _retention,
    "lease": _duration,
    "shutdown_timeout": _duration,
    "llm": _llm,
    "connect_timeout": _duration,
    "reconnect_max_delay": _duration,
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
def _read_schedules(
    doc: _Doc, settings: Settings, *, check_tasks: bool, declared: set[str]
) -> list[Built]:
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
        known = task in default_registry or task in declared
        if check_tasks and "task" not in dict(errors) and not known:
            errors.append(("task", f"task: {_task_unknown(str(task), declared)}"))
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


def _task_unknown(name: str, declared: Iterable[str] = ()) -> str:
    text = f"task {name!r} is not registered (is its module in [agentcron] tasks?)"
    close = difflib.get_close_matches(name, [*default_registry.names(), *declared], n=1)
    return f"{text}; did you mean {close[0]!r}?" if close else text


# -- [[task]] ----------------------------------------------------------------------------------
def _read_tasks(doc: _Doc, settings: Settings, *, check_names: bool) -> list[Task]:
    """Build the declarative tasks; ``check_names``: the task modules imported, so tool names
    and clashes with registered tasks can be checked."""
    entries = doc.data.get("task", [])
    if not isinstance(entries, list):
        doc.add(("task",), "task: must be a list of tables ([[task]])")
        return []
    tasks: list[Task] = []
    for index, entry in enumerate(entries):
        at: KeyPath = ("task", index)
        where = _task_where(index, entry)
        if not isinstance(entry, Mapping):
            doc.add(at, f"{where}must be a table of task fields")
            continue
        kind = entry.get("kind", "agent")
        doc.check_keys(entry, at, KINDS.get(kind, TASK_FIELDS) if isinstance(kind, str)
                       else TASK_FIELDS, where)  # fmt: skip
        errors: list[tuple[str, str]] = []
        endpoint = _endpoint(entry, settings.llm, errors) if kind == "agent" else Endpoint()
        built, problems = build_task(entry, endpoint=endpoint, default_model=settings.llm.model,
                                     check_tools=check_names)  # fmt: skip
        errors += problems
        if built is not None and check_names and built.name in default_registry:
            errors.append(("name", f"name: {built.name!r} is already a registered task"))
        if built is not None and any(t.name == built.name for t in tasks):
            errors.append(("name", f"name: {built.name!r} is used twice"))
        for key, text in errors:
            doc.add((*at, key), f"{where}{text}")
        if built is not None and not errors:
            tasks.append(built)
    return tasks


def _task_where(index: int, entry: Any) -> str:
    name = entry.get("name") if isinstance(entry, Mapping) else None
    label = f"task[{index + 1}]"
    return f'{label} "{name}": ' if isinstance(name, str) else f"{label}: "


def _endpoint(entry: Mapping[str, Any], llm: LLMSettings,
              errors: list[tuple[str, str]]) -> Endpoint:  # fmt: skip
    """Where an agent task sends requests, and its API key, from the entry, the environment
    and ``[agentcron.llm]`` (see the module docstring for the order)."""
    own: dict[str, str] = {}
    for key in ("base_url", "api_key_env"):
        if key in entry:
            try:
                own[key] = _text(entry[key], key)
            except ValidationError as exc:
                errors.append((key, str(exc)))
    candidates = [
        (own.get("base_url"), "base_url"),
        (env("AGENTCRON_LLM_BASE_URL"), "AGENTCRON_LLM_BASE_URL"),
        (llm.base_url, "[agentcron.llm] base_url"),
        (env("OPENAI_BASE_URL"), "OPENAI_BASE_URL"),
    ]
    base_url, source = next(((v, s) for v, s in candidates if v), (DEFAULT_BASE_URL, ""))
    if not base_url.startswith(("http://", "https://")):
        origin = f" (from {source})" if source != "base_url" else ""
        errors.append(("base_url", f"base_url: {base_url!r}{origin} is not an http(s) URL"))
    key_env = own.get("api_key_env") or llm.api_key_env or "OPENAI_API_KEY"
    return Endpoint(base_url=base_url, api_key=os.environ.get(key_env) or None,
                    api_key_env=key_env)  # fmt: skip
