"""Reads for ``/metrics``: the runs finished in a window, which a scrape feeds its counters
and histograms with (contract: `agentcron.store.base.Store.finished_runs`)."""

from __future__ import annotations

from datetime import datetime

from agentcron.models import RunStatus
from agentcron.store import _codec
from agentcron.store.base import FinishedRun
from agentcron.store.core.ops import CoreOps
from agentcron.store.db import Row, Tx

__all__ = ["MetricsVerbs"]

# A range scan of runs_finished, resumed after ``(finished_at, id)``.
_FINISHED = (
    "SELECT id, task, status, finished_at, finished_at - started_at, "
    "started_at - coalesce(scheduled_for, queued_at) FROM runs "
    "WHERE finished_at IS NOT NULL AND finished_at >= ? AND finished_at <= ? "
    "AND (finished_at > ? OR id > ?) ORDER BY finished_at, id LIMIT ?"
)


class MetricsVerbs(CoreOps):
    async def finished_runs(
        self, after: datetime, after_id: int, until: datetime, limit: int
    ) -> list[FinishedRun]:
        after_s = after.timestamp()
        params = (after_s, until.timestamp(), after_s, after_id, limit)

        async def op(tx: Tx) -> list[FinishedRun]:
            return [_finished(row) for row in await tx.all(_FINISHED, params)]

        return await self.read(op)


def _finished(row: Row) -> FinishedRun:
    id_, task, status, finished_at, duration, lag = row
    return FinishedRun(
        id=id_,
        task=task,
        status=RunStatus(status),
        finished_at=_codec.dt(finished_at),  # type: ignore[arg-type]
        duration_s=duration,
        lag_s=lag,
    )
