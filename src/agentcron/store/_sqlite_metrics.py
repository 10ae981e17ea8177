"""Reads for ``/metrics`` on SQLite: runs finished in a window, for counters and histograms
fed at scrape time (contract: `agentcron.store.base.Store.finished_runs`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from agentcron.models import RunStatus
from agentcron.store import _codec
from agentcron.store._ops import SqliteOps as _Ops
from agentcron.store.base import FinishedRun

FINISHED_SQL = (
    "SELECT id, task, status, finished_at, finished_at - started_at, "
    "started_at - coalesce(scheduled_for, queued_at) FROM runs "
    "WHERE finished_at IS NOT NULL AND finished_at >= {p} AND finished_at <= {p} "
    "AND (finished_at > {p} OR id > {p}) ORDER BY finished_at, id LIMIT {p}"
)
_SQL = FINISHED_SQL.format(p="?")


class MetricsVerbs(_Ops):
    async def finished_runs(
        self, after: datetime, after_id: int, until: datetime, limit: int
    ) -> list[FinishedRun]:
        after_s = after.timestamp()
        params = (after_s, until.timestamp(), after_s, after_id, limit)

        def op(conn: sqlite3.Connection) -> list[FinishedRun]:
            return [finished_from_row(r) for r in conn.execute(_SQL, params)]

        runs: list[FinishedRun] = await self._read(op)
        return runs


def finished_from_row(row: tuple[Any, ...] | Any) -> FinishedRun:
    id_, task, status, finished_at, duration, lag = row
    return FinishedRun(
        id=id_,
        task=task,
        status=RunStatus(status),
        finished_at=_codec.dt(finished_at),  # type: ignore[arg-type]
        duration_s=duration,
        lag_s=lag,
    )
