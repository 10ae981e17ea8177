"""What the store records about processes and access: workers (`WorkerInfo`) and API tokens
(`ApiToken`; checking them is `agentcron.auth`'s)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agentcron.models.shapes import TokenOut, WorkerInfoOut
from agentcron.models.values import Scope, iso

__all__ = ["ApiToken", "WorkerInfo"]


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    id: str
    host: str
    pid: int
    queues: list[str]
    concurrency: int
    started_at: datetime
    last_heartbeat_at: datetime
    running: int = 0

    def to_dict(self) -> WorkerInfoOut:
        return {
            "id": self.id,
            "host": self.host,
            "pid": self.pid,
            "queues": list(self.queues),
            "concurrency": self.concurrency,
            "started_at": iso(self.started_at),
            "last_heartbeat_at": iso(self.last_heartbeat_at),
            "running": self.running,
        }


@dataclass(frozen=True, slots=True)
class ApiToken:
    """A stored API token (never its secret: the store keeps only its hash)."""

    id: str
    name: str
    scope: Scope
    namespaces: tuple[str, ...]
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> TokenOut:
        return {
            "id": self.id,
            "name": self.name,
            "scope": self.scope,
            "namespaces": list(self.namespaces),
            "created_at": iso(self.created_at),
            "last_used_at": iso(self.last_used_at),
            "revoked_at": iso(self.revoked_at),
        }
