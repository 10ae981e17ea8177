"""API token verbs of the SQLite store (contract: `agentcron.store.base.Store`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from agentcron.errors import TokenNotFound
from agentcron.models import ApiToken, Scope
from agentcron.store import _codec
from agentcron.store._ops import SqliteOps as _Ops

TOKEN_COLUMNS = "id, name, scope, namespaces, created_at, last_used_at, revoked_at"


class TokenVerbs(_Ops):
    async def add_token(self, token: ApiToken, token_hash: str) -> None:
        await self._write(
            lambda conn: conn.execute(
                f"INSERT INTO tokens ({TOKEN_COLUMNS}, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*token_params(token), token_hash),
            )
        )

    async def find_token(self, token_hash: str) -> ApiToken | None:
        def op(conn: sqlite3.Connection) -> ApiToken | None:
            row = conn.execute(
                f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?", (token_hash,)
            ).fetchone()
            return token_from_row(row) if row else None

        token: ApiToken | None = await self._read_small(op)
        return token

    async def list_tokens(self) -> list[ApiToken]:
        def op(conn: sqlite3.Connection) -> list[ApiToken]:
            rows = conn.execute(f"SELECT {TOKEN_COLUMNS} FROM tokens ORDER BY created_at, id")
            return [token_from_row(r) for r in rows]

        tokens: list[ApiToken] = await self._read(op)
        return tokens

    async def revoke_token(self, token_id: str, now: datetime) -> ApiToken:
        def op(conn: sqlite3.Connection) -> ApiToken:
            conn.execute(
                "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now.timestamp(), token_id),
            )
            row = conn.execute(
                f"SELECT {TOKEN_COLUMNS} FROM tokens WHERE id = ?", (token_id,)
            ).fetchone()
            if row is None:
                raise TokenNotFound(token_id)
            return token_from_row(row)

        token: ApiToken = await self._write(op)
        return token

    async def touch_token(self, token_id: str, now: datetime) -> None:
        await self._write(
            lambda conn: conn.execute(
                "UPDATE tokens SET last_used_at = ? WHERE id = ?", (now.timestamp(), token_id)
            )
        )

    async def has_tokens(self) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT 1 FROM tokens WHERE revoked_at IS NULL LIMIT 1").fetchone()
            return row is not None

        found: bool = await self._read(op)
        return found


def token_params(token: ApiToken) -> tuple[Any, ...]:
    return (
        token.id,
        token.name,
        token.scope.value,
        _codec.dumps(list(token.namespaces)),
        token.created_at.timestamp(),
        _codec.ts(token.last_used_at),
        _codec.ts(token.revoked_at),
    )


def token_from_row(row: tuple[Any, ...] | Any) -> ApiToken:
    id_, name, scope, namespaces, created_at, last_used_at, revoked_at = row
    return ApiToken(
        id=id_,
        name=name,
        scope=Scope(scope),
        namespaces=tuple(_codec.loads(namespaces)),
        created_at=_codec.dt(created_at),  # type: ignore[arg-type]
        last_used_at=_codec.dt(last_used_at),
        revoked_at=_codec.dt(revoked_at),
    )
