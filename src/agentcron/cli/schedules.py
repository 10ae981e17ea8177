"""``agentcron schedules list|show|add|rm|pause|resume|trigger``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from agentcron.cli import _render as r
from agentcron.cli._common import (
    ArgsOpt,
    ConfigOpt,
    DbOpt,
    JsonOpt,
    admin_app,
    echo_json,
    json_arg,
    run,
    unknown_task,
)
from agentcron.cli._help import Command
from agentcron.errors import TaskNotFound, ValidationError
from agentcron.logs import plural
from agentcron.models import Schedule, iso
from agentcron.scheduler import trigger_of
from agentcron.store import FannedOut
from agentcron.triggers import next_times

__all__ = ["app"]

app = typer.Typer(
    help="Create, inspect and control schedules.", no_args_is_help=True, rich_markup_mode=None
)

KeyArg = Annotated[str, typer.Argument(metavar="NAME|ID", help="Schedule name or id.")]


@app.command("list", cls=Command)
def list_(db: DbOpt = None, config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """List schedules: trigger, next run, state and source."""
    run(_list(db, config, json_out))


async def _list(db: str | None, config: Path | None, json_out: bool) -> None:
    async with admin_app(db, config) as a:
        items, cursor = await a.list_schedules(limit=10_000)
        now = a.clock.now()
    if json_out:
        echo_json({"items": [s.to_dict() for s in items], "next_cursor": cursor})
        return
    grid = r.Grid((r.Col("name"), r.Col("task"), r.Col("trigger", flex=True),
                   r.Col("next run", right=True), r.Col("at", drop=2), r.Col("state"),
                   r.Col("source", drop=1)))  # fmt: skip
    for s in items:
        zone = r.schedule_zone(s)
        grid.add_row(s.name, s.task, s.description, r.relative(s.next_run_at, now),
                     r.when(s.next_run_at, zone, short=True), r.schedule_state(s),
                     s.source.value)  # fmt: skip
    grid.print("no schedules")


@app.command(cls=Command)
def show(
    key: KeyArg,
    count: Annotated[
        int, typer.Option(min=0, max=100, metavar="N", help="Next fire times to show.")
    ] = 5,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show one schedule and its next fire times."""
    run(_show(key, count, db, config, json_out))


async def _show(key: str, count: int, db: str | None, config: Path | None, json_out: bool) -> None:
    async with admin_app(db, config) as a:
        s = await a.get_schedule(key)
        now = a.clock.now()
    upcoming = _upcoming(s, count)
    if json_out:
        echo_json(s.to_dict() | {"next": [iso(t) for t in upcoming]})
        return
    r.console().print(_details(s, upcoming, now))


def _upcoming(s: Schedule, count: int) -> list[Any]:
    if not s.enabled or s.next_run_at is None or count == 0:
        return []
    trigger = trigger_of(s)
    return [s.next_run_at, *next_times(trigger, s.next_run_at, count - 1)]


def _details(s: Schedule, upcoming: list[Any], now: datetime) -> Table:
    zone = r.schedule_zone(s)
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    rows: list[tuple[str, Any]] = [
        ("name", s.name), ("id", s.id), ("task", s.task), ("namespace", s.namespace),
        ("trigger", json.dumps(s.trigger)), ("description", s.description),
        ("args", json.dumps(s.args)), ("state", r.schedule_state(s)),
        ("source", s.source.value),
        ("next run", f"{r.relative(s.next_run_at, now)} ({r.when(s.next_run_at, zone)})"),
        ("last run", r.when(s.last_run_at, zone)),
        ("misfire", s.misfire.value), ("overlap", s.overlap.value),
        ("retries", "task default" if s.retries is None else str(s.retries)),
        ("timeout", r.duration(s.timeout)), ("priority", str(s.priority)),
        ("queue", s.queue or "task default"),
        ("created", r.when(s.created_at)), ("updated", r.when(s.updated_at)),
    ]  # fmt: skip
    for label, value in rows:
        grid.add_row(label, value)
    for index, moment in enumerate(upcoming):
        grid.add_row("upcoming" if index == 0 else "", r.when(moment, zone))
    return grid


