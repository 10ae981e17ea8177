"""Manual trigger: never fires by itself; runs only when asked for."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from agentcron.triggers._time import require_aware

__all__ = ["ManualTrigger"]


@dataclass(frozen=True)
class ManualTrigger:
    """Only on demand: `next_after` is always None."""

    kind: ClassVar[str] = "manual"

    @property
    def jitter(self) -> timedelta | None:
        return None

    def next_after(self, after: datetime) -> datetime | None:
        require_aware(after, "after")
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"manual": True}

    def describe(self) -> str:
        return "only on demand"
