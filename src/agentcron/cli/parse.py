"""``agentcron parse TEXT``: what a trigger means and when it fires (no store needed)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, tzinfo
from typing import Annotated

import typer
from rich.table import Table

from agentcron.cli import _render as r
from agentcron.cli._common import JsonOpt, echo_json, run
from agentcron.clock import utcnow
from agentcron.errors import InvalidTrigger, ValidationError
from agentcron.models import iso
from agentcron.triggers import Trigger, next_times, parse_trigger
from agentcron.triggers._time import load_zone, parse_instant

__all__ = ["parse"]


def parse(
    text: Annotated[
        str, typer.Argument(metavar="TEXT", help="Trigger: '0 9 * * 1-5', 'every 5m', 'manual'…")
    ],
    tz: Annotated[
        str | None, typer.Option("--tz", metavar="ZONE", help="Zone to read it in (default UTC).")
    ] = None,
    after: Annotated[
        str | None, typer.Option(metavar="ISO", help="List fire times after this (default now).")
    ] = None,
    count: Annotated[
        int, typer.Option(min=0, max=1000, metavar="N", help="Fire times to list.")
    ] = 5,
    json_out: JsonOpt = False,
) -> None:
    """Show what a trigger means and when it fires next.

    Prints its normalized form, its description and its next fire times.
    """
    run(_parse(text, tz, after, count, json_out))


async def _parse(text: str, tz: str | None, after: str | None, count: int, json_out: bool) -> None:
    zone = load_zone(tz) if tz is not None else None
    start = _after(after, zone or UTC) if after else utcnow()
    trigger = parse_trigger(text, timezone=tz, now=start)
    times = next_times(trigger, start, count)
    if json_out:
        echo_json(
            {"trigger": trigger.to_dict(), "description": trigger.describe(),
             "next": [iso(t) for t in times]}
        )  # fmt: skip
        return
    r.console().print(_view(trigger, times, zone or _trigger_zone(trigger)))


def _after(text: str, zone: tzinfo) -> datetime:
    try:
        return parse_instant(text, zone, field="after")
    except InvalidTrigger as exc:
        raise ValidationError(exc.message, field="after") from None


def _trigger_zone(trigger: Trigger) -> tzinfo:
    name = trigger.to_dict().get("timezone")
    return load_zone(name) if isinstance(name, str) else UTC


def _view(trigger: Trigger, times: list[datetime], zone: tzinfo) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column(overflow="fold")
    grid.add_row("trigger", json.dumps(trigger.to_dict()))
    grid.add_row("description", trigger.describe())
    if not times:
        grid.add_row("next", "never (no fire time ahead)")
    for index, moment in enumerate(times):
        grid.add_row("next" if index == 0 else "", f"{r.when(moment, zone)}  ({iso(moment)})")
    return grid
