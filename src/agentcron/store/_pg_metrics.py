"""Reads for ``/metrics`` on PostgreSQL (contract: `agentcron.store.base.Store.finished_runs`)."""

from __future__ import annotations

from datetime import datetime

from agentcron.store._ops import PgOps as _PgOps
from agentcron.store._pg_helpers import Conn, fetchall
from agentcron.store._sqlite_metrics import FINISHED_SQL, finished_from_row
from agentcron.store.base import FinishedRun

_SQL = FINISHED_SQL.format(p="%s")


class PgMetricsVerbs(_PgOps):
    async def finished_runs(
        self, after: datetime, after_id: int, until: datetime, limit: int
    ) -> list[FinishedRun]:
        after_s = after.timestamp()
        params = (after_s, until.timestamp(), after_s, after_id, limit)

        async def op(conn: Conn) -> list[FinishedRun]:
            return [finished_from_row(r) for r in await fetchall(conn, _SQL, params)]

        return await self._tx(op)
