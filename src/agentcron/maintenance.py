"""Built-in upkeep, run as ordinary schedules that show up in ``agentcron schedules list``:
run-history retention (finished runs and events, default 30 days) and store vacuum."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from agentcron.logs import plural
from agentcron.models import ScheduleSource
from agentcron.specs import Built, build_schedule
from agentcron.tasks import TaskRegistry, make_task

if TYPE_CHECKING:
    from datetime import datetime

    from agentcron.clock import Clock
    from agentcron.store.base import Store

__all__ = ["RETENTION_TASK", "VACUUM_TASK", "maintenance_schedules", "register_maintenance"]

log = logging.getLogger("agentcron.maintenance")

RETENTION_TASK = "agentcron.retention"
VACUUM_TASK = "agentcron.vacuum"


def register_maintenance(registry: TaskRegistry, store: Store, clock: Clock) -> None:
    """Register the upkeep tasks, which work on ``store`` with times from ``clock``."""

    async def retention(days: float = 30) -> dict[str, Any]:
        """Delete finished runs and events older than ``days``."""
        before = clock.now() - timedelta(days=days)
        deleted = await store.purge_runs(before)
        events = await store.purge_events(before)
        log.info("retention: %s and %s older than %g days deleted", plural(deleted, "run"),
                 plural(events, "event"), days)  # fmt: skip
        return {"deleted": deleted, "days": days}

    async def vacuum() -> dict[str, Any]:
        """Reclaim space in the store."""
        await store.vacuum()
        return {"vacuumed": True}

    registry.add(make_task(retention, name=RETENTION_TASK))
    registry.add(make_task(vacuum, name=VACUUM_TASK))


def maintenance_schedules(retention: timedelta, now: datetime) -> list[Built]:
    days = round(retention.total_seconds() / 86400, 3)
    return [
        build_schedule(
            name="agentcron-retention",
            task=RETENTION_TASK,
            trigger="17 3 * * *",
            args={"days": days},
            description=f"Delete finished runs and events older than {days:g} days (daily at "
            "03:17 UTC)",
            source=ScheduleSource.SYSTEM,
            now=now,
        ),
        build_schedule(
            name="agentcron-vacuum",
            task=VACUUM_TASK,
            trigger="47 3 * * 0",
            description="Reclaim space in the store (Sundays at 03:47 UTC)",
            source=ScheduleSource.SYSTEM,
            now=now,
        ),
    ]
