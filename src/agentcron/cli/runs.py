"""``agentcron runs list|enqueue|show|cancel|retry|signal``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from agentcron.app import App
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
from agentcron.models import Run

__all__ = ["app"]

app = typer.Typer(
    help="Queue, inspect, cancel, retry and signal runs.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

IdArg = Annotated[str, typer.Argument(metavar="ID", help="Run id.")]


@app.command("list", cls=Command)
def list_(
    task: Annotated[
        str | None, typer.Option(metavar="TASK", show_default=False, help="Only runs of this task.")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            metavar="STATUS",
            show_default=False,
            help="Only runs in this state: queued, running, waiting, succeeded, failed, dead, "
            "cancelled or skipped.",
        ),
    ] = None,
    schedule: Annotated[
        str | None,
        typer.Option(metavar="NAME|ID", show_default=False, help="Only runs of this schedule."),
    ] = None,
    limit: Annotated[
        int, typer.Option(min=1, max=10_000, metavar="N", help="At most this many.")
    ] = 50,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List runs, newest first."""
    run(_list(task, status, schedule, limit, db, config, json_out))


async def _list(task: str | None, status: str | None, schedule: str | None, limit: int,
                db: str | None, config: Path | None, json_out: bool) -> None:  # fmt: skip
    async with admin_app(db, config) as a:
        items, cursor = await a.list_runs(task=task, status=status, schedule=schedule, limit=limit)
        names = await _schedule_names(a)
    if json_out:
        echo_json({"items": [run.to_dict() for run in items], "next_cursor": cursor})
        return
    grid = r.Grid((r.Col("id", right=True), r.Col("task"), r.Col("status"),
                   r.Col("subject", drop=3), r.Col("schedule", drop=5),
                   r.Col("tries", drop=6, right=True), r.Col("queued"), r.Col("started", drop=8),
                   r.Col("took", drop=4, right=True), r.Col("lag", drop=7, right=True),
                   r.Col("error", flex=True)))  # fmt: skip
    for item in items:
        grid.add_row(
            str(item.id), item.task, r.status(item.status), item.subject or "-",
            names.get(item.schedule_id or "", item.schedule_id or "-"),
            f"{item.attempts}/{item.max_attempts}", r.when(item.queued_at, short=True),
            r.when(item.started_at, short=True), r.duration(item.duration), r.duration(item.lag),
            (item.error or {}).get("type", "") or "",
        )  # fmt: skip
    grid.print("no runs")


async def _schedule_names(a: App) -> dict[str, str]:
    schedules, _ = await a.list_schedules(limit=10_000)
    return {s.id: s.name for s in schedules}


