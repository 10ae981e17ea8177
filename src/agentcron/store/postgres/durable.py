"""The durable-run verb that must differ on PostgreSQL for speed: a step's result in one
statement that is its own transaction (one round trip, no BEGIN / COMMIT), as durable as
any other (`DurableVerbs.save_step` is the contract)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.store.core.durable import SAVE_STEP, DurableVerbs, step_values
from agentcron.store.postgres.tx import pg_sql

__all__ = ["PgDurableVerbs"]

_SAVE_STEP = pg_sql(SAVE_STEP) + " RETURNING 1"


class PgDurableVerbs(DurableVerbs):
    if TYPE_CHECKING:  # `PostgresStore._statement`

        async def _statement(
            self, sql: str, params: Sequence[Any], *, all_rows: bool = False
        ) -> Any: ...

    async def save_step(
        self,
        run_id: int,
        name: str,
        status: str,
        *,
        started_at: datetime,
        now: datetime,
        result_json: str | None = None,
        error: dict[str, Any] | None = None,
    ) -> None:
        values = step_values(run_id, name, status, started_at, now, result_json, error)
        await self._statement(_SAVE_STEP, values)
