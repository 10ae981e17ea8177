"""The ``agentcron`` command line (Typer): one module per command group.

``agentcron`` (the console script) and ``python -m agentcron`` both call `main`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentcron.cli import admin, mcp, parse, run, runs, schedules, tokens, validate
from agentcron.cli._common import CONFIG_HELP, DB_HELP
from agentcron.cli._help import Command
from agentcron.config import ENV_VARS

__all__ = ["app", "main"]

_ENV_HELP = "\n\n".join(f"{name}: {text}" for name, text in ENV_VARS.items())

app = typer.Typer(
    name="agentcron",
    help=(
        "agentcron: a durable scheduler and background-task runner for AI-agent apps.\n\n"
        "Bad input exits with code 2 and a one-line reason on stderr."
    ),
    epilog=f"Environment variables:\n\n{_ENV_HELP}",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # help text is plain: [[task]] and [FILE] are shown as written
    pretty_exceptions_show_locals=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

app.command(cls=Command)(run.serve)
app.command(cls=Command)(run.scheduler)
app.command(cls=Command)(run.worker)
app.add_typer(schedules.app, name="schedules")
app.add_typer(runs.app, name="runs")
app.command(cls=Command)(parse.parse)
app.command(cls=Command)(validate.validate)
app.command(cls=Command)(admin.stats)
app.command(cls=Command)(admin.workers)
app.command(cls=Command)(admin.health)
app.add_typer(admin.db_app, name="db")
app.add_typer(tokens.app, name="tokens")
app.command(cls=Command)(mcp.mcp)


def _version(value: bool) -> None:
    if value:
        from agentcron._version import __version__

        typer.echo(f"agentcron {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    db: Annotated[
        str | None, typer.Option("--db", metavar="URL", help=DB_HELP, show_default=False)
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", metavar="FILE", help=CONFIG_HELP, show_default=False),
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", is_eager=True, callback=_version, help="Print the version.")
    ] = False,
) -> None:
    """--db and --config given here apply to the command that follows."""


def main() -> None:
    """Entry point of the ``agentcron`` console script."""
    app()
