"""Durable waits: how a wait whose time came ends, which event ends an event wait, and how
far a wait's event cursor may move (pure: rows and ``now`` in, decisions out)."""

from __future__ import annotations

import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["EventRow", "StepEnd", "event_cursor", "matching_event", "timed_out_wait"]

EventRow = tuple[int, str, str | None, Any, float]
"""An event as the store reads it: ``(id, type, subject, data, created_at)``."""


@dataclass(frozen=True, slots=True)
class StepEnd:
    """How a wait's step ends: ``succeeded`` (with ``result``) or ``failed`` (``error``)."""

    status: str
    result: Any = None
    error: dict[str, Any] | None = None


def timed_out_wait(waiting: dict[str, Any]) -> StepEnd:
    """The end of a wait whose ``wake_at`` came: a sleep is done; a signal or event wait
    timed out (`agentcron.WaitTimeout`)."""
    kind = waiting.get("kind")
    if kind == "sleep":
        return StepEnd("succeeded")
    what = (
        f"signal {waiting.get('name')!r}"
        if kind == "signal"
        else f"event {waiting.get('pattern')!r}"
    )
    error = {"type": "WaitTimeout", "message": f"no {what} came before the wait's timeout"}
    return StepEnd("failed", error=error)


def matching_event(waiting: dict[str, Any], events: Sequence[EventRow]) -> EventRow | None:
    """The first of ``events`` (by id, all after the wait's cursor, in its namespace) that the
    event wait ``waiting`` takes: its type matches the glob ``pattern`` and, when the wait
    names a ``subject``, it is about that subject."""
    subject = waiting.get("subject")
    for event in events:
        if fnmatch.fnmatchcase(event[1], waiting["pattern"]) and (
            subject is None or event[2] == subject
        ):
            return event
    return None


def event_cursor(after: int, events: Sequence[EventRow], now_s: float, settled_s: float) -> int:
    """How far an event wait's cursor may move past ``events`` (read after ``after``, by id,
    none matching): over the leading events older than ``settled_s``, which are surely all
    committed (on PostgreSQL an id is taken at insert and visible at commit, so a smaller
    id may still appear among recent ones)."""
    cursor = after
    for event in events:
        if event[4] >= now_s - settled_s:
            break
        cursor = event[0]
    return cursor
