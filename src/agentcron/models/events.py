"""Events: what is published (`NewEvent`) and what is stored (`Event`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentcron.models.shapes import EventOut
from agentcron.models.values import DEFAULT_NAMESPACE, iso

__all__ = ["Event", "NewEvent"]


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to publish (what `Store.publish` takes): a dotted ``type``
    (``user.signup``), a JSON object of ``data``, an optional ``subject``."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    subject: str | None = None
    namespace: str = DEFAULT_NAMESPACE


@dataclass(frozen=True, slots=True)
class Event:
    """A stored event. Ids grow with each event published (a subscriber's cursor)."""

    id: int
    type: str
    namespace: str
    subject: str | None
    data: dict[str, Any]
    created_at: datetime

    def to_dict(self) -> EventOut:
        """The REST / SSE / bridge shape (also what a fired run's trigger info holds)."""
        return {
            "id": self.id,
            "type": self.type,
            "namespace": self.namespace,
            "subject": self.subject,
            "data": self.data,
            "created_at": iso(self.created_at),
        }
