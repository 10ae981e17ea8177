"""``agentcron parse TEXT``: what a trigger means and when it fires (no store needed).

With a config file (``--config``, ``AGENTCRON_CONFIG``, ``./agentcron.toml``) its
``timezone`` is the default zone, and text the grammar does not understand goes to the LLM
of its ``[agentcron.llm]`` (when that names a model); ``source`` says who read it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from agentcron.agents.phrases import TriggerReading, read_trigger
from agentcron.app.base import phrase_reader
from agentcron.cli import _render as r
from agentcron.cli._common import ConfigOpt, JsonOpt, echo_json, run
from agentcron.clock import utcnow
from agentcron.config import Settings, find_config, load_settings
from agentcron.errors import InvalidTrigger, ValidationError
from agentcron.models import iso
from agentcron.triggers import Trigger, next_times
from agentcron.triggers._time import load_zone, parse_instant

__all__ = ["parse"]


def parse(
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="Trigger: '0 9 * * 1-5', 'every 5m', 'manual'…")
    ],
    tz: Annotated[
        str | None,
        typer.Option(
            "--tz", metavar="ZONE", help="Zone to read it in (default: the config's, else UTC)."
        ),
    ] = None,
    after: Annotated[
        str | None, typer.Option(metavar="ISO", help="List fire times after this (default now).")
    ] = None,
    count: Annotated[
        int, typer.Option(min=0, max=1000, metavar="N", help="Fire times to list.")
    ] = 5,
    config: ConfigOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Show what a trigger means and when it fires next.

    Prints its normalized form, its description and its next fire times. Text the grammar
    does not understand goes to the config's [agentcron.llm], if it names a model.
    """
    run(_parse(text, tz, after, count, config, json_out))


async def _parse(text: str, tz: str | None, after: str | None, count: int,
                 config: Path | None, json_out: bool) -> None:  # fmt: skip
    settings = _settings(config)
    tz = tz or (settings.timezone if settings else None)
    zone = load_zone(tz) if tz is not None else None
    start = _after(after, zone or UTC) if after else utcnow()
    llm = phrase_reader(settings.llm) if settings else None
    reading = await read_trigger(text, timezone=tz, now=start, llm=llm)
    times = next_times(reading.trigger, start, count)
    if json_out:
        trigger = reading.trigger
        echo_json(
            {"trigger": trigger.to_dict(), "description": trigger.describe(),
             "next": [iso(t) for t in times], "source": reading.source}
        )  # fmt: skip
        return
    r.console().print(_view(reading, times, zone or _trigger_zone(reading.trigger)))


def _settings(config: Path | None) -> Settings | None:
    path = find_config(config)
    return load_settings(path) if path else None


def _after(text: str, zone: tzinfo) -> datetime:
    try:
        return parse_instant(text, zone, field="after")
    except InvalidTrigger as exc:
        raise ValidationError(exc.message, field="after") from None


def _trigger_zone(trigger: Trigger) -> tzinfo:
    name = trigger.to_dict().get("timezone")
    return load_zone(name) if isinstance(name, str) else UTC


def _view(reading: TriggerReading, times: list[datetime], zone: tzinfo) -> Table:
    trigger = reading.trigger
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("trigger", json.dumps(trigger.to_dict()))
    grid.add_row("description", trigger.describe())
    if reading.source == "llm":
        grid.add_row("read by", "the LLM of [agentcron.llm] (the grammar did not understand it)")
    if not times:
        grid.add_row("next", "never (no fire time ahead)")
    for index, moment in enumerate(times):
        grid.add_row("next" if index == 0 else "", f"{r.when(moment, zone)}  ({iso(moment)})")
    return grid
