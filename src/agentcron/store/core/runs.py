"""Runs, written once: enqueue, look up, list, cancel, retry and purge them (contract:
`agentcron.store.base.Store`); a worker's verbs (claim, lease, finish, reap) are in
`core/leases.py`. Every state change writes its lifecycle event (``run.queued``,
``run.cancelled``...) in the same transaction (`events.emit`). PostgreSQL's grouped,
one-statement enqueue overrides `enqueue` (`postgres/hot.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from agentcron.errors import InvalidRunState, RunNotFound
from agentcron.models import NewRun, Run, RunStatus
from agentcron.rules.events import Emitted, run_event
from agentcron.rules.runs import in_input_order, listing_parts, missing_dedup_keys, valid_id
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS
from agentcron.store.base import RunFilter
from agentcron.store.core.events import emit
from agentcron.store.core.insert import insert_runs
from agentcron.store.core.leases import LeaseVerbs, filters, marks
from agentcron.store.db import Row, Tx

__all__ = ["GET", "NEXT_AVAILABLE", "RunVerbs", "enqueue_op", "get_op"]

GET = f"SELECT {RUN_COLUMNS} FROM runs WHERE id = ?"
_BY_DEDUP = f"SELECT {RUN_COLUMNS} FROM runs WHERE dedup_key IN ({{marks}})"
NEXT_AVAILABLE = "SELECT min(available_at) FROM runs WHERE status = 'queued'{filters}"
_LIST_PART = (
    f"SELECT * FROM (SELECT {RUN_COLUMNS} FROM runs{{index}} WHERE {{where}}{{condition}} "
    "ORDER BY id DESC LIMIT ?) AS p{n}"
)
_CANCEL = "UPDATE runs SET status = 'cancelled', finished_at = ? WHERE id = ?"
_CANCEL_RUNNING = "UPDATE runs SET cancel_requested = true WHERE id = ?"
_RETRY = (
    "UPDATE runs SET status = 'queued', available_at = ?, finished_at = NULL, "
    "max_attempts = attempts + 1, cancel_requested = false WHERE id = ?"
)
_RETRYABLE = (RunStatus.DEAD, RunStatus.FAILED, RunStatus.CANCELLED)
_PURGE = (
    "DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < ? "
    "AND status NOT IN ('queued', 'running')"
)


async def enqueue_op(tx: Tx, runs: Sequence[NewRun], now_s: float) -> tuple[list[Run], Emitted]:
    """Insert ``runs`` with their events; the result in input order, a run whose dedup key
    was taken replaced by the run that holds it."""
    inserted = await insert_runs(tx, runs, now_s)
    emitted = await emit(tx, [run_event(r) for r in inserted], now_s, None)
    keys = missing_dedup_keys(runs, inserted)
    existing = []
    if keys:
        rows = await tx.all(_BY_DEDUP.format(marks=marks(len(keys))), keys)
        existing = [_codec.run_from_row(r) for r in rows]
    return in_input_order(runs, inserted, existing), emitted


async def get_op(tx: Tx, run_id: int, *, lock: bool = False) -> Run:
    """The run ``run_id`` (locked for an update with ``lock``); `RunNotFound`."""
    if not valid_id(run_id):
        raise RunNotFound(run_id)
    row = await tx.one(GET + (tx.dialect.lock_rows if lock else ""), (run_id,))
    if row is None:
        raise RunNotFound(run_id)
    return _codec.run_from_row(row)


async def _cancel_op(tx: Tx, run_id: int, now_s: float) -> tuple[Run, Emitted]:
    run = await get_op(tx, run_id, lock=True)
    emitted = Emitted()
    if run.status is RunStatus.QUEUED:
        await tx.execute(_CANCEL, (now_s, run_id))
        event = run_event(run, status=RunStatus.CANCELLED, error=None)
        emitted = await emit(tx, [event], now_s, None)
    elif run.status is RunStatus.RUNNING:
        await tx.execute(_CANCEL_RUNNING, (run_id,))
    else:
        raise InvalidRunState(f"run {run_id} is already {run.status.value}")
    return await get_op(tx, run_id), emitted


async def _retry_op(tx: Tx, run_id: int, now_s: float) -> tuple[Run, Emitted]:
    run = await get_op(tx, run_id, lock=True)
    if run.status not in _RETRYABLE:
        raise InvalidRunState(
            f"run {run_id} is {run.status.value}; only dead, failed or cancelled runs "
            "can be retried"
        )
    await tx.execute(_RETRY, (now_s, run_id))
    event = run_event(run, status=RunStatus.QUEUED, error=None)
    return await get_op(tx, run_id), await emit(tx, [event], now_s, None)


async def _list_op(tx: Tx, f: RunFilter, cursor_id: int | None, limit: int) -> list[Row]:
    where: list[str] = ["1 = 1"]
    params: list[Any] = []
    for column, value in (("namespace", f.namespace), ("task", f.task),
                          ("schedule_id", f.schedule_id), ("subject", f.subject)):  # fmt: skip
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if cursor_id is not None:
        where.append("id < ?")
        params.append(cursor_id)
    parts = listing_parts(f.status, f.task)
    sql = " UNION ALL ".join(
        _LIST_PART.format(
            index=tx.dialect.index(index) if index else "",
            where=" AND ".join(where),
            condition=condition,
            n=n,
        )
        for n, (index, condition, _) in enumerate(parts)
    )
    args: list[Any] = [p for _, _, extra in parts for p in (*params, *extra, limit + 1)]
    if len(parts) > 1:
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit + 1)
    return await tx.all(sql, args)


async def _next_available_op(tx: Tx, sql: str, params: list[Any]) -> float | None:
    row = await tx.one(sql, params)
    return row[0] if row else None


async def _purge_op(tx: Tx, before_s: float) -> int:
    return await tx.execute(_PURGE, (before_s,))


class RunVerbs(LeaseVerbs):
    async def enqueue(self, runs: Sequence[NewRun], now: datetime) -> list[Run]:
        result, emitted = await self.write(partial(enqueue_op, runs=runs, now_s=now.timestamp()))
        self.emitted(emitted)
        self.notify("runs")
        return result

    async def next_available_at(
        self, queues: Sequence[str] | None = None, tasks: Sequence[str] | None = None
    ) -> datetime | None:
        filter_sql, params = filters(queues, tasks)
        sql = NEXT_AVAILABLE.format(filters=filter_sql)
        return _codec.dt(await self.read(partial(_next_available_op, sql=sql, params=params)))

    async def get_run(self, run_id: int) -> Run:
        return await self.read(partial(get_op, run_id=run_id), small=True)

    async def list_runs(
        self, filters: RunFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Run], str | None]:
        cursor_id = _codec.decode_id_cursor(cursor) if cursor else None
        op = partial(_list_op, f=filters or RunFilter(), cursor_id=cursor_id, limit=limit)
        rows = await self.read(op, small=True)
        items = [_codec.run_from_row(r) for r in rows]
        if len(items) > limit:
            items = items[:limit]
            return items, _codec.encode_cursor(items[-1].id)
        return items, None

    async def cancel_run(self, run_id: int, now: datetime) -> Run:
        run, emitted = await self.write(partial(_cancel_op, run_id=run_id, now_s=now.timestamp()))
        self.emitted(emitted)
        return run

    async def retry_run(self, run_id: int, now: datetime) -> Run:
        run, emitted = await self.write(partial(_retry_op, run_id=run_id, now_s=now.timestamp()))
        self.emitted(emitted)
        self.notify("runs")
        return run

    async def purge_runs(self, finished_before: datetime) -> int:
        return await self.write(partial(_purge_op, before_s=finished_before.timestamp()))