@app.command(cls=Command)
def enqueue(
    task: Annotated[str, typer.Argument(metavar="TASK", help="Name of a registered task.")],
    args: ArgsOpt = None,
    subject: Annotated[
        str | None,
        typer.Option(metavar="S", show_default=False, help="Who the run is for, e.g. user:42."),
    ] = None,
    delay: Annotated[
        str | None,
        typer.Option(metavar="D", show_default=False, help="Wait this long first: 30s, 5m, 1h30m."),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Queue one run of a task, now or after --delay.

    The task must be known: defined in the config's task modules, or registered in the
    database by a worker that has run.
    """
    run(_enqueue(task, args, subject, delay, db, config, json_out))


async def _enqueue(task: str, args: str | None, subject: str | None, delay: str | None,
                   db: str | None, config: Path | None, json_out: bool) -> None:  # fmt: skip
    given = json_arg(args) if args is not None else None
    async with admin_app(db, config, tasks=True, create=True) as a:
        try:
            item = await a.enqueue(task, given, subject=subject, delay=delay)
        except TaskNotFound as exc:
            raise await unknown_task(a, exc.name) from None
        names = await _schedule_names(a) if not json_out else {}
    if json_out:
        echo_json(item.to_dict())
        return
    typer.echo(f"queued run {item.id} of {item.task}")
    r.console().print(_details(item, names))


@app.command(cls=Command)
def show(key: IdArg, db: DbOpt = None, config: ConfigOpt = None,
         json_out: JsonOpt = False) -> None:  # fmt: skip
    """Show one run: args, timing, result or error."""
    run(_show(key, db, config, json_out))


async def _show(key: str, db: str | None, config: Path | None, json_out: bool) -> None:
    async with admin_app(db, config) as a:
        item = await a.get_run(_run_id(key))
        names = await _schedule_names(a)
    if json_out:
        echo_json(item.to_dict())
        return
    r.console().print(_details(item, names))


def _details(item: Run, names: dict[str, str]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    schedule = names.get(item.schedule_id or "", item.schedule_id or "-")
    rows: list[tuple[str, Any]] = [
        ("id", str(item.id)), ("task", item.task), ("status", r.status(item.status)),
        ("schedule", schedule), ("subject", item.subject or "-"), ("queue", item.queue),
        ("args", json.dumps(item.args)), ("attempts", f"{item.attempts}/{item.max_attempts}"),
        ("scheduled for", r.when(item.scheduled_for)), ("queued", r.when(item.queued_at)),
        ("started", r.when(item.started_at)), ("finished", r.when(item.finished_at)),
        ("duration", r.duration(item.duration)), ("lag", r.duration(item.lag)),
        ("worker", item.worker or "-"),
    ]  # fmt: skip
    if item.waiting_for:
        rows.append(("waiting for", _waiting(item)))
        if "call" in item.waiting_for:  # an agent's tool call, for a person to approve
            call = item.waiting_for["call"]
            rows.append(("proposed call", f"{call['tool']} {json.dumps(call['args'])}"))
        if "interrupts" in item.waiting_for:  # a graph's interrupt() values
            values = [i.get("value") for i in item.waiting_for["interrupts"]]
            rows.append(("interrupts", json.dumps(values)))
    if item.result is not None:
        rows.append(("result", json.dumps(item.result)))
    if item.error:
        rows.append(("error", f"{item.error.get('type')}: {item.error.get('message')}"))
        if item.error.get("traceback"):
            rows.append(("traceback", str(item.error["traceback"]).rstrip()))
    for step in item.steps or ():
        rows.append((f"step {step.name}", f"{step.status} {r.when(step.finished_at)}"))
    for label, value in rows:
        grid.add_row(label, value)
    return grid


def _waiting(item: Run) -> str:
    shown = item.to_dict()["waiting_for"] or {}
    what = shown.get("name") or shown.get("pattern") or ""
    until = f" until {shown['until']}" if shown.get("until") else ""
    return f"{shown.get('kind')} {what}".rstrip() + until


@app.command(cls=Command)
def cancel(key: IdArg, db: DbOpt = None, config: ConfigOpt = None,
           json_out: JsonOpt = False) -> None:  # fmt: skip
    """Cancel a run.

    A queued or waiting run is cancelled at once, a running one at its worker's next
    heartbeat.
    """
    run(_change(key, "cancel", db, config, json_out))


@app.command(cls=Command)
def retry(key: IdArg, db: DbOpt = None, config: ConfigOpt = None,
          json_out: JsonOpt = False) -> None:  # fmt: skip
    """Queue a dead, failed or cancelled run again.

    It gets one more attempt.
    """
    run(_change(key, "retry", db, config, json_out))


@app.command(cls=Command)
def signal(
    key: IdArg,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The signal's name, e.g. approve.")],
    data: Annotated[
        str | None,
        typer.Option(
            "--data", metavar="JSON", show_default=False,
            help='The signal\'s data as JSON, e.g. \'{"approved": true}\' (default: null).',
        ),
    ] = None,
    db: DbOpt = None,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:  # fmt: skip
    """Send a signal to a run.

    A run waiting for it (ctx.wait_for_signal) takes its data and is queued again at once;
    otherwise it is kept for the run's next wait of that name.
    """
    run(_signal(key, name, data, db, config, json_out))


async def _signal(key: str, name: str, data: str | None, db: str | None, config: Path | None,
                  json_out: bool) -> None:  # fmt: skip
    run_id = _run_id(key)
    value = json_arg(data, "data") if data is not None else None
    async with admin_app(db, config) as a:
        item = await a.signal(run_id, name, value)
    if json_out:
        echo_json(item.to_dict())
        return
    typer.echo(f"signal {name!r} sent to run {item.id} ({item.task}): {item.status.value}")


async def _change(key: str, verb: str, db: str | None, config: Path | None,
                  json_out: bool) -> None:  # fmt: skip
    run_id = _run_id(key)
    async with admin_app(db, config) as a:
        item = await (a.cancel_run(run_id) if verb == "cancel" else a.retry_run(run_id))
    if json_out:
        echo_json(item.to_dict())
        return
    done = "cancel requested" if item.cancel_requested and verb == "cancel" else item.status.value
    typer.echo(f"run {item.id} ({item.task}): {done}")


def _run_id(key: str) -> int:
    try:
        value = int(key)
    except ValueError:
        raise ValidationError(f"{key!r} is not a run id (a whole number)", field="run") from None
    if value < 1:
        raise ValidationError(f"{key!r} is not a run id (a whole number)", field="run")
    return value
