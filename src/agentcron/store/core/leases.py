"""A worker's verbs, written once: claim runs under a lease, extend the leases it holds,
finish them, and reap the runs whose worker died (contract: `agentcron.store.base.Store`).

Every state change writes its lifecycle event (``run.started``, ``run.succeeded``...) in the
same transaction, one statement per batch (`events.emit`). A claim picks its runs
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, which concurrent claimers skip), keeps one per
serial key and leases them, in one statement.
PostgreSQL's one-statement claims and finishes override these (`postgres/hot.py`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from agentcron.models import Run, RunOutcome, RunStatus
from agentcron.rules.events import Emitted, Pending, finished_event, lifecycle, run_event
from agentcron.rules.runs import first_outcomes, valid_id
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS
from agentcron.store.core.events import emit
from agentcron.store.core.ops import CoreOps
from agentcron.store.db import Row, Tx

__all__ = [
    "CLAIM",
    "CLAIM_ORDER",
    "FINISH_CHUNK",
    "LEASE",
    "Claim",
    "LeaseVerbs",
    "claim_op",
    "claim_order",
    "filters",
    "finish_op",
    "finish_values",
    "marks",
]

FINISH_CHUNK = 500  # outcomes per statement (6 parameters each)

LEASE = (
    "UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = ?, "
    "lease_owner = ?, worker = ?, lease_expires_at = ?"
)
CLAIM_ORDER = "ORDER BY priority DESC, available_at, id"
# Up to N due runs in claim order ({filters}: queues, tasks; {serial}: "" or the runs
# without a serial key), none whose serial key is running; of those, every run without a
# serial key and the first of each key (runs of one key run one at a time), leased.
CLAIM = (
    LEASE + " WHERE id IN (SELECT id FROM (SELECT id, serial_key, row_number() OVER "
    f"(PARTITION BY serial_key {CLAIM_ORDER}) AS n FROM (SELECT id, serial_key, priority, "
    "available_at FROM runs{index} WHERE status = 'queued' AND available_at <= ?{filters}"
    "{serial} AND (serial_key IS NULL OR NOT EXISTS (SELECT 1 FROM runs AS r2 "
    "WHERE r2.serial_key = runs.serial_key AND r2.status = 'running')) "
    f"{CLAIM_ORDER} LIMIT ?{{skip_locked}}) AS cand) AS c WHERE serial_key IS NULL OR n = 1) "
    f"RETURNING {RUN_COLUMNS}"
)
_EXTEND = (
    "UPDATE runs SET lease_expires_at = ? WHERE status = 'running' AND lease_owner = ? "
    "AND id IN ({marks}) RETURNING id, cancel_requested"
)
# Results of the runs this worker still holds: ``(id, status, result, error, finished_at,
# available_at)`` rows (`finish_values`), typed alike in both dialects.
_FLOAT = "CAST(? AS DOUBLE PRECISION)"
_FINISH_ROW = f"(CAST(? AS BIGINT), ?, ?{{json}}, ?{{json}}, {_FLOAT}, {_FLOAT})"
_FINISH = (
    "WITH v(id, status, result, error, finished_at, available_at) AS (VALUES {values}) "
    "UPDATE runs SET status = v.status, result = v.result, error = v.error, "
    "finished_at = v.finished_at, available_at = coalesce(v.available_at, runs.available_at), "
    "lease_owner = NULL, lease_expires_at = NULL FROM v WHERE runs.id = v.id "
    "AND runs.lease_owner = ? AND runs.status = 'running' RETURNING runs.id, runs.namespace, "
    "runs.task, runs.schedule_id, runs.subject, runs.attempts"
)
# A run whose lease expired: cancelled when that was asked, dead when it was recovered
# max_recoveries times already, else queued again, a recovery (max_attempts grows with
# attempts, so that its retries stay for failures the task raised).
_GIVE_UP = "cancel_requested OR recoveries >= max_recoveries"
_REAP = (
    "UPDATE runs SET status = CASE WHEN cancel_requested THEN 'cancelled' "
    "WHEN recoveries >= max_recoveries THEN 'dead' ELSE 'queued' END, "
    "error = CASE WHEN cancel_requested THEN ?{json} WHEN recoveries >= max_recoveries "
    "THEN ?{json} ELSE ?{json} END, "
    f"finished_at = CASE WHEN {_GIVE_UP} THEN ? END, "
    f"recoveries = recoveries + (CASE WHEN {_GIVE_UP} THEN 0 ELSE 1 END), "
    f"max_attempts = max_attempts + (CASE WHEN {_GIVE_UP} THEN 0 ELSE 1 END), "
    "available_at = ?, lease_owner = NULL, lease_expires_at = NULL "
    "WHERE status = 'running' AND id IN (SELECT id FROM runs WHERE status = 'running' "
    f"AND lease_expires_at < ?{{skip_locked}}) RETURNING {RUN_COLUMNS}"
)
_LEASE_LOST = (_codec.LEASE_LOST, _codec.LEASE_LOST_DEAD, _codec.LEASE_LOST_REQUEUED)


def filters(queues: Sequence[str] | None, tasks: Sequence[str] | None) -> tuple[str, list[Any]]:
    """The condition on ``queue`` and ``task`` of a claim (None: any), and its parameters."""
    sql = ""
    params: list[Any] = []
    for column, values in (("queue", queues), ("task", tasks)):
        if values is not None:
            sql += f" AND {column} IN ({', '.join('?' * len(values)) or 'NULL'})"
            params.extend(values)
    return sql, params


def marks(count: int) -> str:
    return ", ".join("?" * count)


def finish_values(outcome: RunOutcome, now_s: float) -> tuple[Any, ...]:
    """``(id, status, result, error, finished_at, available_at)`` written for an outcome:
    result and error as JSON text; a run queued again (a retry) is not finished."""
    final = outcome.status is not RunStatus.QUEUED
    return (
        outcome.run_id,
        outcome.status.value,
        _codec.dumps(outcome.result) if outcome.status is RunStatus.SUCCEEDED else None,
        _codec.dumps(outcome.error) if outcome.error is not None else None,
        now_s if final else None,
        _codec.ts(outcome.available_at),
    )


class Claim(NamedTuple):
    """What a claim asks for: due runs (``where``: `filters`) at ``now_s``, at most
    ``limit``, leased to ``worker_id`` until ``until_s``. ``serial=False`` leaves runs with a
    serial key out (after a unique index refused one: another worker started its key)."""

    where: tuple[str, list[Any]]
    now_s: float
    limit: int
    worker_id: str
    until_s: float
    serial: bool = True


async def claim_op(tx: Tx, claim: Claim) -> tuple[list[Row], Emitted]:
    """Lease the runs of ``claim`` in one statement: the leased rows (``RUN_COLUMNS``),
    decoded by the caller after the commit, and their events."""
    sql = CLAIM.format(
        index=tx.dialect.index("runs_claim"),
        filters=claim.where[0],
        serial="" if claim.serial else " AND serial_key IS NULL",
        skip_locked=tx.dialect.skip_locked,
    )
    lease = (claim.now_s, claim.worker_id, claim.worker_id, claim.until_s)
    rows = await tx.all(sql, (*lease, claim.now_s, *claim.where[1], claim.limit))
    return rows, await emit(tx, [_claimed_event(r) for r in rows], claim.now_s, None)


async def finish_op(
    tx: Tx, worker_id: str, outcomes: Sequence[RunOutcome], values: list[tuple[Any, ...]],
    now_s: float,
) -> tuple[int, Emitted]:  # fmt: skip
    """Write the ``values`` (`finish_values`) of ``outcomes`` for the runs this worker still
    holds, with their events; how many it held."""
    held: dict[int, Row] = {}
    row_sql = _FINISH_ROW.format(json=tx.dialect.json)
    for start in range(0, len(values), FINISH_CHUNK):
        chunk = values[start : start + FINISH_CHUNK]
        sql = _FINISH.format(values=", ".join([row_sql] * len(chunk)))
        for row in await tx.all(sql, [*(v for values_ in chunk for v in values_), worker_id]):
            held[row[0]] = row
    events = [
        finished_event(held[o.run_id], v[1], o.error, v[5])
        for o, v in zip(outcomes, values, strict=True)
        if o.run_id in held
    ]
    return len(held), await emit(tx, events, now_s, None)


async def _reap_op(tx: Tx, now_s: float) -> tuple[list[Run], Emitted]:
    sql = _REAP.format(json=tx.dialect.json, skip_locked=tx.dialect.skip_locked)
    rows = await tx.all(sql, (*_LEASE_LOST, now_s, now_s, now_s))
    reaped = [_codec.run_from_row(r) for r in rows]
    return reaped, await emit(tx, [run_event(r) for r in reaped], now_s, None)


async def _extend_op(tx: Tx, worker_id: str, ids: list[int], until_s: float) -> set[int]:
    rows = await tx.all(_EXTEND.format(marks=marks(len(ids))), (until_s, worker_id, *ids))
    return {r[0] for r in rows if r[1]}


def _claimed_event(row: Sequence[Any]) -> Pending:
    """``run.started`` of a claimed run's row (``RUN_COLUMNS``), without decoding the run."""
    error = _codec.loads(row[18]) if row[18] is not None else None
    return lifecycle(row[0], row[1], row[2], row[7], row[5], row[6], row[9], error)


