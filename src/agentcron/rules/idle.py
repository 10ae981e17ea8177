"""Idle and messages triggers: what one evaluation of a per-subject schedule does.

An idle schedule fires once per subject when the subject has been inactive for ``idle``
(not again until it was active again, never twice within ``cooldown``); a messages schedule
fires once per multiple of N messages. The store reads the due subjects and their marks (what
the last fire answered), asks `plan_idle` / `plan_messages`, and writes the plan.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from agentcron.durations import parse_duration

__all__ = [
    "MAX_MULTIPLES",
    "IdlePlan",
    "IdleWatermark",
    "MessagesPlan",
    "cooldown_s",
    "crossed_multiples",
    "earliest",
    "idle_action",
    "plan_idle",
    "plan_messages",
]

MAX_MULTIPLES = 100
"""A messages schedule fires at most this many runs (the newest multiples) per subject at once."""

Mark = tuple[float | None, float | None]
"""A subject's mark of an idle schedule: the activity its last fire answered, and when."""


def idle_action(
    now_s: float,
    idle_s: float,
    cooldown_s: float | None,
    last_activity_s: float | None,
    answered_s: float | None,
    fired_s: float | None,
) -> tuple[str, float | None]:
    """What an idle schedule does for one subject at ``now_s`` (Unix seconds).

    ``answered_s``: the activity its last fire answered; ``fired_s``: when that was. Returns
    ``("fire", slot)`` (slot: when the subject became idle), ``("defer", due)`` (idle, but
    the cooldown since the last fire runs until ``due``), ``("wait", None)`` (active again,
    not idle yet) or ``("done", None)`` (this activity was answered, or the subject is gone).
    """
    if last_activity_s is None:
        return "done", None
    if last_activity_s + idle_s > now_s:
        return "wait", None
    if answered_s is not None and last_activity_s <= answered_s:
        return "done", None
    if cooldown_s and fired_s is not None and fired_s + cooldown_s > now_s:
        return "defer", fired_s + cooldown_s
    return "fire", last_activity_s + idle_s


def crossed_multiples(answered: int, count: int, every: int) -> list[int]:
    """The multiples of ``every`` in ``(answered, count]``: the message counts to fire for
    (the newest `MAX_MULTIPLES`)."""
    first, last = answered // every + 1, count // every
    return [k * every for k in range(max(first, last - MAX_MULTIPLES + 1), last + 1)]


def cooldown_s(trigger: Mapping[str, Any]) -> float | None:
    """The ``cooldown`` of an idle trigger in seconds (None: none)."""
    value = trigger.get("cooldown")
    return parse_duration(value).total_seconds() if value else None


def earliest(*times: float | None) -> float | None:
    """The earliest of ``times`` that are set (None: none is)."""
    known = [t for t in times if t is not None]
    return min(known) if known else None


@dataclass
class IdleWatermark:
    """How far an idle schedule has looked: every subject whose ``last_activity_at`` is below
    ``activity`` (or equal to it, with a name up to ``after``) was evaluated. Kept in the
    schedule's ``state`` as ``{"idle_activity": ..., "idle_after": ...}``; missing means the
    schedule has looked at nothing yet (`record_activity` sets it at the first activity)."""

    activity: float | None
    after: str | None
    state: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, state: Any) -> IdleWatermark:
        """The watermark in a schedule's decoded ``state`` (anything else: none)."""
        if not isinstance(state, dict):
            state = {}
        return cls(state.get("idle_activity"), state.get("idle_after"), state)

    def dump(self) -> dict[str, Any]:
        """The schedule's ``state`` with this watermark."""
        return {**self.state, "version": 1, "idle_activity": self.activity,
                "idle_after": self.after}  # fmt: skip

    def advance(self, due: list[tuple[str, float]], batch: int, upto: float) -> None:
        """Past the subjects ``due`` (read in order, at most ``batch``): to the last of them
        when the batch was full (more are left), else to ``upto``."""
        if len(due) == batch:
            self.activity, self.after = due[-1][1], due[-1][0]
        else:
            self.activity, self.after = upto, None


@dataclass
class IdlePlan:
    """One idle evaluation: the subjects to fire for (with the slot and the activity that
    made them idle), the marks to defer (to when), and the marks whose due time to clear."""

    fire: list[tuple[str, float, float]] = field(default_factory=list)  # subject, slot, activity
    defer: dict[str, float] = field(default_factory=dict)
    clear: list[str] = field(default_factory=list)


def plan_idle(
    now_s: float,
    idle_s: float,
    cooldown: float | None,
    subjects: Iterable[tuple[str, float | None, Mark | None]],
) -> IdlePlan:
    """What an idle schedule does for ``subjects`` (name, last activity, mark or None)."""
    plan = IdlePlan()
    for subject, activity, mark in subjects:
        answered, fired = mark if mark is not None else (None, None)
        action, when = idle_action(now_s, idle_s, cooldown, activity, answered, fired)
        if action == "fire" and when is not None and activity is not None:
            plan.fire.append((subject, when, activity))
        elif action == "defer" and when is not None:
            plan.defer[subject] = when
        elif mark is not None:
            plan.clear.append(subject)
    return plan


@dataclass
class MessagesPlan:
    """One messages evaluation: the runs to fire (subject, slot, count reached) and the count
    each subject's mark now answers."""

    fire: list[tuple[str, float, int]] = field(default_factory=list)
    answered: dict[str, int] = field(default_factory=dict)


def plan_messages(
    every_n: int, marks: Iterable[tuple[str, int, float, int | None]]
) -> MessagesPlan:
    """What a messages schedule does for its due ``marks`` (subject, count answered, due at,
    the subject's message count)."""
    plan = MessagesPlan()
    for subject, answered, due_at, count in marks:
        counts = crossed_multiples(int(answered), int(count or 0), every_n)
        plan.fire += [(subject, due_at, reached) for reached in counts]
        plan.answered[subject] = counts[-1] if counts else int(answered)
    return plan
