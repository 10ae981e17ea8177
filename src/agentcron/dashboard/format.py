"""Jinja filters of the dashboard: times in UTC, durations in short units (pure functions)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from agentcron.durations import format_duration
from agentcron.models import iso

__all__ = ["FILTERS", "compact_json", "seconds", "utc"]


def utc(value: datetime | None) -> str:
    """``2030-01-07 12:00:00 UTC``; ``-`` for None."""
    if value is None:
        return "-"
    return f"{value.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def seconds(value: float | timedelta | None) -> str:
    """``850ms``, ``2.4s``, ``3m12s``, ``-1.5s`` (a lag can be negative); ``-`` for None."""
    if value is None:
        return "-"
    total = value.total_seconds() if isinstance(value, timedelta) else float(value)
    sign, size = ("-" if total < 0 else ""), abs(total)
    if size < 1:
        return f"{sign}{size * 1000:.0f}ms"
    if size < 60:
        return f"{sign}{size:.1f}s"
    parts = re.findall(r"\d+[a-z]+", format_duration(timedelta(seconds=round(size))))
    return sign + "".join(parts[:2])


def compact_json(value: Any) -> str:
    """A one-line JSON rendering (trigger objects, args) for titles and cells."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True)


FILTERS = {"utc": utc, "iso": iso, "seconds": seconds, "json": compact_json}
