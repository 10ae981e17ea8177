"""Registry verbs of `App`: the tasks runs may name, the workers, API tokens, counts, and the
schema (what the API's admin routes, ``/healthz``, ``/metrics`` and the CLI read)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from agentcron._known import recorded_task
from agentcron.app.base import AppBase
from agentcron.auth import hash_secret, new_token
from agentcron.models import ApiToken, TaskOut, WorkerInfo
from agentcron.store import StoreStats, WriteFailure

__all__ = ["RegistryVerbs"]


class RegistryVerbs(AppBase):
    """Tasks, workers, tokens, stats, schema."""

    async def list_tasks(self) -> list[TaskOut]:
        """The tasks runs and schedules may name, by name: those registered in this process,
        and those other processes (workers) recorded in the store."""
        recorded = await self.store.known_tasks()
        tasks = {name: recorded_task(name, info) for name, info in recorded.items()}
        for task in self.registry:
            tasks[task.name] = task.to_dict()
        return [tasks[name] for name in sorted(tasks)]

    async def list_workers(self) -> list[WorkerInfo]:
        """Every registered worker process (those whose heartbeats stopped too, until the
        maintenance task removes them)."""
        return await self.store.list_workers()

    async def check_writes(self, probe_after_s: float = 5.0) -> WriteFailure | None:
        """Whether the store can write (`agentcron.store.base.Store.check_writes`): None, or
        the failure of its latest write attempt (for ``/healthz`` and ``agentcron health``)."""
        return await self.store.check_writes(probe_after_s)

    def outage(self) -> str | None:
        """Why the store is known to be unreachable right now, or None (no I/O)."""
        return self.store.outage()

    async def stats(self, namespace: str | None = None) -> StoreStats:
        """Counts of runs by status, schedules (enabled, parked) and workers, and the oldest
        queued run, in ``namespace`` (None: all)."""
        return await self.store.stats(namespace)

    # -- API tokens (see agentcron.auth) ----------------------------------------------------------
    async def create_token(
        self, *, scope: Any, namespaces: Iterable[Any], name: str | None = None
    ) -> tuple[ApiToken, str]:
        """Store a new API token; return it and its secret, which is shown only now (the
        store keeps its SHA-256). Raises `ValidationError` naming ``scope``, ``namespaces``
        or ``name``."""
        token, secret = new_token(
            scope=scope, namespaces=namespaces, name=name, now=self.clock.now()
        )
        await self.store.add_token(token, hash_secret(secret))
        return token, secret

    async def list_tokens(self) -> list[ApiToken]:
        """Every token, revoked ones too, oldest first (never a secret)."""
        return await self.store.list_tokens()

    async def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke a token (the first revocation time stays). Raises `TokenNotFound`."""
        return await self.store.revoke_token(token_id, self.clock.now())

    async def has_tokens(self) -> bool:
        """Whether an unrevoked token exists (then the API requires one in ``auto`` mode)."""
        return await self.store.has_tokens()

    async def find_token(self, token_hash: str) -> ApiToken | None:
        """The token whose secret hashes to ``token_hash`` (`agentcron.auth.hash_secret`),
        revoked ones too, or None."""
        return await self.store.find_token(token_hash)

    async def touch_token(self, token_id: str, now: datetime) -> None:
        """Record that the token was used at ``now``."""
        await self.store.touch_token(token_id, now)

    # -- schema ------------------------------------------------------------------------------------
    async def upgrade(self) -> tuple[list[str], int]:
        """Apply the schema migrations still pending (opening applies them already): the
        migrations applied since the store opened, and the schema version now."""
        applied = self.store.applied_migrations + await self.store.migrate()
        return applied, await self.store.schema_version()
