"""Task and worker registry and stats of the PostgreSQL store (contract:
`agentcron.store.base.Store`), kept as they were until they are written once."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentcron.models import WorkerInfo
from agentcron.store import _codec
from agentcron.store._ops import PgOps as _PgOps
from agentcron.store._pg_helpers import Conn, fetchall, fetchone
from agentcron.store._sqlite_registry import worker_info, worker_params
from agentcron.store.base import StoreStats

__all__ = ["PgRegistryVerbs"]


class PgRegistryVerbs(_PgOps):
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
                worker_params(info),
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
            return [worker_info(r) for r in rows]

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
