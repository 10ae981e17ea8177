"""What every command shares: options, running a coroutine, turning our errors into exit 2."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from agentcron._known import did_you_mean
from agentcron.app import NAMESPACE_MAX_SCHEDULES, App
from agentcron.config import (
    DEFAULT_DB,
    Config,
    Settings,
    error_text,
    find_config,
    import_tasks,
    load_config,
    load_settings,
    resolve_db,
    store_options,
)
from agentcron.errors import (
    AgentcronError,
    ConfigError,
    Conflict,
    InvalidRunState,
    NotFound,
    RunNotFound,
    ScheduleExists,
    ScheduleNotFound,
    StoreError,
    TaskNotFound,
    ValidationError,
)
from agentcron.store import create_store
from agentcron.tasks import default_registry

__all__ = [
    "CONFIG_HELP",
    "DB_HELP",
    "ArgsOpt",
    "ConfigOpt",
    "DbOpt",
    "JsonOpt",
    "Located",
    "admin_app",
    "echo_json",
    "fail",
    "json_arg",
    "load_for_run",
    "locate",
    "run",
    "unknown_task",
]

T = TypeVar("T")


def _inherit_db(ctx: typer.Context, value: str | None) -> str | None:
    if value is not None or ctx.parent is None:
        return value
    root: str | None = ctx.find_root().params.get("db")
    return root


def _inherit_config(ctx: typer.Context, value: Path | None) -> Path | None:
    if value is not None or ctx.parent is None:
        return value
    root: Path | None = ctx.find_root().params.get("config")
    return root


DB_HELP = (
    "Store URL (env AGENTCRON_DB; else the config's db; else agentcron.db next to the config "
    f"file; else {DEFAULT_DB})."
)
CONFIG_HELP = (
    "Config file, TOML or YAML (env AGENTCRON_CONFIG; else ./agentcron.toml, .yaml or .yml "
    "if present)."
)
DbOpt = Annotated[
    str | None,
    typer.Option("--db", metavar="URL", help=DB_HELP, show_default=False, callback=_inherit_db),
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", metavar="FILE", help=CONFIG_HELP, show_default=False,
        callback=_inherit_config,
    ),
]  # fmt: skip
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")]
ArgsOpt = Annotated[
    str | None,
    typer.Option(
        "--args", metavar="JSON", show_default=False,
        help="The task's arguments as JSON: an object of keyword arguments, e.g. '{\"url\": "
        "\"https://example.com\"}', or an array of positional ones, e.g. '[\"inbox\", 30]'.",
    ),
]  # fmt: skip


def run(work: Coroutine[Any, Any, T]) -> T:
    """Run a command's coroutine; an agentcron error exits 2 with one line per problem."""
    try:
        return asyncio.run(work)
    except AgentcronError as exc:
        fail(exc)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


def fail(exc: AgentcronError) -> NoReturn:
    """``error: <field>: <message>`` on stderr (one line per config problem), exit code 2."""
    lines = exc.problems if isinstance(exc, ConfigError) else [_one_line(exc)]
    for line in lines:
        typer.echo(f"error: {' '.join(line.split())}", err=True)
    raise typer.Exit(2)


def _one_line(exc: AgentcronError) -> str:
    if isinstance(exc, ValidationError):
        return error_text(exc)
    for kind, field in _FIELDS:
        if isinstance(exc, kind):
            return f"{field}: {exc}"
    return f"{type(exc).__name__}: {exc}"


_FIELDS: tuple[tuple[type[AgentcronError], str], ...] = (
    (ScheduleNotFound, "schedule"),
    (RunNotFound, "run"),
    (TaskNotFound, "task"),
    (NotFound, "not found"),
    (ScheduleExists, "name"),
    (InvalidRunState, "run"),
    (Conflict, "conflict"),
    (StoreError, "db"),
)


def json_arg(text: str, field: str = "args") -> Any:
    """A JSON value given on the command line; bad JSON is a `ValidationError` on ``field``."""
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ValidationError(f"not valid JSON: {exc}", field=field) from None


async def unknown_task(app: App, name: str) -> ValidationError:
    """``task 'digst' is not registered; did you mean 'digest'?``: the error of a task name
    that neither the config's modules nor the store (a worker's tasks) know."""
    known = {task["name"] for task in await app.list_tasks()}
    names = [n for n in known if not n.startswith("agentcron.")]
    return ValidationError(f"task {name!r} is not registered{did_you_mean(name, names)}",
                           field="task")  # fmt: skip


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@dataclass(frozen=True, slots=True)
class Located:
    """Where a command's database and config are: ``--db``, ``AGENTCRON_DB``, ``--config``,
    ``AGENTCRON_CONFIG``, ``./agentcron.toml|yaml|yml``, then the default (see `locate`)."""

    db: str
    config: Path | None
    settings: Settings | None


def locate(db: str | None, config: Path | None) -> Located:
    """The database and config file a command uses; reads only the ``[agentcron]`` table."""
    path = find_config(config)
    settings = load_settings(path) if path else None
    return Located(resolve_db(db, settings, path=path), path, settings)


@contextlib.asynccontextmanager
async def admin_app(
    db: str | None, config: Path | None = None, *, tasks: bool = False, create: bool = False
) -> AsyncIterator[App]:
    """An `App` on the store for one admin command (schedules, runs, stats...).

    Only the store is opened: an admin command registers nothing and writes nothing unless it
    is asked to. ``tasks``: also import the config's task modules, so that a task they define
    is known even before a worker registered it. ``create``: the command may create the
    database (it adds something); without it, a missing database is an error (`SchemaError`:
    ``no agentcron database at ...``) and nothing is created.
    """
    where = locate(db, config)
    if tasks and where.settings is not None and where.config is not None:
        import_tasks(where.settings, where.config)
    app = App(
        create_store(where.db, create=create, **store_options(where.settings)),
        maintenance=False,
        timezone=where.settings.timezone if where.settings else "UTC",
        max_schedules=where.settings.max_schedules if where.settings else NAMESPACE_MAX_SCHEDULES,
    )
    app.registry.merge(default_registry)
    await app.open(register=False)
    try:
        yield app
    finally:
        await app.close()


def load_for_run(config: Path | None) -> Config:
    """The full config for serve / scheduler / worker (an empty one when there is no file)."""
    path = find_config(config)
    return load_config(path) if path else Config()
