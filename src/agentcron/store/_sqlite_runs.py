"""Run and worker verbs of the SQLite store (contract: `agentcron.store.base.Store`)."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from agentcron.errors import InvalidRunState, RunNotFound
from agentcron.models import NewRun, Run, RunOutcome, RunStatus, WorkerInfo
from agentcron.rules.events import (
    Emitted,
    Pending,
    finished_event,
    lifecycle,
    new_run_event,
    run_event,
)
from agentcron.store import _codec
from agentcron.store._codec import RUN_COLUMNS, RUN_INSERT_COLUMNS, RUN_INSERT_MARKS
from agentcron.store._sqlite_events import EventVerbs, emit
from agentcron.store.base import RunFilter, StoreStats

_INSERT = (
    f"INSERT INTO runs ({RUN_INSERT_COLUMNS}) VALUES ({RUN_INSERT_MARKS}) ON CONFLICT DO NOTHING"
)
_SELECT_BY_DEDUP = f"SELECT {RUN_COLUMNS} FROM runs WHERE dedup_key = ?"
# The condition of the partial indexes runs_status and runs_task (schema 4).
_FINISHED = "status NOT IN ('queued', 'running')"
_OPEN = {  # the runs the indexes above leave out, each through its own partial index
    RunStatus.QUEUED: (" INDEXED BY runs_claim", " AND status = 'queued'"),
    RunStatus.RUNNING: (" INDEXED BY runs_lease", " AND status = 'running'"),
}
FINISH_CHUNK = 500  # outcomes per statement (6 parameters each)
# A run whose lease expired: cancelled when that was asked, dead when it was recovered
# max_recoveries times already, else queued again, a recovery (max_attempts grows with
# attempts, so that its retries stay for failures the task raised).
_REAP = (
    "UPDATE runs SET status = CASE WHEN cancel_requested THEN 'cancelled' "
    "WHEN recoveries >= max_recoveries THEN 'dead' ELSE 'queued' END, "
    "error = CASE WHEN cancel_requested THEN ? WHEN recoveries >= max_recoveries THEN ? "
    "ELSE ? END, "
    "finished_at = CASE WHEN cancel_requested OR recoveries >= max_recoveries THEN ? END, "
    "recoveries = recoveries + (CASE WHEN cancel_requested OR recoveries >= max_recoveries "
    "THEN 0 ELSE 1 END), "
    "max_attempts = max_attempts + (CASE WHEN cancel_requested OR recoveries >= max_recoveries "
    "THEN 0 ELSE 1 END), "
    "available_at = ?, lease_owner = NULL, lease_expires_at = NULL "
    f"WHERE status = 'running' AND lease_expires_at < ? RETURNING {RUN_COLUMNS}"
)


def _in(column: str, values: Sequence[str] | None) -> tuple[str, list[Any]]:
    if values is None:
        return "", []
    return f" AND {column} IN ({', '.join('?' * len(values)) or 'NULL'})", list(values)


class RunVerbs(EventVerbs):
    """Every state change also writes its lifecycle event (``run.queued``, ``run.started``...)
    in the same transaction, one ``executemany`` per batch (see `core.events.emit`)."""

    async def enqueue(self, runs: Sequence[NewRun], now: datetime) -> list[Run]:
        now_s = now.timestamp()
        params = [_codec.run_insert_params(run, now_s) for run in runs]

        # Only what needs the write lock happens in it; the runs are built after the commit
        # (another process waiting for the lock gets it that much sooner).
        def op(conn: sqlite3.Connection) -> tuple[list[int | tuple[Any, ...]], Emitted]:
            out: list[int | tuple[Any, ...]] = []
            events = []
            for run, values in zip(runs, params, strict=True):
                cur = conn.execute(_INSERT, values)
                if cur.rowcount == 1:
                    run_id = cur.lastrowid or 0
                    out.append(run_id)
                    events.append(new_run_event(run_id, run))
                else:  # dedup key taken: hand back the existing run
                    out.append(conn.execute(_SELECT_BY_DEDUP, (run.dedup_key,)).fetchone())
            return out, emit(conn, events, now_s, None)

        written, emitted = await self._write(op)
        self.emitted(emitted)
        self.notify("runs")
        return [
            _codec.run_from_new(got, run, now_s, values)
            if isinstance(got, int)
            else _codec.run_from_row(got)
            for got, run, values in zip(written, runs, params, strict=True)
        ]

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
        sql = (
            "UPDATE runs SET status='running', attempts=attempts+1, started_at=?, "
            "lease_owner=?, worker=?, lease_expires_at=? WHERE id IN ("
            # The planner would otherwise pick runs_status and sort every queued row.
            "SELECT id FROM runs INDEXED BY runs_claim WHERE status='queued' AND available_at <= ?"
            f"{queue_sql}{task_sql} AND (serial_key IS NULL OR serial_key NOT IN "
            "(SELECT serial_key FROM runs WHERE status='running' AND serial_key IS NOT NULL)) "
            f"ORDER BY priority DESC, available_at, id LIMIT ?) RETURNING {RUN_COLUMNS}, serial_key"
        )
        values = [now_s, worker_id, worker_id, now_s + lease.total_seconds(), now_s,
                  *queue_params, *task_params, limit]  # fmt: skip

        def op(conn: sqlite3.Connection) -> tuple[list[Any], Emitted]:
            rows = conn.execute(sql, values).fetchall()
            kept = _release_serial_duplicates(conn, rows)
            return kept, emit(conn, [_claimed_event(r) for r in kept], now_s, None)

        rows, emitted = await self._write(op)
        self.emitted(emitted)
        return [_codec.run_from_row(r) for r in rows]  # decoded after the commit

    async def extend_leases(
        self, worker_id: str, run_ids: Sequence[int], until: datetime
    ) -> set[int]:
        ids = [i for i in run_ids if valid_id(i)]
        marks = ", ".join("?" * len(ids))

        def op(conn: sqlite3.Connection) -> set[int]:
            rows = conn.execute(
                "UPDATE runs SET lease_expires_at=? WHERE status='running' AND lease_owner=? "
                f"AND id IN ({marks}) RETURNING id, cancel_requested",
                (until.timestamp(), worker_id, *ids),
            ).fetchall()
            return {r[0] for r in rows if r[1]}

        if not ids:
            return set()
        cancelled: set[int] = await self._write(op)
        return cancelled

    async def finish_runs(
        self, worker_id: str, outcomes: Sequence[RunOutcome], now: datetime
    ) -> int:
        now_s = now.timestamp()
        firsts = {o.run_id: o for o in reversed(outcomes)}  # one outcome a run: the first
        outcomes = [o for o in outcomes if firsts[o.run_id] is o]
        params = [_finish_values(o, now_s) for o in outcomes]

        def op(conn: sqlite3.Connection) -> tuple[int, Emitted]:
            held = {}  # the runs this worker still held: those the update changed
            for start in range(0, len(params), FINISH_CHUNK):
                chunk = params[start : start + FINISH_CHUNK]
                values = ", ".join(["(?, ?, ?, ?, ?, ?)"] * len(chunk))
                for row in conn.execute(
                    f"WITH v(id, status, result, error, finished_at, available_at) AS "
                    f"(VALUES {values}) UPDATE runs SET status=v.status, result=v.result, "
                    "error=v.error, finished_at=v.finished_at, "
                    "available_at=coalesce(v.available_at, runs.available_at), "
                    "lease_owner=NULL, lease_expires_at=NULL FROM v WHERE runs.id=v.id "
                    "AND runs.lease_owner=? AND runs.status='running' RETURNING runs.id, "
                    "runs.namespace, runs.task, runs.schedule_id, runs.subject, runs.attempts",
                    [*itertools.chain.from_iterable(chunk), worker_id],
                ):
                    held[row[0]] = row
            events = [
                finished_event(held[o.run_id], o.status.value, o.error, p[5])
                for o, p in zip(outcomes, params, strict=True)
                if o.run_id in held
            ]
            return len(held), emit(conn, events, now_s, None)

        if not outcomes:
            return 0
        written: int
        written, emitted = await self._write(op)
        self.emitted(emitted)
        if any(o.status is RunStatus.QUEUED for o in outcomes):
            self.notify("runs")
        return written

    async def reap_expired(self, now: datetime) -> list[Run]:
        now_s = now.timestamp()
        errors = (_codec.LEASE_LOST, _codec.LEASE_LOST_DEAD, _codec.LEASE_LOST_REQUEUED)

        def op(conn: sqlite3.Connection) -> tuple[list[Run], Emitted]:
            rows = conn.execute(_REAP, (*errors, now_s, now_s, now_s)).fetchall()
            reaped = [_codec.run_from_row(r) for r in rows]
            return reaped, emit(conn, [run_event(r) for r in reaped], now_s, None)

        reaped: list[Run]
        reaped, emitted = await self._write(op)
        self.emitted(emitted)
        if any(r.status is RunStatus.QUEUED for r in reaped):
            self.notify("runs")
        return reaped

    async def next_available_at(
        self, queues: Sequence[str] | None = None, tasks: Sequence[str] | None = None
    ) -> datetime | None:
        queue_sql, queue_params = _in("queue", queues)
        task_sql, task_params = _in("task", tasks)
        sql = f"SELECT min(available_at) FROM runs WHERE status='queued'{queue_sql}{task_sql}"

        def op(conn: sqlite3.Connection) -> float | None:
            row = conn.execute(sql, [*queue_params, *task_params]).fetchone()
            return row[0] if row else None

        return _codec.dt(await self._read(op))

    async def get_run(self, run_id: int) -> Run:
        run: Run = await self._read_small(lambda conn: _get_run(conn, run_id))
        return run

    async def list_runs(
        self, filters: RunFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> tuple[list[Run], str | None]:
        f = filters or RunFilter()
        where, params = _run_filter(f)
        if cursor:
            where.append("id < ?")
            params.append(_codec.decode_id_cursor(cursor))
        # runs_status and runs_task hold finished runs only (schema 4): a query that may use
        # them says so in their own words, and the open runs are read through their indexes.
        finished = ("", f" AND {_FINISHED}")
        parts = [("", "")]
        if f.status in _OPEN:
            parts = [_OPEN[f.status]]  # the backlog, sorted (not a walk through all history)
        elif f.status is not None:
            parts = [finished]
        elif f.task is not None:
            parts = [finished, *_OPEN.values()]
        sqls = [
            f"SELECT {RUN_COLUMNS} FROM runs{index} WHERE {' AND '.join(where)}{part} "
            "ORDER BY id DESC LIMIT ?"
            for index, part in parts
        ]

        def op(conn: sqlite3.Connection) -> list[Any]:
            rows = [row for sql in sqls for row in conn.execute(sql, (*params, limit + 1))]
            if len(sqls) > 1:
                rows.sort(key=lambda r: -r[0])
            return rows[: limit + 1]

        rows: list[Any] = await self._read(op)
        items = [_codec.run_from_row(r) for r in rows]
        if len(items) > limit:
            items = items[:limit]
            return items, _codec.encode_cursor(items[-1].id)
        return items, None

    async def cancel_run(self, run_id: int, now: datetime) -> Run:
        def op(conn: sqlite3.Connection) -> tuple[Run, Emitted]:
            run = _get_run(conn, run_id)
            emitted = Emitted()
            if run.status is RunStatus.QUEUED:
                conn.execute(
                    "UPDATE runs SET status='cancelled', finished_at=? WHERE id=?",
                    (now.timestamp(), run_id),
                )
                event = run_event(run, status=RunStatus.CANCELLED, error=None)
                emitted = emit(conn, [event], now.timestamp(), None)
            elif run.status is RunStatus.RUNNING:
                conn.execute("UPDATE runs SET cancel_requested=1 WHERE id=?", (run_id,))
            else:
                raise InvalidRunState(f"run {run_id} is already {run.status.value}")
            return _get_run(conn, run_id), emitted

        run: Run
        run, emitted = await self._write(op)
        self.emitted(emitted)
        return run

    async def retry_run(self, run_id: int, now: datetime) -> Run:
        def op(conn: sqlite3.Connection) -> tuple[Run, Emitted]:
            run = _get_run(conn, run_id)
            if run.status not in (RunStatus.DEAD, RunStatus.FAILED, RunStatus.CANCELLED):
                raise InvalidRunState(
                    f"run {run_id} is {run.status.value}; only dead, failed or cancelled runs "
                    "can be retried"
                )
            conn.execute(
                "UPDATE runs SET status='queued', available_at=?, finished_at=NULL, "
                "max_attempts=attempts+1, cancel_requested=0 WHERE id=?",
                (now.timestamp(), run_id),
            )
            event = run_event(run, status=RunStatus.QUEUED, error=None)
            return _get_run(conn, run_id), emit(conn, [event], now.timestamp(), None)

        run: Run
        run, emitted = await self._write(op)
        self.emitted(emitted)
        self.notify("runs")
        return run

    async def purge_runs(self, finished_before: datetime) -> int:
        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(
                "DELETE FROM runs WHERE finished_at IS NOT NULL AND finished_at < ? "
                "AND status NOT IN ('queued', 'running')",
                (finished_before.timestamp(),),
            ).rowcount

        count: int = await self._write(op)
        return count

    # -- tasks and workers ---------------------------------------------------------------------
    async def register_tasks(self, tasks: dict[str, dict[str, Any]], now: datetime) -> None:
        rows = [(name, _codec.dumps(info), now.timestamp()) for name, info in tasks.items()]
        await self._write(
            lambda conn: conn.executemany(
                "INSERT INTO tasks (name, info, last_seen_at) VALUES (?, ?, ?) ON CONFLICT (name) "
                "DO UPDATE SET info = excluded.info, last_seen_at = excluded.last_seen_at",
                rows,
            )
        )

    async def known_tasks(self) -> dict[str, dict[str, Any]]:
        def op(conn: sqlite3.Connection) -> dict[str, dict[str, Any]]:
            return {n: _codec._loads(i) for n, i in conn.execute("SELECT name, info FROM tasks")}

        tasks: dict[str, dict[str, Any]] = await self._read(op)
        return tasks

    async def register_worker(self, info: WorkerInfo) -> None:
        await self._write(
            lambda conn: conn.execute(
                "INSERT OR REPLACE INTO workers (id, host, pid, queues, concurrency, running, "
                "started_at, last_heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
        await self._write(
            lambda conn: conn.execute(
                "UPDATE workers SET last_heartbeat_at=?, running=? WHERE id=?",
                (now.timestamp(), running, worker_id),
            )
        )

    async def remove_worker(self, worker_id: str) -> None:
        await self._write(lambda conn: conn.execute("DELETE FROM workers WHERE id=?", (worker_id,)))

    async def list_workers(self) -> list[WorkerInfo]:
        def op(conn: sqlite3.Connection) -> list[WorkerInfo]:
            rows = conn.execute(
                "SELECT id, host, pid, queues, concurrency, running, started_at, "
                "last_heartbeat_at FROM workers ORDER BY started_at"
            ).fetchall()
            return [_worker(r) for r in rows]

        workers: list[WorkerInfo] = await self._read(op)
        return workers

    async def stats(self, namespace: str | None = None) -> StoreStats:
        ns_sql = " WHERE namespace = ?" if namespace else ""
        ns = [namespace] if namespace else []

        def op(conn: sqlite3.Connection) -> StoreStats:
            if namespace:
                by_status = dict(
                    conn.execute(f"SELECT status, count(*) FROM runs{ns_sql} GROUP BY status", ns)
                )
            else:  # through the indexes: runs_status (finished), runs_claim, runs_lease
                by_status = dict(
                    conn.execute(
                        f"SELECT status, count(*) FROM runs WHERE {_FINISHED} GROUP BY status"
                    )
                )
                for status, (index, part) in _OPEN.items():
                    count = conn.execute(
                        f"SELECT count(*) FROM runs{index} WHERE 1=1{part}"
                    ).fetchone()[0]
                    if count:
                        by_status[status.value] = count
            total, enabled, parked = conn.execute(
                f"SELECT count(*), coalesce(sum(enabled), 0), coalesce(sum(parked), 0) "
                f"FROM schedules{ns_sql}",
                ns,
            ).fetchone()
            oldest = conn.execute(
                "SELECT min(queued_at) FROM runs WHERE status='queued'"
                + (" AND namespace = ?" if namespace else ""),
                ns,
            ).fetchone()[0]
            workers = conn.execute("SELECT count(*) FROM workers").fetchone()[0]
            return StoreStats(by_status, total, enabled, parked, _codec.dt(oldest), workers)

        stats: StoreStats = await self._read(op)
        return stats


def _release_serial_duplicates(conn: sqlite3.Connection, rows: list[Any]) -> list[Any]:
    """Two runs sharing a serial key claimed in one statement: keep the first, requeue the rest.
    The kept rows (without their serial key), in claim order."""
    keep, seen, release = [], set(), []
    for row in sorted(rows, key=lambda r: (-r[4], r[14], r[0])):
        serial = row[-1]
        if serial is not None and serial in seen:
            release.append((row[0],))
            continue
        if serial is not None:
            seen.add(serial)
        keep.append(row[:-1])
    if release:
        conn.executemany(
            "UPDATE runs SET status='queued', attempts=attempts-1, started_at=NULL, "
            "lease_owner=NULL, worker=NULL, lease_expires_at=NULL WHERE id=?",
            release,
        )
    return keep


def _claimed_event(row: Sequence[Any]) -> Pending:
    """``run.started`` of a claimed run's row (``RUN_COLUMNS``), without decoding the run."""
    error = _codec.loads(row[18]) if row[18] is not None else None
    return lifecycle(row[0], row[1], row[2], row[7], row[5], row[6], row[9], error)


