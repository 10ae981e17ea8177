"""``agentcron serve``, ``agentcron scheduler`` and ``agentcron worker``: the long-running parts."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
import sys
from pathlib import Path
from typing import Annotated

import typer

from agentcron.app import App
from agentcron.cli._common import ConfigOpt, DbOpt, load_for_run, run
from agentcron.cli.serve_http import (
    AccessLogOpt,
    HostOpt,
    HttpOptions,
    InsecureOpt,
    PortOpt,
    serving,
)
from agentcron.config import Config, env
from agentcron.errors import ValidationError
from agentcron.logs import FORMAT, TIME_FORMAT
from agentcron.specs import check_name

__all__ = ["scheduler", "serve", "worker"]

LogLevelOpt = Annotated[
    str | None,
    typer.Option(
        "--log-level",
        metavar="LEVEL",
        help="DEBUG, INFO, WARNING or ERROR (env AGENTCRON_LOG_LEVEL; default INFO).",
        show_default=False,
    ),
]
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
log = logging.getLogger("agentcron")


def serve(
    config: ConfigOpt = None,
    db: DbOpt = None,
    log_level: LogLevelOpt = None,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    insecure_no_auth: InsecureOpt = False,
    access_log: AccessLogOpt = False,
) -> None:
    """Run the scheduler, a worker and the API in one process.

    Prints the database and config file it uses. SIGINT / SIGTERM stop it gracefully. Without
    any API token the API is open, and only on a loopback address.
    """
    http = HttpOptions(host, port, insecure_no_auth, access_log)
    run(_run("serve", config, db, log_level, http=http))


def scheduler(config: ConfigOpt = None, db: DbOpt = None, log_level: LogLevelOpt = None) -> None:
    """Run only the scheduler: fire due schedules into the queue."""
    run(_run("scheduler", config, db, log_level))


def worker(
    burst: Annotated[bool, typer.Option("--burst", help="Exit once nothing is queued.")] = False,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, metavar="N", help="Runs at once (default: the config's, else 32)."),
    ] = None,
    queues: Annotated[
        str | None, typer.Option(metavar="A,B", help="Only these queues (default all).")
    ] = None,
    config: ConfigOpt = None,
    db: DbOpt = None,
    log_level: LogLevelOpt = None,
) -> None:
    """Run only a worker: claim queued runs and execute them."""
    run(_run("worker", config, db, log_level, burst=burst, concurrency=concurrency,
             queues=queues))  # fmt: skip


async def _run(mode: str, config_path: Path | None, db: str | None, log_level: str | None, *,
               burst: bool = False, concurrency: int | None = None,
               queues: str | None = None, http: HttpOptions | None = None) -> None:  # fmt: skip
    signals = _StartupSignals()
    _setup_logging(log_level)
    config = _override(load_for_run(config_path), concurrency, queues)
    signals.app = app = App.from_config(config, db)
    async with app, serving(app, http) as url:
        synced = await _sync(app, config, mode)
        typer.echo(f"agentcron {mode}: {await _banner(app, config, synced)}")
        if url is not None:
            typer.echo(f"dashboard and API at {url}")
        if signals.received:
            log.info("stopped before starting (signal received during start-up)")
            return
        await app.run(
            burst=burst, scheduler=mode != "worker", worker=mode != "scheduler",
            handle_signals=True, announce=False,
        )  # fmt: skip


class _StartupSignals:
    """SIGINT / SIGTERM while starting up (importing tasks, opening the store, syncing) mean
    "do not start": the process then exits 0 instead of dying half-way. `App.run` takes the
    signals over once it runs (a signal that comes just before still stops it)."""

    def __init__(self) -> None:
        self.received = False
        self.app: App | None = None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal)

    def _on_signal(self) -> None:
        self.received = True
        if self.app is not None:
            self.app.stop()


def _override(config: Config, concurrency: int | None, queues: str | None) -> Config:
    settings = config.settings
    if concurrency is not None:
        settings = dataclasses.replace(settings, concurrency=concurrency)
    if queues is not None:
        names = tuple(check_name(q.strip(), "queues") for q in queues.split(",") if q.strip())
        settings = dataclasses.replace(settings, queues=names or None)
    return dataclasses.replace(config, settings=settings)


async def _sync(app: App, config: Config, mode: str) -> str:
    """Store the config's schedules (serve and scheduler; only when a file was loaded);
    what changed, for the start line."""
    if config.path is None or mode == "worker":
        return ""
    report = await app.sync_schedules(config.schedules)
    parts = [f"{len(v)} {k}" for k, v in report.items() if v]
    return f" ({', '.join(parts) or 'unchanged'})"


async def _banner(app: App, config: Config, synced: str) -> str:
    """``db URL; config PATH (3 added); 2 tasks (a, b); 3 schedules``: the start line of
    serve / scheduler / worker, printed whatever the log level."""
    where = f"config {config.path.resolve()}{synced}" if config.path else "no config file"
    return await app.start_line(where)


def _setup_logging(level: str | None) -> None:
    name = (level or env("AGENTCRON_LOG_LEVEL") or "INFO").upper()
    if name not in _LEVELS:
        raise ValidationError(f"{name!r} is not one of: {', '.join(_LEVELS)}", field="log-level")
    logging.basicConfig(
        level=name,
        stream=sys.stderr,
        format=FORMAT,
        datefmt=TIME_FORMAT,
    )