def claim_order(run: Run) -> tuple[int, datetime, int]:
    """Claim order: priority first, then the longest due, then the oldest."""
    return (-run.priority, run.available_at, run.id)


class LeaseVerbs(CoreOps):
    async def claim_runs(
        self,
        worker_id: str,
        *,
        now: datetime,
        lease: timedelta,
        limit: int,
        queues: Sequence[str] | None = None,
        tasks: Sequence[str] | None = None,
    ) -> list[Run]:
        if limit <= 0 or tasks == []:
            return []
        now_s = now.timestamp()
        claim = Claim(
            filters(queues, tasks), now_s, limit, worker_id, now_s + lease.total_seconds()
        )
        return sorted(await self._claim(claim), key=claim_order)

    async def _claim(self, claim: Claim) -> list[Run]:
        rows, emitted = await self.write(partial(claim_op, claim=claim), durable=False)
        self.emitted(emitted)
        return [_codec.run_from_row(r) for r in rows]

    async def extend_leases(
        self, worker_id: str, run_ids: Sequence[int], until: datetime
    ) -> set[int]:
        ids = [i for i in run_ids if valid_id(i)]
        if not ids:
            return set()
        op = partial(_extend_op, worker_id=worker_id, ids=ids, until_s=until.timestamp())
        return await self.write(op, durable=False)

    async def finish_runs(
        self, worker_id: str, outcomes: Sequence[RunOutcome], now: datetime
    ) -> int:
        now_s = now.timestamp()
        outcomes = first_outcomes(outcomes)
        if not outcomes:
            return 0
        values = [finish_values(o, now_s) for o in outcomes]
        written = await self._write_outcomes(worker_id, outcomes, values, now_s)
        if any(o.status is RunStatus.QUEUED for o in outcomes):
            self.notify("runs")
        return written

    async def _write_outcomes(
        self, worker_id: str, outcomes: list[RunOutcome], values: list[tuple[Any, ...]],
        now_s: float,
    ) -> int:  # fmt: skip
        """Write the ``values`` of ``outcomes`` (`finish_op`); how many were written."""
        op = partial(finish_op, worker_id=worker_id, outcomes=outcomes, values=values, now_s=now_s)
        written, emitted = await self.write(op, durable=False)
        self.emitted(emitted)
        return written

    async def reap_expired(self, now: datetime) -> list[Run]:
        reaped, emitted = await self.write(partial(_reap_op, now_s=now.timestamp()), durable=False)
        self.emitted(emitted)
        if any(r.status is RunStatus.QUEUED for r in reaped):
            self.notify("runs")
        return reaped
