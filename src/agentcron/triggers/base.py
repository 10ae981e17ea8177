"""The `Trigger` protocol and its stored form.

A trigger answers one question, "when do I fire next after this instant?", and describes
itself: `to_dict` gives the normalized object (the same JSON the object form of
`parse_trigger` accepts) and `describe` a sentence for people. What is persisted is
`to_stored(trigger)`: the normalized object plus ``"version": 1``, read back by
`agentcron.triggers.objects.trigger_from_dict`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

__all__ = ["STORED_VERSION", "Trigger", "to_stored"]

STORED_VERSION = 1


@runtime_checkable
class Trigger(Protocol):
    """When a schedule fires."""

    @property
    def kind(self) -> str:
        """``"cron"``, ``"interval"``, ``"date"`` or ``"manual"``."""
        ...

    @property
    def jitter(self) -> timedelta | None:
        """Random delay of up to this much for each run (applied by the scheduler)."""
        ...

    def next_after(self, after: datetime) -> datetime | None:
        """The first fire time STRICTLY after ``after`` (aware, any zone), as aware UTC.

        None when the trigger will never fire again. Implementations guarantee the result
        is greater than ``after``, so a loop ``t = trigger.next_after(t)`` always advances.
        A naive ``after`` is a programming error (`ValueError`).
        """
        ...

    def to_dict(self) -> dict[str, Any]:
        """The normalized object, JSON-safe, without ``"version"``."""
        ...

    def describe(self) -> str:
        """A human description: ``every 5 minutes``, ``only on demand``."""
        ...


def to_stored(trigger: Trigger) -> dict[str, Any]:
    """The persisted form: ``{"version": 1, **trigger.to_dict()}``."""
    return {"version": STORED_VERSION, **trigger.to_dict()}
