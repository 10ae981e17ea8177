"""A PostgreSQL transaction as the shared algorithms see it (`agentcron.store.db.Tx`):
``?`` placeholders become psycopg's ``%s`` (a literal ``%`` is escaped), once per text."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

import psycopg

from agentcron.store.db import POSTGRES, Dialect, Row

__all__ = ["PgTx", "pg_sql"]


@functools.lru_cache(maxsize=1024)
def pg_sql(sql: str) -> str:
    """``sql`` with ``?`` placeholders, in psycopg's format."""
    return sql.replace("%", "%%").replace("?", "%s")


class PgTx:
    __slots__ = ("conn",)
    dialect: Dialect = POSTGRES

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        cur = await self.conn.execute(pg_sql(sql), params)
        return cur.rowcount

    async def one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        cur = await self.conn.execute(pg_sql(sql), params)
        row: Row | None = await cur.fetchone()
        return row

    async def all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        cur = await self.conn.execute(pg_sql(sql), params)
        return await cur.fetchall()

    async def many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        async with self.conn.cursor() as cur:
            await cur.executemany(pg_sql(sql), rows)