@app.command(cls=Command)
def add(
    task: Annotated[str, typer.Argument(metavar="TASK", help="Name of a registered task.")],
    trigger: Annotated[
        str,
        typer.Option(
            "--trigger",
            "-t",
            metavar="TEXT",
            help="When it fires: '0 9 * * 1-5', 'every 5m', 'every weekday at 9am', 'manual'…",
        ),
    ],
    name: Annotated[
        str | None,
        typer.Option(
            metavar="NAME", show_default=False, help="Schedule name (default: the task's)."
        ),
    ] = None,
    args: ArgsOpt = None,
    timezone: Annotated[
        str | None,
        typer.Option(
            metavar="ZONE",
            show_default=False,
            help="IANA time zone the trigger is read in (default: the config's, else UTC).",
        ),
    ] = None,
    misfire: Annotated[
        str | None,
        typer.Option(
            metavar="once|skip|all",
            show_default=False,
            help="Slots missed while nothing ran: one catch-up run (default), none, or every one.",
        ),
    ] = None,
    overlap: Annotated[
        str | None,
        typer.Option(
            metavar="skip|allow|queue",
            show_default=False,
            help="A fire while the previous run still runs: skipped (default), run "
            "too, or queued after it.",
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(
            metavar="N", show_default=False, help="Retries of a failed run (default: the task's)."
        ),
    ] = None,
    timeout: Annotated[
        str | None,
        typer.Option(
            metavar="DURATION",
            show_default=False,
            help="Run timeout, e.g. 30s (default: the task's).",
        ),
    ] = None,
    metadata: Annotated[
        str | None,
        typer.Option(
            metavar="JSON", show_default=False, help="JSON object given to each run (ctx.metadata)."
        ),
    ] = None,
    thread_id: Annotated[
        str | None,
        typer.Option(
            metavar="ID",
            show_default=False,
            help="A graph task's thread (default: the subject, else the schedule's name).",
        ),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Create a schedule for a task.

    The task is defined in the config's task modules, or registered in the database by a
    worker that has run.
    """
    options = {"name": name, "args": args, "timezone": timezone, "misfire": misfire,
               "overlap": overlap, "retries": retries, "timeout": timeout,
               "metadata": metadata, "thread_id": thread_id}  # fmt: skip
    given = {k: v for k, v in options.items() if v is not None}
    run(_add(task, trigger, given, db, config, json_out))


async def _add(task: str, trigger: str, options: dict[str, Any], db: str | None,
               config: Path | None, json_out: bool) -> None:  # fmt: skip
    for key in ("args", "metadata"):
        if key in options:
            options[key] = json_arg(options[key], key)
    async with admin_app(db, config, tasks=True, create=True) as a:
        try:
            s = await a.add_schedule(task, trigger, **options)
        except TaskNotFound as exc:
            raise await unknown_task(a, exc.name) from None
    _print_schedule(s, "added", json_out)


def _print_schedule(s: Schedule, verb: str, json_out: bool) -> None:
    if json_out:
        echo_json(s.to_dict())
        return
    nxt = r.when(s.next_run_at, r.schedule_zone(s)) if s.next_run_at else "-"
    typer.echo(f"{verb} schedule {s.name} ({s.id}): {s.description}; next run {nxt}")


@app.command(cls=Command)
def rm(key: KeyArg, db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Delete a schedule (its runs are kept)."""
    run(_rm(key, db, config))


async def _rm(key: str, db: str | None, config: Path | None) -> None:
    async with admin_app(db, config) as a:
        s = await a.get_schedule(key)
        await a.delete_schedule(s.id)
    typer.echo(f"removed schedule {s.name} ({s.id})")


@app.command(cls=Command)
def pause(key: KeyArg, db: DbOpt = None, config: ConfigOpt = None,
          json_out: JsonOpt = False) -> None:  # fmt: skip
    """Stop a schedule from firing until it is resumed."""
    run(_toggle(key, False, db, config, json_out))


@app.command(cls=Command)
def resume(key: KeyArg, db: DbOpt = None, config: ConfigOpt = None,
           json_out: JsonOpt = False) -> None:  # fmt: skip
    """Let a paused schedule fire again.

    It fires from its next slot after now; slots missed while paused are not caught up.
    """
    run(_toggle(key, True, db, config, json_out))


async def _toggle(key: str, enable: bool, db: str | None, config: Path | None,
                  json_out: bool) -> None:  # fmt: skip
    async with admin_app(db, config) as a:
        s = await (a.resume(key) if enable else a.pause(key))
    _print_schedule(s, "resumed" if enable else "paused", json_out)


@app.command(cls=Command)
def trigger(
    key: KeyArg,
    args: ArgsOpt = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Queue a run of the schedule's task now.

    The run takes the schedule's args; --args replaces them for this run only (a JSON object
    is merged into the schedule's). A schedule with for_each_subject queues one run per
    matching subject, as a firing of it does.
    """
    run(_trigger(key, args, db, config, json_out))


async def _trigger(key: str, args: str | None, db: str | None, config: Path | None,
                   json_out: bool) -> None:  # fmt: skip
    given = json_arg(args) if args is not None else None
    async with admin_app(db, config, tasks=True) as a:
        done = await a.trigger(key, args=given)
    if json_out:
        echo_json(done.to_dict())
    elif isinstance(done, FannedOut):
        typer.echo(_fanned_out(done))
    else:
        typer.echo(f"queued run {done.id} of {done.task}")


def _fanned_out(done: FannedOut) -> str:
    """``queued 3 runs (one per subject)``, and what the schedule's limit skipped."""
    text = f"queued {plural(done.queued, 'run')} (one per subject)"
    if done.skipped:
        text += f"; {plural(done.skipped, 'run')} skipped (over the schedule's limit)"
    if not done.queued and not done.skipped:
        text += "; no subject matches the schedule's filter"
    return text


@app.command(cls=Command)
def backfill(
    key: KeyArg,
    start: Annotated[str, typer.Option("--from", metavar="ISO", help="First slot time (incl.).")],
    end: Annotated[str, typer.Option("--to", metavar="ISO", help="Last slot time (incl.).")],
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Queue one run per slot of the trigger between two times.

    A time without an offset is read in the schedule's zone. Slots that already have a run
    keep it, so running this twice queues nothing more.
    """
    run(_backfill(key, start, end, db, config, json_out))


async def _backfill(key: str, start: str, end: str, db: str | None, config: Path | None,
                    json_out: bool) -> None:  # fmt: skip
    async with admin_app(db, config, tasks=True) as a:
        s = await a.get_schedule(key)
        zone = r.schedule_zone(s)
        done = await a.backfill(s.id, _instant(start, zone, "from"), _instant(end, zone, "to"))
    if json_out:
        slots = [iso(run.scheduled_for) for run in done.runs]
        runs = [run.to_dict() for run in done.runs]
        echo_json({"slots": slots, "created": done.created, "runs": runs})
        return
    typer.echo(
        f"backfilled {s.name}: {plural(len(done.runs), 'slot')}, "
        f"{plural(done.created, 'run')} queued, {len(done.runs) - done.created} already had one"
    )


def _instant(text: str, zone: Any, field: str) -> Any:
    from agentcron.errors import InvalidTrigger
    from agentcron.triggers import parse_instant

    try:
        return parse_instant(text, zone, field=field)
    except InvalidTrigger as exc:
        raise ValidationError(exc.message, field=field) from None
