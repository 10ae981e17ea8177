"""PostgreSQL's hot paths of the run verbs: enqueue, claim and finish, each in one statement
that is its own transaction (no BEGIN / COMMIT round trips), with the lifecycle events
written by the statement itself. Single enqueues of concurrent callers go together in one
statement (`postgres/groups.py`).

Each falls back to the shared verb (`agentcron.store.core`) when its one statement cannot
serve: an enabled event schedule might match a ``run.*`` event (the shared verb fires it),
a run that is not queued, or two workers starting runs of one serial key at once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.models import NewRun, Run, RunOutcome, RunStatus
from agentcron.rules.events import Emitted, lifecycle_parts
from agentcron.rules.runs import in_input_order, missing_dedup_keys
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS
from agentcron.store.core.insert import RUNS_FROM_JSON, inserted_runs
from agentcron.store.core.leases import LEASE, Claim, filters, marks
from agentcron.store.core.runs import NEXT_AVAILABLE, RunVerbs
from agentcron.store.db import UniqueConflict
from agentcron.store.postgres.tx import pg_sql

if TYPE_CHECKING:
    from agentcron.store.postgres.announce import Announcer
    from agentcron.store.postgres.groups import EnqueueGroups

__all__ = ["PgHotRuns"]

# A write that may wake event readers of other processes itself, at its commit (its first
# parameter: `Announcer.carry`).
_NOTE = "CASE WHEN ? THEN pg_notify('agentcron_events', '') END"
# Whether an enabled event schedule might match a ``run.*`` event (its pattern starts with
# ``r`` or a wildcard: chr(63) is "?"). The one-statement writes write nothing when one might.
_RUN_RULES = (
    "SELECT EXISTS (SELECT 1 FROM schedules WHERE trigger_kind = 'event' AND enabled "
    "AND NOT parked{namespace} AND left(trigger->>'event', 1) IN ('r', '*', '[', chr(63))) AS b"
)
# Runs enqueued with their ``run.queued`` events (the data of `rules.events.lifecycle` for a
# queued run: a contract test compares them).
_ENQUEUE = pg_sql(
    f"WITH note AS (SELECT {_NOTE}), "
    f"blocked AS ({_RUN_RULES.format(namespace=' AND namespace = ANY(?)')} FROM note), "
    "r AS ("
    + RUNS_FROM_JSON.format(where=" WHERE NOT (SELECT b FROM blocked)")
    + " RETURNING id, namespace, task, status, schedule_id, subject, attempts, dedup_key), "
    "ev AS (INSERT INTO events (namespace, type, subject, data, created_at) "
    "SELECT namespace, 'run.queued', subject, jsonb_build_object('run_id', id, 'task', task, "
    "'status', status, 'schedule_id', schedule_id, 'attempts', attempts, 'error', NULL), ? "
    "FROM r ORDER BY id) "
    "SELECT (SELECT b FROM blocked), r.id, r.dedup_key FROM (SELECT 1) AS one LEFT JOIN r ON true"
)
_BY_DEDUP = f"SELECT {RUN_COLUMNS} FROM runs WHERE dedup_key IN ({{marks}})"
# The start of a worker's write: commit without waiting for the WAL flush (as
# ``write(durable=False)``: a claim or result lost in a crash only means a run runs again),
# the announcement it may carry, and the event-schedule check (``blocked``).
_WORKER_WRITE = (
    f"WITH nowait AS (SELECT set_config('synchronous_commit', 'off', true), {_NOTE}), "
    f"blocked AS ({_RUN_RULES.format(namespace='')} FROM nowait), "
)
_CLAIM_ORDER = "ORDER BY priority DESC, available_at, id"
# Up to N due runs (one per serial key), leased, with their ``run.started`` events. Two
# workers starting runs of one serial key at once: the unique index refuses the second
# statement, which then takes the shared path.
_CLAIM = (
    _WORKER_WRITE + "cand AS (SELECT id, serial_key, priority, available_at FROM runs "
    "WHERE status = 'queued' AND available_at <= ?{filters} AND (serial_key IS NULL OR "
    "NOT EXISTS (SELECT 1 FROM runs AS r2 WHERE r2.serial_key = runs.serial_key "
    "AND r2.status = 'running')) AND NOT (SELECT b FROM blocked) "
    f"{_CLAIM_ORDER} LIMIT ? FOR UPDATE SKIP LOCKED), "
    "picked AS (SELECT id FROM (SELECT id, serial_key, row_number() OVER (PARTITION BY "
    f"serial_key {_CLAIM_ORDER}) AS n FROM cand) AS c WHERE serial_key IS NULL OR n = 1), "
    f"taken AS ({LEASE} FROM picked WHERE runs.id = picked.id RETURNING "
    + ", ".join(f"runs.{c.strip()}" for c in RUN_COLUMNS.split(","))
    + "), ev AS (INSERT INTO events (namespace, type, subject, data, created_at) "
    "SELECT namespace, 'run.started', subject, jsonb_build_object('run_id', id, 'task', task, "
    "'status', 'running', 'schedule_id', schedule_id, 'attempts', attempts, 'error', "
    "CASE WHEN error IS NULL THEN NULL ELSE jsonb_build_object('type', error->'type', "
    "'message', error->'message') END), ? FROM taken) "
    "SELECT (SELECT b FROM blocked), taken.* FROM (SELECT 1) AS one LEFT JOIN taken ON true"
)
# Results of runs the worker still holds, from one JSON array of `_outcome_rows`: ``[id,
# status, result, error, finished_at, available_at, event type, event error, event tail]``
# (one parameter: psycopg adapts arrays element by element, a fifth of a worker's time),
# with their lifecycle events (type and the parts that depend on the outcome alone come
# from `lifecycle_parts`).
_FINISH = pg_sql(
    _WORKER_WRITE
    + "done AS (UPDATE runs SET status = v.status, result = v.result, error = v.error, "
    "finished_at = v.finished_at, available_at = coalesce(v.available_at, runs.available_at), "
    "lease_owner = NULL, lease_expires_at = NULL FROM (SELECT (e->>0)::bigint AS id, "
    "e->>1 AS status, CASE WHEN e->>1 = 'succeeded' THEN e->2 END AS result, "
    "NULLIF(e->3, 'null') AS error, (e->>4)::float8 AS finished_at, "
    "(e->>5)::float8 AS available_at, e->>6 AS etype, e->7 AS eerror, e->8 AS etail, n AS ord "
    "FROM jsonb_array_elements(?::jsonb) WITH ORDINALITY AS x(e, n)) AS v "
    "WHERE runs.id = v.id AND runs.lease_owner = ? AND runs.status = 'running' "
    "AND NOT (SELECT b FROM blocked) RETURNING runs.id, runs.namespace, runs.task, "
    "runs.status, runs.schedule_id, runs.subject, runs.attempts, v.etype, v.eerror, v.etail, "
    "v.ord), "
    "ev AS (INSERT INTO events (namespace, type, subject, data, created_at) "
    "SELECT namespace, etype, subject, jsonb_build_object('run_id', id, 'task', task, "
    "'status', status, 'schedule_id', schedule_id, 'attempts', attempts, 'error', eerror) "
    "|| etail, ? FROM done ORDER BY ord) "
    "SELECT (SELECT b FROM blocked), (SELECT count(*) FROM done)"
)


def _outcome_rows(outcomes: Sequence[RunOutcome], values: list[tuple[Any, ...]]) -> str:
    """The JSON array `_FINISH` reads: per outcome its `finish_values` (result and error are
    JSON already) and the parts of its lifecycle event."""
    rows = []
    for outcome, (run_id, status, result, error, finished, available) in zip(
        outcomes, values, strict=True
    ):
        type_, event_error, tail = lifecycle_parts(
            status, outcome.error, finished=True, retry_at=available
        )
        rows.append(
            f'[{run_id},"{status}",{result or "null"},{error or "null"},{_number(finished)},'
            f'{_number(available)},"{type_}",{event_error},{{{tail[1:]}}}]'
        )
    return "[" + ",".join(rows) + "]"


def _number(value: float | None) -> str:
    return "null" if value is None else repr(float(value))


class PgHotRuns(RunVerbs):
    """`RunVerbs` with PostgreSQL's one-statement enqueue, claim and finish (`_enqueue`,
    `_claim`, `_write_outcomes`)."""

    _grouped: EnqueueGroups  # made by the store, sends with `_enqueue`
    if TYPE_CHECKING:
        _announcer: Announcer

        async def _statement(
            self, sql: str, params: Sequence[Any], *, all_rows: bool = False
        ) -> Any: ...

    async def enqueue(self, runs: Sequence[NewRun], now: datetime) -> list[Run]:
        if len(runs) == 1 and runs[0].status is RunStatus.QUEUED and runs[0].dedup_key is None:
            return [await self._grouped.enqueue(runs[0], now)]
        return await self._enqueue(runs, now)

    async def _enqueue(self, runs: Sequence[NewRun], now: datetime) -> list[Run]:
        """Queued runs in one statement; any other, or with an event schedule that might
        fire, through the shared verb."""
        if not runs or not all(r.status is RunStatus.QUEUED for r in runs):
            return await super().enqueue(runs, now)
        now_s = now.timestamp()
        params = [_codec.run_insert_params(r, now_s) for r in runs]
        namespaces = sorted({r.namespace for r in runs})
        rows, carried = await self._carrying(
            _ENQUEUE, (namespaces, _codec.dumps(params), now_s), all_rows=True
        )
        if rows[0][0]:  # an event schedule to fire
            return await super().enqueue(runs, now)
        written = inserted_runs(
            runs, params, [row[1:] for row in rows if row[1] is not None], now_s
        )
        if written:
            self.emitted(Emitted(wrote=True), announced=carried)
        keys = missing_dedup_keys(runs, written)
        existing = []
        if keys:
            found = await self._statement(
                pg_sql(_BY_DEDUP.format(marks=marks(len(keys)))), keys, all_rows=True
            )
            existing = [_codec.run_from_row(r) for r in found]
        return in_input_order(runs, written, existing)

    async def _carrying(
        self, sql: str, params: Sequence[Any], *, all_rows: bool = False
    ) -> tuple[Any, bool]:
        """`_statement` for a write that begins with `_NOTE`: its result, and whether it
        carried the announcement of the events channel (`Announcer.carry`)."""
        carried = self._announcer.carry()
        try:
            result = await self._statement(sql, (carried, *params), all_rows=all_rows)
        except BaseException:
            if carried:  # not committed: announce what came before it the usual way
                self._announcer()
            raise
        return result, carried

    async def _claim(self, claim: Claim) -> list[Run]:
        """`_CLAIM`; the shared claim after a serial-key race or with an event schedule to
        fire (and without serial keys when a unique index refuses one again)."""
        try:
            rows, carried = await self._carrying(
                pg_sql(_CLAIM.format(filters=claim.where[0])),
                [claim.now_s, *claim.where[1], claim.limit, claim.now_s, claim.worker_id,
                 claim.worker_id, claim.until_s, claim.now_s],
                all_rows=True,
            )  # fmt: skip
        except UniqueConflict:  # another worker started a run of one of these serial keys
            rows = None
        if rows is not None and not rows[0][0]:
            claimed = [_codec.run_from_row(r[1:]) for r in rows if r[1] is not None]
            if claimed:
                self.emitted(Emitted(wrote=True), announced=carried)
            return claimed
        try:
            return await super()._claim(claim)
        except UniqueConflict:
            return await super()._claim(claim._replace(serial=False))

    async def _write_outcomes(
        self, worker_id: str, outcomes: list[RunOutcome], values: list[tuple[Any, ...]],
        now_s: float,
    ) -> int:  # fmt: skip
        """`_FINISH`; the shared write with an event schedule to fire."""
        rows = _outcome_rows(outcomes, values)
        (blocked, written), carried = await self._carrying(_FINISH, (rows, worker_id, now_s))
        if blocked:
            return await super()._write_outcomes(worker_id, outcomes, values, now_s)
        if written:
            self.emitted(Emitted(wrote=True), announced=carried)
        return int(written)

    async def next_available_at(
        self, queues: Sequence[str] | None = None, tasks: Sequence[str] | None = None
    ) -> datetime | None:
        """The shared statement, on its own (one round trip, no transaction around it)."""
        filter_sql, params = filters(queues, tasks)
        row = await self._statement(pg_sql(NEXT_AVAILABLE.format(filters=filter_sql)), params)
        return _codec.dt(row[0] if row else None)
