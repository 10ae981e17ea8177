"""How things look on a terminal: times, durations, states, tables."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo

from rich.console import Console, JustifyMethod
from rich.table import Table
from rich.text import Text

from agentcron.clock import utcnow
from agentcron.durations import format_duration
from agentcron.errors import InvalidTimezone
from agentcron.models import RunStatus, Schedule
from agentcron.triggers._time import load_zone

__all__ = [
    "Col",
    "Grid",
    "console",
    "duration",
    "relative",
    "schedule_state",
    "schedule_zone",
    "status",
    "when",
]

_STATUS_STYLE = {
    RunStatus.QUEUED: "blue",
    RunStatus.RUNNING: "cyan",
    RunStatus.WAITING: "bright_blue",
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "yellow",
    RunStatus.DEAD: "bold red",
    RunStatus.CANCELLED: "magenta",
    RunStatus.SKIPPED: "dim",
}


def console() -> Console:
    return Console(highlight=False)


@dataclass(frozen=True, slots=True)
class Col:
    """A column of a `Grid`. Cells are never wrapped, folded or cut, except in a ``flex``
    column, which takes the width left and cuts its text with an ellipsis. ``drop``: columns
    with a higher number are left out first when the terminal is too narrow for all (0:
    always shown)."""

    name: str
    drop: int = 0
    flex: bool = False
    right: bool = False


@dataclass
class Grid:
    """A table for people that stays readable in a narrow terminal (80 columns): ids, names
    and times are shown whole, one line per row; what does not fit is left out (the least
    important columns) or cut (the ``flex`` column). `--json` has everything."""

    columns: tuple[Col, ...]
    rows: list[tuple[Text, ...]] = field(default_factory=list)

    def add_row(self, *cells: str | Text) -> None:
        self.rows.append(tuple(c if isinstance(c, Text) else Text(c) for c in cells))

    def shown(self, width: int) -> list[int]:
        """The indexes of the columns that fit in ``width`` (flex columns count their header
        and an ellipsis only: they take what is left)."""
        need = [
            max([len(col.name), *(row[i].cell_len for row in self.rows)])
            if not col.flex else max(len(col.name), _FLEX_WIDTH)
            for i, col in enumerate(self.columns)
        ]  # fmt: skip
        keep = list(range(len(self.columns)))
        order = sorted((c.drop, i) for i, c in enumerate(self.columns) if c.drop)
        while sum(need[i] for i in keep) + _GAP * (len(keep) - 1) > width and order:
            keep.remove(order.pop()[1])
        return keep

    def render(self, width: int) -> Table:
        keep = self.shown(width)
        header = any(col.name for col in self.columns)
        grid = Table(header_style="bold", box=None, pad_edge=False, padding=(0, _GAP // 2),
                     show_header=header)  # fmt: skip
        for i in keep:
            col = self.columns[i]
            justify: JustifyMethod = "right" if col.right else "left"
            grid.add_column(col.name, no_wrap=not col.flex, justify=justify)
        for row in self.rows:
            grid.add_row(*(_cell(row[i], self.columns[i]) for i in keep))
        return grid

    def print(self, empty: str) -> None:
        """The table on stdout, or ``empty`` when it has no rows."""
        out = console()
        out.print(self.render(out.width) if self.rows else empty)


_GAP = 2  # spaces between columns
_FLEX_WIDTH = 20  # what a flex column asks for before other columns are left out


def _cell(text: Text, col: Col) -> Text:
    if not col.flex:
        return text
    cut = text.copy()
    cut.no_wrap, cut.overflow = True, "ellipsis"
    return cut


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
        today = utcnow().astimezone(zone).date() == local.date()
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
