"""``agentcron validate [FILE]``: check a config file, report every problem."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agentcron.cli._common import JsonOpt, echo_json, fail, run
from agentcron.config import Config, find_config, load_config
from agentcron.errors import ConfigError
from agentcron.logs import plural

__all__ = ["validate"]


def validate(
    file: Annotated[
        Path | None,
        typer.Argument(
            metavar="FILE",
            help="Config file (env AGENTCRON_CONFIG; else ./agentcron.toml).",
            show_default=False,
        ),
    ] = None,
    json_out: JsonOpt = False,
) -> None:
    """Check a config file and report every problem.

    Checks syntax, keys, settings, task modules, tasks and schedules (args against each
    function's signature, prompt templates against what each schedule gives). Exits 0 when
    it is valid, 2 with one line per problem when it is not. A [[task]] written in the YouLab
    form is shown as the native [[task]] and [[schedule]] entries it is read as.
    """
    run(_validate(file, json_out))


async def _validate(file: Path | None, json_out: bool) -> None:
    path = find_config(file)
    if path is None:
        raise ConfigError(
            "no config file: give FILE, set AGENTCRON_CONFIG or create ./agentcron.toml",
            field="config",
        )
    try:
        config = load_config(path)
    except ConfigError as exc:
        if json_out:
            echo_json({"ok": False, "path": str(path), "problems": exc.problems})
            raise typer.Exit(2) from None
        fail(exc)
    _report(config, path, json_out)


def _report(config: Config, path: Path, json_out: bool) -> None:
    names = [b.spec.name for b in config.schedules]
    if json_out:
        echo_json(
            {"ok": True, "path": str(path), "problems": [], "tasks": list(config.settings.tasks),
             "schedules": names, "defined_tasks": [t.name for t in config.tasks],
             "native": [{"name": n.name, "task": n.task, "schedules": n.schedules,
                         "toml": n.toml} for n in config.native]}
        )  # fmt: skip
        return
    modules = ", ".join(config.settings.tasks) or "none"
    empty = config == Config(path=config.path)
    note = " (the file sets nothing: every setting has its default)" if empty else ""
    typer.echo(f"ok: {path}: {plural(len(names), 'schedule')}; task modules: {modules}{note}")
    for form in config.native:
        typer.echo(f"\n# [[task]] {form.name!r} (YouLab form) is read as:\n{form.toml}", nl=False)