def _finish_values(outcome: RunOutcome, now_s: float) -> tuple[Any, ...]:
    """``(id, status, result, error, finished_at, available_at)`` of an outcome."""
    final = outcome.status is not RunStatus.QUEUED
    return (
        outcome.run_id,
        outcome.status.value,
        _codec.dumps(outcome.result) if outcome.status is RunStatus.SUCCEEDED else None,
        _codec.dumps(outcome.error) if outcome.error is not None else None,
        now_s if final else None,
        _codec.ts(outcome.available_at),
    )


def valid_id(run_id: object) -> bool:
    """Run ids are positive 64-bit integers; anything else cannot exist."""
    return isinstance(run_id, int) and not isinstance(run_id, bool) and 0 < run_id < 2**63


def _get_run(conn: sqlite3.Connection, run_id: int) -> Run:
    if not valid_id(run_id):
        raise RunNotFound(run_id)
    row = conn.execute(f"SELECT {RUN_COLUMNS} FROM runs WHERE id=?", (run_id,)).fetchone()
    if row is None:
        raise RunNotFound(run_id)
    return _codec.run_from_row(row)


def _run_filter(f: RunFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = ["1=1"]
    params: list[Any] = []
    for column, value in (("namespace", f.namespace), ("task", f.task),
                          ("status", f.status.value if f.status else None),
                          ("schedule_id", f.schedule_id), ("subject", f.subject)):  # fmt: skip
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    return where, params


def _worker(row: tuple[Any, ...]) -> WorkerInfo:
    id_, host, pid, queues, concurrency, running, started_at, heartbeat = row
    return WorkerInfo(
        id=id_,
        host=host,
        pid=pid,
        queues=_codec._loads(queues),
        concurrency=concurrency,
        started_at=_codec.dt(started_at) or _codec.dt(0.0),  # type: ignore[arg-type]
        last_heartbeat_at=_codec.dt(heartbeat) or _codec.dt(0.0),  # type: ignore[arg-type]
        running=running,
    )
