"""Run, task and worker verbs of the PostgreSQL store (contract: `agentcron.store.base.Store`)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import psycopg

from agentcron.errors import InvalidRunState, RunNotFound, StoreUnavailable
from agentcron.models import NewRun, Run, RunOutcome, RunStatus, WorkerInfo
from agentcron.rules.events import Emitted, finished_event, lifecycle_parts, run_event
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS
from agentcron.store._futures import settle
from agentcron.store._ops import PgOps as _PgOps
from agentcron.store._ops import UniqueConflict
from agentcron.store._pg_events import emit
from agentcron.store._pg_helpers import (
    RUNS_FROM_JSON,
    Conn,
    fetchall,
    fetchone,
    insert_runs,
    inserted_runs,
)
from agentcron.store._sqlite_runs import _finish_values, _worker, valid_id
from agentcron.store.base import RunFilter, StoreStats

_FINISHED = "status NOT IN ('queued', 'running')"  # the runs runs_status / runs_task hold
_OPEN = {RunStatus.QUEUED: " AND status = 'queued'", RunStatus.RUNNING: " AND status = 'running'"}
# Whether an enabled event schedule might match a ``run.*`` event (its pattern starts with
# ``r`` or a wildcard). The one-statement writes below write nothing when one might: the
# caller then takes the transactional path, which fires them.
_RUN_RULES = (
    "SELECT EXISTS (SELECT 1 FROM schedules WHERE trigger_kind = 'event' AND enabled "
    "AND NOT parked{namespace} AND (trigger->>'event') ~ '^[r*?[]') AS b"
)
# Runs enqueued in one statement, which is its own transaction (no BEGIN / COMMIT round
# trips): the runs (ignoring taken dedup keys) and their ``run.queued`` events. The event's
# data is `rules.events.lifecycle`'s for a queued run (a contract test compares them).
# A one-statement write may wake event readers of other processes itself, at its commit (its
# first parameter: `Announcer.carry`).
_NOTE = "CASE WHEN %s THEN pg_notify('agentcron_events', '') END"
_ENQUEUE = (
    f"WITH note AS (SELECT {_NOTE}), "
    f"blocked AS ({_RUN_RULES.format(namespace=' AND namespace = ANY(%s)')} FROM note), "
    "r AS ("
    + RUNS_FROM_JSON.format(where=" WHERE NOT (SELECT b FROM blocked)")
    + " RETURNING id, namespace, task, status, schedule_id, subject, attempts, dedup_key), "
    "ev AS (INSERT INTO events (namespace, type, subject, data, created_at) "
    "SELECT namespace, 'run.queued', subject, jsonb_build_object('run_id', id, 'task', task, "
    "'status', status, 'schedule_id', schedule_id, 'attempts', attempts, 'error', NULL), %s "
    "FROM r ORDER BY id) "
    "SELECT (SELECT b FROM blocked), r.id, r.dedup_key FROM (SELECT 1) AS one LEFT JOIN r ON true"
)
# The start of a worker's one-statement write: commit without waiting for the WAL flush (as
# `_tx(durable=False)`: a claim or result lost in a crash only means a run runs again), the
# announcement it may carry, and the event-schedule check (``blocked``).
_WORKER_WRITE = (
    f"WITH nowait AS (SELECT set_config('synchronous_commit', 'off', true), {_NOTE}), "
    f"blocked AS ({_RUN_RULES.format(namespace='')} FROM nowait), "
)
# Due runs a claim may take ({filters}: queues, tasks), in claim order, none whose serial key
# is running; then the lease they get.
_DUE = (
    "FROM runs WHERE status = 'queued' AND available_at <= %s{filters} AND (serial_key IS NULL "
    "OR NOT EXISTS (SELECT 1 FROM runs AS r2 WHERE r2.serial_key = runs.serial_key "
    "AND r2.status = 'running'))"
)
_CLAIM_ORDER = "ORDER BY priority DESC, available_at, id"
_LEASE = (
    "UPDATE runs SET status = 'running', attempts = attempts + 1, started_at = %s, "
    "lease_owner = %s, worker = %s, lease_expires_at = %s"
)
# A claim in one statement, which is its own transaction: up to N due runs (one per serial
# key), leased, with their ``run.started`` events. Two workers starting runs of one serial
# key at once: the unique index refuses the second statement, which then takes the
# transactional path (`_PICK`, `_TAKE`).
_CLAIM = (
    _WORKER_WRITE + f"cand AS (SELECT id, serial_key, priority, available_at {_DUE} "
    f"AND NOT (SELECT b FROM blocked) {_CLAIM_ORDER} LIMIT %s FOR UPDATE SKIP LOCKED), "
    "picked AS (SELECT id FROM (SELECT id, serial_key, row_number() OVER (PARTITION BY "
    f"serial_key {_CLAIM_ORDER}) AS n FROM cand) AS c WHERE serial_key IS NULL OR n = 1), "
    f"taken AS ({_LEASE} FROM picked WHERE runs.id = picked.id RETURNING {{columns}}), "
    "ev AS (INSERT INTO events (namespace, type, subject, data, created_at) "
    "SELECT namespace, 'run.started', subject, jsonb_build_object('run_id', id, 'task', task, "
    "'status', 'running', 'schedule_id', schedule_id, 'attempts', attempts, 'error', "
    "CASE WHEN error IS NULL THEN NULL ELSE jsonb_build_object('type', error->'type', "
    "'message', error->'message') END), %s FROM taken) "
    "SELECT (SELECT b FROM blocked), taken.* FROM (SELECT 1) AS one LEFT JOIN taken ON true"
)
_PICK = f"SELECT id, serial_key {_DUE} {_CLAIM_ORDER} LIMIT %s FOR UPDATE SKIP LOCKED"
_TAKE = f"{_LEASE} WHERE id = ANY(%s) RETURNING {RUN_COLUMNS}"
# Results of runs the worker still holds, from one JSON array of `_outcome_rows`: ``[id,
# status, result, error, finished_at, available_at, event type, event error, event tail]``
# (one parameter: psycopg adapts arrays element by element, a fifth of a worker's time).
_FINISH_FROM = (
    "UPDATE runs SET status = v.status, result = v.result, error = v.error, "
    "finished_at = v.finished_at, available_at = coalesce(v.available_at, runs.available_at), "
    "lease_owner = NULL, lease_expires_at = NULL FROM (SELECT (e->>0)::bigint AS id, "
    "e->>1 AS status, CASE WHEN e->>1 = 'succeeded' THEN e->2 END AS result, "
    "NULLIF(e->3, 'null') AS error, (e->>4)::float8 AS finished_at, "
    "(e->>5)::float8 AS available_at, e->>6 AS etype, e->7 AS eerror, e->8 AS etail, n AS ord "
    "FROM jsonb_array_elements(%s::jsonb) WITH ORDINALITY AS x(e, n)) AS v "
    "WHERE runs.id = v.id AND runs.lease_owner = %s AND runs.status = 'running' "
)
_FINISH = _FINISH_FROM + (
    "RETURNING runs.id, runs.namespace, runs.task, runs.schedule_id, runs.subject, runs.attempts"
)
# Results written in one statement, which is its own transaction, with their lifecycle events
# (type and the parts that depend on the outcome alone come from `lifecycle_parts`).
_FINISH_ONE = (
    _WORKER_WRITE
    + "done AS ("
    + _FINISH_FROM
    + "AND NOT (SELECT b FROM blocked) RETURNING runs.id, runs.namespace, runs.task, "
    "runs.status, runs.schedule_id, runs.subject, runs.attempts, v.etype, v.eerror, v.etail, "
    "v.ord), "
    "ev AS (INSERT INTO events (namespace, type, subject, data, created_at) "
    "SELECT namespace, etype, subject, jsonb_build_object('run_id', id, 'task', task, "
    "'status', status, 'schedule_id', schedule_id, 'attempts', attempts, 'error', eerror) "
    "|| etail, %s FROM done ORDER BY ord) "
    "SELECT (SELECT b FROM blocked), (SELECT count(*) FROM done)"
)


def _prefixed(columns: str) -> str:
    return ", ".join(f"runs.{c.strip()}" for c in columns.split(","))


# A run whose lease expired: as `_sqlite_runs._REAP` (cancelled, dead past max_recoveries,
# else queued again without using up its retries).
_REAP = (
    "WITH expired AS (SELECT id FROM runs WHERE status = 'running' "
    "AND lease_expires_at < %s FOR UPDATE SKIP LOCKED) "
    "UPDATE runs SET status = CASE WHEN cancel_requested THEN 'cancelled' "
    "WHEN recoveries >= max_recoveries THEN 'dead' ELSE 'queued' END, "
    "error = (CASE WHEN cancel_requested THEN %s WHEN recoveries >= max_recoveries THEN %s "
    "ELSE %s END)::jsonb, "
    "finished_at = CASE WHEN cancel_requested OR recoveries >= max_recoveries THEN %s END, "
    "recoveries = recoveries + (CASE WHEN cancel_requested OR recoveries >= max_recoveries "
    "THEN 0 ELSE 1 END), "
    "max_attempts = max_attempts + (CASE WHEN cancel_requested OR recoveries >= max_recoveries "
    "THEN 0 ELSE 1 END), "
    "available_at = %s, lease_owner = NULL, lease_expires_at = NULL "
    f"FROM expired WHERE runs.id = expired.id RETURNING {_prefixed(RUN_COLUMNS)}"
)


class EnqueueGroups:
    """Group commit of the single enqueues of one process: the runs enqueued in one turn of
    the event loop go together, in one statement, on the next turn; those enqueued while a
    group is on its way go together as soon as it is back. A loop of enqueues costs what it
    did (one statement each, one loop turn later); concurrent ones (API requests, producer
    tasks) share round trips and WAL flushes.

    Each caller gets its own run, or the error of its group (a group that fails for another
    reason than an unreachable server is sent again run by run, so only a bad run's caller
    sees its error). A caller cancelled before its group is sent is left out of it."""

    MAX = 1000

    def __init__(self, send: Callable[[Sequence[NewRun], datetime], Awaitable[list[Run]]]):
        self._send = send
        self._waiting: list[tuple[NewRun, datetime, asyncio.Future[Run]]] = []
        self._sender: asyncio.Task[None] | None = None

    async def enqueue(self, run: NewRun, now: datetime) -> Run:
        future: asyncio.Future[Run] = asyncio.get_running_loop().create_future()
        self._waiting.append((run, now, future))
        if self._sender is None or self._sender.done():  # starts on the next turn
            self._sender = asyncio.create_task(self._send_all(), name="agentcron-enqueue")
        return await future

    async def drain(self) -> None:
        """Wait until every run handed in was sent (before the pool closes)."""
        if self._sender is not None:
            await asyncio.wait([self._sender])

    async def _send_all(self) -> None:
        try:
            await self._send_groups()
        except BaseException as exc:  # cancelled (the loop is closing): nobody is left waiting
            _fail(self._waiting, exc)
            self._waiting.clear()
            raise

    async def _send_groups(self) -> None:
        while self._waiting:
            group = [w for w in self._waiting[: self.MAX] if not w[2].cancelled()]
            del self._waiting[: self.MAX]
            if not group:
                continue
            try:
                runs = await self._send([r for r, _, _ in group], max(n for _, n, _ in group))
            except StoreUnavailable as exc:
                _fail(group, exc)
            except Exception as exc:
                if len(group) == 1:
                    _fail(group, exc)
                else:
                    await self._one_by_one(group)
            except BaseException as exc:  # cancelled: so are they
                _fail(group, exc)
                raise
            else:
                for (_, _, future), run in zip(group, runs, strict=True):
                    settle(future, run)

    async def _one_by_one(self, group: list[tuple[NewRun, datetime, asyncio.Future[Run]]]) -> None:
        for run, now, future in group:
            try:
                (done,) = await self._send([run], now)
            except Exception as exc:
                settle(future, error=exc)
            else:
                settle(future, done)


def _outcome_rows(outcomes: Sequence[RunOutcome], values: list[tuple[Any, ...]]) -> str:
    """The JSON array `_FINISH_FROM` reads: per outcome its `_finish_values` (result and error
    are JSON already) and the parts of its lifecycle event."""
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


def _fail(group: Sequence[tuple[Any, Any, asyncio.Future[Run]]], exc: BaseException) -> None:
    for _, _, future in group:
        settle(future, error=exc)


def _in(column: str, values: Sequence[str] | None) -> tuple[str, list[Any]]:
    if values is None:
        return "", []
    return f" AND {column} = ANY(%s)", [list(values)]


class PgRunVerbs(_PgOps):
    """Every state change also writes its lifecycle event (``run.queued``, ``run.started``...)
    in the same transaction, one statement per batch (see `postgres/events.py`)."""

    _grouped: EnqueueGroups  # made by the store

    async def enqueue(self, runs: Sequence[NewRun], now: datetime) -> list[Run]:
        if len(runs) == 1 and runs[0].status is RunStatus.QUEUED and runs[0].dedup_key is None:
            return [await self._grouped.enqueue(runs[0], now)]
        return await self._enqueue(runs, now)

    async def _enqueue(self, runs: Sequence[NewRun], now: datetime) -> list[Run]:
        now_s = now.timestamp()
        if all(r.status is RunStatus.QUEUED for r in runs):
            params = [_codec.run_insert_params(r, now_s) for r in runs]
            namespaces = sorted({r.namespace for r in runs})
            rows, carried = await self._carrying(
                _ENQUEUE, (namespaces, _codec.dumps(params), now_s), all_rows=True
            )
            if not rows[0][0]:
                ids = [row[1:] for row in rows if row[1] is not None]
                written = inserted_runs(runs, params, ids, now_s)
                if written:
                    self.emitted(Emitted(wrote=True), announced=carried)
                return await _with_existing(self._rows, runs, written)
            # an event schedule to fire: the transactional path

        async def op(conn: Conn) -> tuple[list[Run], Emitted]:
            inserted = await insert_runs(conn, list(runs), now_s)
            emitted = await emit(conn, [run_event(r) for r in inserted], now_s, None)
            fetch = partial(fetchall, conn)
            return await _with_existing(fetch, runs, inserted), emitted

        result: list[Run]
        result, emitted = await self._tx(op)
        self.emitted(emitted)
        return result

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

    async def _rows(self, sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        rows: list[tuple[Any, ...]] = await self._statement(sql, params, all_rows=True)
        return rows

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
        queue_sql, queue_params = _in("queue", queues)
        task_sql, task_params = _in("task", tasks)
        filters = f"{queue_sql}{task_sql}"
        due_params = [now_s, *queue_params, *task_params, limit]
        lease_params = [now_s, worker_id, worker_id, now_s + lease.total_seconds()]

        claimed: list[Run]
        carried = False
        try:
            rows, carried = await self._carrying(
                _CLAIM.format(filters=filters, columns=_prefixed(RUN_COLUMNS)),
                [*due_params, *lease_params, now_s],
                all_rows=True,
            )
        except UniqueConflict:  # another worker started a run of one of these serial keys
            rows = None
        if rows is not None and not rows[0][0]:
            claimed = [_codec.run_from_row(r[1:]) for r in rows if r[1] is not None]
            if claimed:
                self.emitted(Emitted(wrote=True), announced=carried)
        else:  # an event schedule to fire, or a serial-key race: the transactional path

            async def op(conn: Conn) -> tuple[list[Run], Emitted]:
                picked = await fetchall(conn, _PICK.format(filters=filters), due_params)
                ids = _one_per_serial_key(picked)
                try:
                    async with conn.transaction():
                        taken = await fetchall(conn, _TAKE, [*lease_params, ids])
                except psycopg.errors.UniqueViolation:
                    # Another worker started a run of one of these serial keys meanwhile.
                    plain = [run_id for run_id, serial in picked if serial is None]
                    taken = await fetchall(conn, _TAKE, [*lease_params, plain])
                runs = [_codec.run_from_row(r) for r in taken]
                return runs, await emit(conn, [run_event(r) for r in runs], now_s, None)

            claimed, emitted = await self._tx(op, durable=False)
            self.emitted(emitted)
        claimed.sort(key=lambda r: (-r.priority, r.available_at, r.id))
        return claimed

    async def extend_leases(
        self, worker_id: str, run_ids: Sequence[int], until: datetime
    ) -> set[int]:
        ids = [i for i in run_ids if valid_id(i)]
        if not ids:
            return set()

        async def op(conn: Conn) -> set[int]:
            rows = await fetchall(
                conn,
                "UPDATE runs SET lease_expires_at = %s WHERE status = 'running' "
                "AND lease_owner = %s AND id = ANY(%s) RETURNING id, cancel_requested",
                (until.timestamp(), worker_id, ids),
            )
            return {r[0] for r in rows if r[1]}

        return await self._tx(op, durable=False)

    async def finish_runs(
        self, worker_id: str, outcomes: Sequence[RunOutcome], now: datetime
    ) -> int:
        now_s = now.timestamp()
        outcomes = [o for o in outcomes if valid_id(o.run_id)]
        if not outcomes:
            return 0
        values = [_finish_values(o, now_s) for o in outcomes]
        rows = _outcome_rows(outcomes, values)
        (blocked, written), carried = await self._carrying(_FINISH_ONE, (rows, worker_id, now_s))
        if not blocked:
            if written:
                self.emitted(Emitted(wrote=True), announced=carried)
        else:  # an event schedule to fire: the transactional path

            async def op(conn: Conn) -> tuple[int, Emitted]:
                held = {r[0]: r for r in await fetchall(conn, _FINISH, (rows, worker_id))}
                events = [
                    finished_event(held.pop(v[0]), v[1], o.error, v[5])
                    for o, v in zip(outcomes, values, strict=True)
                    if v[0] in held
                ]
                return len(events), await emit(conn, events, now_s, None)

            written, emitted = await self._tx(op, durable=False)
            self.emitted(emitted)
        if any(o.status is RunStatus.QUEUED for o in outcomes):
            self.notify("runs")
        return int(written)

    async def reap_expired(self, now: datetime) -> list[Run]:
        now_s = now.timestamp()

        async def op(conn: Conn) -> tuple[list[Run], Emitted]:
            errors = (_codec.LEASE_LOST, _codec.LEASE_LOST_DEAD, _codec.LEASE_LOST_REQUEUED)
            rows = await fetchall(conn, _REAP, (now_s, *errors, now_s, now_s))
            reaped = [_codec.run_from_row(r) for r in rows]
            return reaped, await emit(conn, [run_event(r) for r in reaped], now_s, None)

        reaped: list[Run]
        reaped, emitted = await self._tx(op, durable=False)
        self.emitted(emitted)
        return reaped

    async def next_available_at(
        self, queues: Sequence[str] | None = None, tasks: Sequence[str] | None = None
    ) -> datetime | None:
        queue_sql, queue_params = _in("queue", queues)
        task_sql, task_params = _in("task", tasks)
        row = await self._statement(
            f"SELECT min(available_at) FROM runs WHERE status = 'queued'{queue_sql}{task_sql}",
            [*queue_params, *task_params],
        )
        return _codec.dt(row[0] if row else None)

    async def get_run(self, run_id: int) -> Run:
        return await self._tx(lambda conn: _get_run(conn, run_id))

    async def list_runs(
        self, filters: RunFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Run], str | None]:
        f = filters or RunFilter()
        where: list[str] = ["true"]
        params: list[Any] = []
        for column, value in (("namespace", f.namespace), ("task", f.task),
                              ("schedule_id", f.schedule_id), ("subject", f.subject)):  # fmt: skip
            if value is not None:
                where.append(f"{column} = %s")
                params.append(value)
        if cursor:
            where.append("id < %s")
            params.append(_codec.decode_id_cursor(cursor))
        # runs_status and runs_task hold finished runs only (schema 4): a query that may use
        # them says so in its own words; open runs are read through runs_claim / runs_lease
        # (a status written out, so that a prepared plan can use their partial indexes).
        parts: list[tuple[str, list[Any]]] = [("", [])]
        if f.status in _OPEN:
            parts = [(_OPEN[f.status], [])]
        elif f.status is not None:
            parts = [(f" AND {_FINISHED} AND status = %s", [f.status.value])]
        elif f.task is not None:
            parts = [(f" AND {_FINISHED}", []), *((part, []) for part in _OPEN.values())]
        sql = " UNION ALL ".join(
            f"(SELECT {RUN_COLUMNS} FROM runs WHERE {' AND '.join(where)}{part} "
            "ORDER BY id DESC LIMIT %s)"
            for part, _ in parts
        )
        args = [p for _, extra in parts for p in (*params, *extra, limit + 1)]
        if len(parts) > 1:
            sql += " ORDER BY id DESC LIMIT %s"
            args.append(limit + 1)

        async def op(conn: Conn) -> list[Run]:
            return [_codec.run_from_row(r) for r in await fetchall(conn, sql, args)]

        items = await self._tx(op)
        if len(items) > limit:
            items = items[:limit]
            return items, _codec.encode_cursor(items[-1].id)
        return items, None

    async def cancel_run(self, run_id: int, now: datetime) -> Run:
        async def op(conn: Conn) -> tuple[Run, Emitted]:
            run = await _get_run(conn, run_id, lock=True)
            emitted = Emitted()
            if run.status is RunStatus.QUEUED:
                await conn.execute(
                    "UPDATE runs SET status = 'cancelled', finished_at = %s WHERE id = %s",
                    (now.timestamp(), run_id),
                )
                event = run_event(run, status=RunStatus.CANCELLED, error=None)
                emitted = await emit(conn, [event], now.timestamp(), None)
            elif run.status is RunStatus.RUNNING:
                await conn.execute(
                    "UPDATE runs SET cancel_requested = true WHERE id = %s", (run_id,)
                )
            else:
                raise InvalidRunState(f"run {run_id} is already {run.status.value}")
            return await _get_run(conn, run_id), emitted

        run: Run
        run, emitted = await self._tx(op)
        self.emitted(emitted)
        return run

    async def retry_run(self, run_id: int, now: datetime) -> Run:
        async def op(conn: Conn) -> tuple[Run, Emitted]:
            run = await _get_run(conn, run_id, lock=True)
            if run.status not in (RunStatus.DEAD, RunStatus.FAILED, RunStatus.CANCELLED):
                raise InvalidRunState(
                    f"run {run_id} is {run.status.value}; only dead, failed or cancelled runs "
                    "can be retried"
                )
            await conn.execute(
                "UPDATE runs SET status = 'queued', available_at = %s, finished_at = NULL, "
                "max_attempts = attempts + 1, cancel_requested = false WHERE id = %s",
                (now.timestamp(), run_id),
            )
            event = run_event(run, status=RunStatus.QUEUED, error=None)
            return await _get_run(conn, run_id), await emit(conn, [event], now.timestamp(), None)

        run: Run
        run, emitted = await self._tx(op)
        self.emitted(emitted)
        self.notify("runs")
        return run

    async def purge_runs(self, finished_before: datetime) -> int:
        async def op(conn: Conn) -> int:
            cur = await conn.execute(
                "DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < %s "
                "AND status NOT IN ('queued', 'running')",
                (finished_before.timestamp(),),
            )
            return cur.rowcount

        return await self._tx(op)

    # -- tasks and workers ---------------------------------------------------------------------
    async def register_tasks(self, tasks: dict[str, dict[str, Any]], now: datetime) -> None:
        rows = [(name, _codec.dumps(info), now.timestamp()) for name, info in sorted(tasks.items())]

        async def op(conn: Conn) -> None:
            async with conn.cursor() as cur:
                await cur.executemany(
                    "INSERT INTO tasks (name, info, last_seen_at) VALUES (%s, %s::jsonb, %s) "
                    "ON CONFLICT (name) DO UPDATE SET info = excluded.info, "
                    "last_seen_at = excluded.last_seen_at",
                    rows,
                )

        await self._tx(op)

    async def known_tasks(self) -> dict[str, dict[str, Any]]:
        async def op(conn: Conn) -> dict[str, dict[str, Any]]:
            rows = await fetchall(conn, "SELECT name, info FROM tasks")
            return {name: _codec.loads(info) for name, info in rows}

        return await self._tx(op)

    async def register_worker(self, info: WorkerInfo) -> None:
        await self._tx(
            lambda conn: conn.execute(
                "INSERT INTO workers (id, host, pid, queues, concurrency, running, started_at, "
                "last_heartbeat_at) VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, "
                "queues = excluded.queues, concurrency = excluded.concurrency, "
                "running = excluded.running, started_at = excluded.started_at, "
                "last_heartbeat_at = excluded.last_heartbeat_at",
                (
                    info.id,
                    info.host,
                    info.pid,
                    _codec.dumps(info.queues),
                    info.concurrency,
                    info.running,
                    info.started_at.timestamp(),
                    info.last_heartbeat_at.timestamp(),
                ),
            )
        )

    async def heartbeat_worker(self, worker_id: str, now: datetime, running: int) -> None:
        await self._tx(
            lambda conn: conn.execute(
                "UPDATE workers SET last_heartbeat_at = %s, running = %s WHERE id = %s",
                (now.timestamp(), running, worker_id),
            ),
            durable=False,
        )

    async def remove_worker(self, worker_id: str) -> None:
        await self._tx(lambda conn: conn.execute("DELETE FROM workers WHERE id = %s", (worker_id,)))

    async def list_workers(self) -> list[WorkerInfo]:
        async def op(conn: Conn) -> list[WorkerInfo]:
            rows = await fetchall(
                conn,
                "SELECT id, host, pid, queues, concurrency, running, started_at, "
                "last_heartbeat_at FROM workers ORDER BY started_at",
            )
            return [_worker(r) for r in rows]

        return await self._tx(op)

    async def stats(self, namespace: str | None = None) -> StoreStats:
        ns_sql = " WHERE namespace = %s" if namespace else ""
        ns = [namespace] if namespace else []

        async def op(conn: Conn) -> StoreStats:
            by_status = dict(
                await fetchall(
                    conn, f"SELECT status, count(*) FROM runs{ns_sql} GROUP BY status", ns
                )
            )
            row = await fetchone(
                conn,
                "SELECT count(*), count(*) FILTER (WHERE enabled), count(*) FILTER (WHERE parked) "
                f"FROM schedules{ns_sql}",
                ns,
            )
            total, enabled, parked = row or (0, 0, 0)
            oldest = await fetchone(
                conn,
                "SELECT min(queued_at) FROM runs WHERE status = 'queued'"
                + (" AND namespace = %s" if namespace else ""),
                ns,
            )
            workers = await fetchone(conn, "SELECT count(*) FROM workers")
            return StoreStats(
                by_status, total, enabled, parked,
                _codec.dt(oldest[0] if oldest else None), workers[0] if workers else 0,
            )  # fmt: skip

        return await self._tx(op)


async def _with_existing(
    fetch: Callable[[str, Sequence[Any]], Awaitable[list[tuple[Any, ...]]]],
    runs: Sequence[NewRun],
    inserted: list[Run],
) -> list[Run]:
    """The result of an enqueue in input order: a run whose dedup key was taken is the
    existing one (read with ``fetch``)."""
    if len(inserted) == len(runs):
        return inserted
    by_key = {r.dedup_key: r for r in inserted if r.dedup_key}
    missing = [r.dedup_key for r in runs if r.dedup_key and r.dedup_key not in by_key]
    if missing:
        rows = await fetch(f"SELECT {RUN_COLUMNS} FROM runs WHERE dedup_key = ANY(%s)", (missing,))
        for row in rows:
            run = _codec.run_from_row(row)
            by_key[run.dedup_key or ""] = run
    plain = iter(r for r in inserted if not r.dedup_key)
    return [by_key[r.dedup_key] if r.dedup_key else next(plain) for r in runs]


async def _get_run(conn: Conn, run_id: int, *, lock: bool = False) -> Run:
    if not valid_id(run_id):
        raise RunNotFound(run_id)
    suffix = " FOR UPDATE" if lock else ""
    row = await fetchone(conn, f"SELECT {RUN_COLUMNS} FROM runs WHERE id = %s{suffix}", (run_id,))
    if row is None:
        raise RunNotFound(run_id)
    return _codec.run_from_row(row)


def _one_per_serial_key(picked: list[tuple[Any, ...]]) -> list[int]:
    """Ids to claim: all plain runs, and the first of each serial key (in claim order)."""
    seen: set[str] = set()
    ids = []
    for run_id, serial in picked:
        if serial is not None:
            if serial in seen:
                continue
            seen.add(serial)
        ids.append(run_id)
    return ids
