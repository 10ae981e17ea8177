"""API token verbs (contract: `agentcron.store.base.Store`, "API tokens"). Only the SHA-256
of a token's secret is stored; the secret itself is shown once, when the token is made."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agentcron.errors import TokenNotFound
from agentcron.models import ApiToken, Scope
from agentcron.store import _codec
from agentcron.store.core.ops import CoreOps
from agentcron.store.db import Row, Tx

__all__ = ["TokenVerbs"]

_COLUMNS = "id, name, scope, namespaces, created_at, last_used_at, revoked_at"
_INSERT = f"INSERT INTO tokens ({_COLUMNS}, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_BY_HASH = f"SELECT {_COLUMNS} FROM tokens WHERE hash = ?"
_BY_ID = f"SELECT {_COLUMNS} FROM tokens WHERE id = ?"
_ALL = f"SELECT {_COLUMNS} FROM tokens ORDER BY created_at, id"
_REVOKE = "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"
_TOUCH = "UPDATE tokens SET last_used_at = ? WHERE id = ?"
_ANY_ACTIVE = "SELECT 1 FROM tokens WHERE revoked_at IS NULL LIMIT 1"


class TokenVerbs(CoreOps):
    async def add_token(self, token: ApiToken, token_hash: str) -> None:
        async def op(tx: Tx) -> None:
            await tx.execute(_INSERT, (*_params(token), token_hash))

        await self.write(op)

    async def find_token(self, token_hash: str) -> ApiToken | None:
        async def op(tx: Tx) -> ApiToken | None:
            row = await tx.one(_BY_HASH, (token_hash,))
            return _token(row) if row else None

        return await self.read(op, small=True)

    async def list_tokens(self) -> list[ApiToken]:
        async def op(tx: Tx) -> list[ApiToken]:
            return [_token(row) for row in await tx.all(_ALL)]

        return await self.read(op)

    async def revoke_token(self, token_id: str, now: datetime) -> ApiToken:
        async def op(tx: Tx) -> ApiToken:
            await tx.execute(_REVOKE, (now.timestamp(), token_id))
            row = await tx.one(_BY_ID, (token_id,))
            if row is None:
                raise TokenNotFound(token_id)
            return _token(row)

        return await self.write(op)

    async def touch_token(self, token_id: str, now: datetime) -> None:
        async def op(tx: Tx) -> None:
            await tx.execute(_TOUCH, (now.timestamp(), token_id))

        await self.write(op)

    async def has_tokens(self) -> bool:
        async def op(tx: Tx) -> bool:
            return await tx.one(_ANY_ACTIVE) is not None

        return await self.read(op)


def _params(token: ApiToken) -> tuple[Any, ...]:
    return (
        token.id,
        token.name,
        token.scope.value,
        _codec.dumps(list(token.namespaces)),
        token.created_at.timestamp(),
        _codec.ts(token.last_used_at),
        _codec.ts(token.revoked_at),
    )


def _token(row: Row) -> ApiToken:
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
