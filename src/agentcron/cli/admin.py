"""``agentcron stats``, ``agentcron workers`` and ``agentcron db upgrade``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from agentcron.cli import _render as r
from agentcron.cli._common import ConfigOpt, DbOpt, JsonOpt, admin_app, echo_json, run
from agentcron.cli._help import Command
from agentcron.models import iso
from agentcron.store import StoreStats

__all__ = ["db_app", "health", "stats", "workers"]

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True, rich_markup_mode=None)


def stats(db: DbOpt = None, config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Count runs by status, schedules and workers.

    Also shows the age of the oldest queued run.
    """
    run(_stats(db, config, json_out))


async def _stats(db: str | None, config: Path | None, json_out: bool) -> None:
    async with admin_app(db, config) as a:
        current = await a.stats()
        now = a.clock.now()
    data = _stats_dict(current)
    if json_out:
        echo_json(data)
        return
    grid = r.Grid((r.Col(""), r.Col("", right=True)))
    for status, count in sorted(data["runs"].items()):
        grid.add_row(f"runs {status}", str(count))
    for key in ("schedules", "schedules_enabled", "schedules_parked", "workers"):
        grid.add_row(key.replace("_", " "), str(data[key]))
    grid.add_row("oldest queued", r.relative(current.oldest_queued_at, now))
    grid.print("")


def _stats_dict(s: StoreStats) -> dict[str, Any]:
    return {
        "runs": dict(s.runs_by_status),
        "schedules": s.schedules,
        "schedules_enabled": s.schedules_enabled,
        "schedules_parked": s.schedules_parked,
        "workers": s.workers,
        "oldest_queued_at": iso(s.oldest_queued_at),
        **s.extra,
    }


def workers(db: DbOpt = None, config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """List the workers the database has seen.

    For each: host, pid, queues, runs running, concurrency and last heartbeat.
    """
    run(_workers(db, config, json_out))


async def _workers(db: str | None, config: Path | None, json_out: bool) -> None:
    async with admin_app(db, config) as a:
        items = await a.list_workers()
        now = a.clock.now()
    if json_out:
        echo_json({"items": [w.to_dict() for w in items]})
        return
    grid = r.Grid((r.Col("id"), r.Col("host", drop=2), r.Col("pid", drop=3, right=True),
                   r.Col("queues", flex=True), r.Col("running", right=True),
                   r.Col("concurrency", drop=1, right=True), r.Col("last heartbeat")))  # fmt: skip
    for w in items:
        grid.add_row(w.id, w.host, str(w.pid), ", ".join(w.queues) or "all", str(w.running),
                     str(w.concurrency), r.relative(w.last_heartbeat_at, now))  # fmt: skip
    grid.print("no workers")


@db_app.command(cls=Command)
def upgrade(db: DbOpt = None, config: ConfigOpt = None) -> None:
    """Create the database, or apply its pending schema migrations.

    Prints what was applied, or "up to date".
    """
    run(_upgrade(db, config))


async def _upgrade(db: str | None, config: Path | None) -> None:
    async with admin_app(db, config, create=True) as a:  # opening applies what is pending
        applied, version = await a.upgrade()
    if applied:
        typer.echo(f"applied {', '.join(applied)} (schema {version})")
    else:
        typer.echo(f"up to date (schema {version})")


_HEALTH_EXIT = {"healthy": 0, "degraded": 1, "critical": 2}


def health(db: DbOpt = None, config: ConfigOpt = None, json_out: JsonOpt = False) -> None:
    """Check health as /healthz does.

    Looks at the database, worker heartbeats, the failure rate and queue lag. Exit code 0
    healthy, 1 degraded, 2 critical (for monitoring scripts).
    """
    status = run(_health(db, config, json_out))
    raise typer.Exit(_HEALTH_EXIT.get(str(status), 2))


async def _health(db: str | None, config: Path | None, json_out: bool) -> str:
    from agentcron.api.health import HealthPolicy, assess

    async with admin_app(db, config) as a:
        report = await assess(a, HealthPolicy())
    if json_out:
        echo_json(report)
    else:
        typer.echo(report["status"])
        for reason in report["reasons"]:
            typer.echo(f"- {reason}")
    return str(report["status"])
