"""Task and worker registry and stats of the SQLite store (contract:
`agentcron.store.base.Store`), kept as they were until they are written once."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from agentcron.models import RunStatus, WorkerInfo
from agentcron.store import _codec
from agentcron.store._ops import SqliteOps as _Ops
from agentcron.store.base import StoreStats

__all__ = ["RegistryVerbs", "worker_info", "worker_params"]

# The condition of the partial indexes runs_status and runs_task (schema 4).
_FINISHED = "status NOT IN ('queued', 'running')"
_OPEN = {  # the runs the indexes above leave out, each through its own partial index
    RunStatus.QUEUED: (" INDEXED BY runs_claim", " AND status = 'queued'"),
    RunStatus.RUNNING: (" INDEXED BY runs_lease", " AND status = 'running'"),
}


class RegistryVerbs(_Ops):
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
                worker_params(info),
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
            return [worker_info(r) for r in rows]

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


def worker_params(info: WorkerInfo) -> tuple[Any, ...]:
    """The ``workers`` row of ``info``, in column order."""
    return (
        info.id, info.host, info.pid, _codec.dumps(info.queues), info.concurrency,
        info.running, info.started_at.timestamp(), info.last_heartbeat_at.timestamp(),
    )  # fmt: skip


def worker_info(row: tuple[Any, ...]) -> WorkerInfo:
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
