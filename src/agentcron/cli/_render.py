"""How things look on a terminal: times, durations, states, tables."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo

from rich.console import Console
from rich.table import Table
from rich.text import Text

from agentcron.durations import format_duration
from agentcron.errors import InvalidTimezone
from agentcron.models import RunStatus, Schedule
from agentcron.triggers._time import load_zone

__all__ = [
    "console",
    "duration",
    "relative",
    "schedule_state",
    "schedule_zone",
    "status",
    "table",
    "when",
]

_STATUS_STYLE = {
    RunStatus.QUEUED: "blue",
    RunStatus.RUNNING: "cyan",
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "yellow",
    RunStatus.DEAD: "bold red",
    RunStatus.CANCELLED: "magenta",
    RunStatus.SKIPPED: "dim",
}


def console() -> Console:
    return Console(highlight=False)


def table(*columns: str, title: str | None = None) -> Table:
    """A plain table; columns named with a trailing ``~`` wrap, the others keep their width."""
    grid = Table(title=title, header_style="bold", box=None, pad_edge=False)
    for column in columns:
        flexible = column.endswith("~")
        grid.add_column(column.rstrip("~"), no_wrap=not flexible, overflow="fold",
                        min_width=8 if flexible else None)  # fmt: skip
    return grid


def relative(moment: datetime | None, now: datetime) -> str:
    """``in 4m10s`` / ``3m ago`` / ``now`` (whole seconds)."""
    if moment is None:
        return "-"
    seconds = round((moment - now).total_seconds())
    if seconds == 0:
        return "now"
    text = _two_units(abs(seconds))
    return f"in {text}" if seconds > 0 else f"{text} ago"


def _two_units(seconds: int) -> str:
    """The two largest units: ``1h53m``, ``2d4h``, ``45s``."""
    parts = re.findall(r"\d+[a-z]+", format_duration(timedelta(seconds=seconds)))
    return "".join(parts[:2])


def when(moment: datetime | None, zone: tzinfo = UTC, *, short: bool = False) -> str:
    """``2026-03-28 09:00:00 CET``; ``short``: ``09:00:00`` today, else ``03-28 09:00``."""
    if moment is None:
        return "-"
    local = moment.astimezone(zone)
    if short:
        today = datetime.now(zone).date() == local.date()
        return f"{local:%H:%M:%S}" if today else f"{local:%m-%d %H:%M}"
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}".rstrip()


def duration(value: timedelta | None) -> str:
    if value is None:
        return "-"
    if value < timedelta(seconds=1):
        return f"{value.total_seconds() * 1000:.0f}ms"
    if value < timedelta(minutes=1):
        return f"{value.total_seconds():.1f}s"
    return format_duration(timedelta(seconds=round(value.total_seconds())))


def status(value: RunStatus) -> Text:
    return Text(value.value, style=_STATUS_STYLE.get(value, ""))


def schedule_state(s: Schedule) -> Text:
    if s.parked:
        return Text("parked", style="yellow")
    if not s.enabled:
        return Text("paused", style="magenta")
    return Text("enabled", style="green")


def schedule_zone(s: Schedule) -> tzinfo:
    """The zone a schedule's times are shown in: its trigger's, else UTC."""
    name = s.trigger.get("timezone")
    if not isinstance(name, str):
        return UTC
    try:
        return load_zone(name)
    except InvalidTimezone:
        return UTC
