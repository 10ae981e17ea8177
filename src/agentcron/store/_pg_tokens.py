"""API token verbs of the PostgreSQL store (contract: `agentcron.store.base.Store`)."""

from __future__ import annotations

from datetime import datetime

from agentcron.errors import TokenNotFound
from agentcron.models import ApiToken
from agentcron.store._ops import PgOps as _PgOps
from agentcron.store._pg_helpers import Conn, fetchall, fetchone
from agentcron.store._sqlite_tokens import TOKEN_COLUMNS, token_from_row, token_params

_INSERT = (
    f"INSERT INTO tokens ({TOKEN_COLUMNS}, hash) VALUES (%s, %s, %s, %s::jsonb, %s, %s, %s, %s)"
)


class PgTokenVerbs(_PgOps):
    async def add_token(self, token: ApiToken, token_hash: str) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute(_INSERT, (*token_params(token), token_hash))

        await self._tx(op)

    async def find_token(self, token_hash: str) -> ApiToken | None:
        async def op(conn: Conn) -> ApiToken | None:
            row = await fetchone(
                conn, f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = %s", (token_hash,)
            )
            return token_from_row(row) if row else None

        return await self._tx(op)

    async def list_tokens(self) -> list[ApiToken]:
        async def op(conn: Conn) -> list[ApiToken]:
            rows = await fetchall(
                conn, f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id"
            )
            return [token_from_row(r) for r in rows]

        return await self._tx(op)

    async def revoke_token(self, token_id: str, now: datetime) -> ApiToken:
        async def op(conn: Conn) -> ApiToken:
            await conn.execute(
                "UPDATE tokens SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL",
                (now.timestamp(), token_id),
            )
            row = await fetchone(
                conn, f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = %s", (token_id,)
            )
            if row is None:
                raise TokenNotFound(token_id)
            return token_from_row(row)

        return await self._tx(op)

    async def touch_token(self, token_id: str, now: datetime) -> None:
        async def op(conn: Conn) -> None:
            await conn.execute(
                "UPDATE tokens SET last_used_at = %s WHERE id = %s", (now.timestamp(), token_id)
            )

        await self._tx(op)

    async def has_tokens(self) -> bool:
        async def op(conn: Conn) -> bool:
            row = await fetchone(conn, "SELECT 1 FROM tokens WHERE revoked_at IS NULL LIMIT 1")
            return row is not None

        return await self._tx(op)
