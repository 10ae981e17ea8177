"""Date trigger: fire once, at one instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from agentcron.triggers._time import aware_field, format_instant, require_aware
from agentcron.triggers._words import instant_words

__all__ = ["DateTrigger"]


@dataclass(frozen=True)
class DateTrigger:
    """Fire once at ``at``. Whether ``at`` is in the past is for the caller to judge."""

    at: datetime
    kind: ClassVar[str] = "date"

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", aware_field(self.at, "at"))

    @property
    def jitter(self) -> timedelta | None:
        return None

    def next_after(self, after: datetime) -> datetime | None:
        return self.at if self.at > require_aware(after, "after") else None

    def to_dict(self) -> dict[str, Any]:
        return {"at": format_instant(self.at)}

    def describe(self) -> str:
        return f"once at {instant_words(self.at)}"
