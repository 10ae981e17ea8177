"""Quotas: a schedule's ``limit`` (`Quota`, ``3 per day``) caps its runs per subject and
period; a run over it is recorded as skipped, with the reason."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from agentcron.models import NewRun, Quota, RunStatus

__all__ = ["over_quota", "quota_reason", "quota_window", "skipped"]


def quota_window(quota: Quota, timezone: str, at: datetime) -> tuple[datetime, datetime]:
    """The period of ``quota`` that holds ``at``: ``[start, end)`` as aware UTC datetimes.

    Hours, days (from local midnight) and weeks (from Monday's local midnight) are counted in
    ``timezone``, so a day is 23 or 25 hours long across a DST change. An unknown zone counts
    in UTC.
    """
    zone = _zone(timezone)
    local = at.astimezone(zone)
    if quota.period == "hour":
        start = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        return start, start + timedelta(hours=1)
    day = local.date()
    if quota.period == "week":
        day -= timedelta(days=day.weekday())
        following = day + timedelta(days=7)
    else:
        following = day + timedelta(days=1)
    return _midnight(day, zone), _midnight(following, zone)


def quota_reason(quota: Quota, subject: str | None) -> str:
    """The message of a run skipped by its quota."""
    return f"limit: {quota} reached for {subject}" if subject else f"limit: {quota} reached"


def over_quota(quota: Quota, subject: str | None, count: int) -> str | None:
    """Why one more run for ``subject`` is over ``quota`` when ``count`` runs (not skipped)
    already lie in its period, or None."""
    return quota_reason(quota, subject) if count >= quota.count else None


def skipped(run: NewRun, reason: str) -> NewRun:
    """``run`` recorded as skipped, with ``reason``."""
    return dataclasses.replace(
        run, status=RunStatus.SKIPPED, error={"type": "Skipped", "message": reason}
    )


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")
