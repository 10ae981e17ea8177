"""What every command shares: options, running a coroutine, turning our errors into exit 2."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer

from agentcron.app import App
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
    "ConfigOpt",
    "DbOpt",
    "JsonOpt",
    "admin_app",
    "echo_json",
    "fail",
    "load_for_run",
    "run",
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


DB_HELP = f"Store URL (env AGENTCRON_DB; else the config's db; else {DEFAULT_DB})."
CONFIG_HELP = "Config file, TOML or YAML (env AGENTCRON_CONFIG; else ./agentcron.toml if present)."
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


def echo_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


def _settings(config: Path | None) -> tuple[Settings | None, Path | None]:
    path = find_config(config)
    return (load_settings(path) if path else None), path


@contextlib.asynccontextmanager
async def admin_app(
    db: str | None, config: Path | None = None, *, tasks: bool = False
) -> AsyncIterator[App]:
    """An `App` on the store for one admin command (schedules, runs, stats...).

    Only the store is opened: an admin command registers nothing and writes nothing unless it
    is asked to. ``tasks``: also import the config's task modules, so that a task they define
    is known even before a worker registered it.
    """
    settings, path = _settings(config)
    if tasks and settings is not None and path is not None:
        import_tasks(settings, path)
    app = App(
        create_store(resolve_db(db, settings), **store_options(settings)),
        maintenance=False,
        timezone=settings.timezone if settings else "UTC",
    )
    app.registry.merge(default_registry)
    await app.store.open()
    try:
        yield app
    finally:
        await app.store.close()


def load_for_run(config: Path | None) -> Config:
    """The full config for serve / scheduler / worker (an empty one when there is no file)."""
    path = find_config(config)
    return load_config(path) if path else Config()
