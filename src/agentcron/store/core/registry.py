"""The registry: tasks that processes registered, live workers, and the counts `stats`
reports (contract: `agentcron.store.base.Store`, "workers, tasks, stats")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentcron.models import WorkerInfo
from agentcron.store import _codec
from agentcron.store.base import StoreStats
from agentcron.store.core.ops import CoreOps
from agentcron.store.db import Row, Tx

__all__ = ["RegistryVerbs"]

_TASK_UPSERT = (
    "INSERT INTO tasks (name, info, last_seen_at) VALUES (?, ?, ?) ON CONFLICT (name) "
    "DO UPDATE SET info = excluded.info, last_seen_at = excluded.last_seen_at"
)
_TASKS = "SELECT name, info FROM tasks"
_WORKER_COLUMNS = "id, host, pid, queues, concurrency, running, started_at, last_heartbeat_at"
_WORKER_UPSERT = (
    f"INSERT INTO workers ({_WORKER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, "
    "queues = excluded.queues, concurrency = excluded.concurrency, running = excluded.running, "
    "started_at = excluded.started_at, last_heartbeat_at = excluded.last_heartbeat_at"
)
_HEARTBEAT = "UPDATE workers SET last_heartbeat_at = ?, running = ? WHERE id = ?"
_REMOVE_WORKER = "DELETE FROM workers WHERE id = ?"
_WORKERS = f"SELECT {_WORKER_COLUMNS} FROM workers ORDER BY started_at"
# Runs by status, each part through its partial index (schema 4): runs_status holds the
# finished runs, runs_claim the queued ones, runs_lease the running ones; never a table scan.
_BY_STATUS = (
    "SELECT status, count(*) FROM runs WHERE status NOT IN ('queued', 'running') "
    "GROUP BY status "
    "UNION ALL SELECT 'queued', count(*) FROM runs WHERE status = 'queued' "
    "UNION ALL SELECT 'running', count(*) FROM runs WHERE status = 'running'"
)
_BY_STATUS_IN = "SELECT status, count(*) FROM runs WHERE namespace = ? GROUP BY status"
# The rest in one statement: schedules (all, enabled, parked), the oldest queued run, workers.
_COUNTS = (
    "SELECT count(*), count(CASE WHEN enabled THEN 1 END), count(CASE WHEN parked THEN 1 END), "
    "(SELECT min(queued_at) FROM runs WHERE status = 'queued'{ns}), "
    "(SELECT count(*) FROM workers) FROM schedules{where}"
)
_COUNTS_ALL = _COUNTS.format(ns="", where="")
_COUNTS_IN = _COUNTS.format(ns=" AND namespace = ?", where=" WHERE namespace = ?")


class RegistryVerbs(CoreOps):
    async def register_tasks(self, tasks: dict[str, dict[str, Any]], now: datetime) -> None:
        now_s = now.timestamp()
        # in name order: two processes registering at once lock the rows in the same order
        rows = [(name, _codec.dumps(info), now_s) for name, info in sorted(tasks.items())]

        async def op(tx: Tx) -> None:
            await tx.many(_TASK_UPSERT, rows)

        await self.write(op)

    async def known_tasks(self) -> dict[str, dict[str, Any]]:
        async def op(tx: Tx) -> dict[str, dict[str, Any]]:
            return {name: _codec.loads(info) for name, info in await tx.all(_TASKS)}

        return await self.read(op)

    async def register_worker(self, info: WorkerInfo) -> None:
        params = (
            info.id, info.host, info.pid, _codec.dumps(info.queues), info.concurrency,
            info.running, info.started_at.timestamp(), info.last_heartbeat_at.timestamp(),
        )  # fmt: skip

        async def op(tx: Tx) -> None:
            await tx.execute(_WORKER_UPSERT, params)

        await self.write(op)

    async def heartbeat_worker(self, worker_id: str, now: datetime, running: int) -> None:
        async def op(tx: Tx) -> None:
            await tx.execute(_HEARTBEAT, (now.timestamp(), running, worker_id))

        await self.write(op, durable=False)  # a lost heartbeat is sent again in seconds

    async def remove_worker(self, worker_id: str) -> None:
        async def op(tx: Tx) -> None:
            await tx.execute(_REMOVE_WORKER, (worker_id,))

        await self.write(op)

    async def list_workers(self) -> list[WorkerInfo]:
        async def op(tx: Tx) -> list[WorkerInfo]:
            return [_worker(row) for row in await tx.all(_WORKERS)]

        return await self.read(op)

    async def stats(self, namespace: str | None = None) -> StoreStats:
        async def op(tx: Tx) -> StoreStats:
            if namespace:
                by_status = await tx.all(_BY_STATUS_IN, (namespace,))
                row = await tx.one(_COUNTS_IN, (namespace, namespace))
            else:
                by_status = await tx.all(_BY_STATUS)
                row = await tx.one(_COUNTS_ALL)
            assert row is not None  # an aggregate has a row
            total, enabled, parked, oldest, workers = row
            counts = {status: count for status, count in by_status if count}
            return StoreStats(counts, total, enabled, parked, _codec.dt(oldest), workers)

        return await self.read(op)


def _worker(row: Row) -> WorkerInfo:
    worker_id, host, pid, queues, concurrency, running, started_s, heartbeat_s = row
    return WorkerInfo(
        id=worker_id,
        host=host,
        pid=pid,
        queues=_codec.loads(queues),
        concurrency=concurrency,
        started_at=datetime.fromtimestamp(started_s, UTC),
        last_heartbeat_at=datetime.fromtimestamp(heartbeat_s, UTC),
        running=running,
    )
