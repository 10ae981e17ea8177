"""Per-subject triggers: ``idle`` and ``messages``, and the ``event`` trigger.

They do not fire on a clock: the store evaluates them per subject (``record_activity``,
``publish`` and the scheduler's firing transaction), so `next_after` is always None. Each may
be limited to subjects matching a glob (``user:*``; a pattern without ``*``/``?`` is a prefix).
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar

from agentcron.durations import format_duration
from agentcron.errors import InvalidTrigger
from agentcron.triggers._time import require_aware
from agentcron.triggers._words import duration_words

__all__ = [
    "MAX_SUBJECT_LENGTH",
    "EventTrigger",
    "IdleTrigger",
    "MessagesTrigger",
    "check_event_type",
    "subject_glob",
]

MAX_SUBJECT_LENGTH = 256
_EVENT_TYPE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*$")
_EVENT_PATTERN = re.compile(r"^[a-z0-9_*?]+(\.[a-z0-9_*?]+)*$")


def subject_glob(pattern: str | None) -> str | None:
    """A subject filter as a glob: ``user:`` (no wildcard) means the prefix ``user:*``."""
    if pattern is None or pattern == "":
        return None
    if not isinstance(pattern, str) or len(pattern) > MAX_SUBJECT_LENGTH:
        raise InvalidTrigger("the subject filter must be text of at most 256 characters")
    return pattern if any(c in pattern for c in "*?[") else pattern + "*"


def check_event_type(value: Any, *, pattern: bool = False, field: str = "type") -> str:
    """An event type is a dotted lower-case name (``user.signup``); patterns may use ``*``."""
    regex = _EVENT_PATTERN if pattern else _EVENT_TYPE
    if not isinstance(value, str) or len(value) > 200 or not regex.fullmatch(value):
        what = "an event type pattern" if pattern else "an event type"
        raise InvalidTrigger(
            f"{value!r} is not {what}: dotted lower-case names like 'user.signup'"
            + (" (globs like 'run.*' allowed)" if pattern else ""),
            field=field,
        )
    return value


class _NotTimed:
    @property
    def jitter(self) -> timedelta | None:
        return None

    def next_after(self, after: datetime) -> datetime | None:
        require_aware(after, "after")
        return None


def _for(glob: str | None) -> str:
    return f" for subjects matching {glob}" if glob else " for each subject"


@dataclass(frozen=True)
class IdleTrigger(_NotTimed):
    """Fire once per subject inactive for ``idle``; not again until it was active again;
    never twice within ``cooldown``."""

    idle: timedelta
    cooldown: timedelta | None = None
    subjects: str | None = None
    kind: ClassVar[str] = "idle"

    def __post_init__(self) -> None:
        if self.idle <= timedelta(0):
            raise InvalidTrigger("idle must be greater than 0", field="idle")
        if self.cooldown is not None and self.cooldown < timedelta(0):
            raise InvalidTrigger("cooldown must not be negative", field="cooldown")
        object.__setattr__(self, "subjects", subject_glob(self.subjects))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"idle": format_duration(self.idle)}
        if self.cooldown:
            data["cooldown"] = format_duration(self.cooldown)
        if self.subjects:
            data["subjects"] = self.subjects
        return data

    def describe(self) -> str:
        text = f"when a subject has been idle for {duration_words(self.idle)}"
        if self.cooldown:
            text += f", at most once every {duration_words(self.cooldown)}"
        return text + (_for(self.subjects) if self.subjects else "")


@dataclass(frozen=True)
class MessagesTrigger(_NotTimed):
    """Fire after every ``count`` messages recorded for a subject."""

    count: int
    subjects: str | None = None
    kind: ClassVar[str] = "messages"

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int):
            raise InvalidTrigger("messages must be a whole number", field="messages")
        if not 1 <= self.count <= 1_000_000:
            raise InvalidTrigger("messages must be between 1 and 1000000", field="messages")
        object.__setattr__(self, "subjects", subject_glob(self.subjects))

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"messages": self.count}
        if self.subjects:
            data["subjects"] = self.subjects
        return data

    def describe(self) -> str:
        unit = "message" if self.count == 1 else f"{self.count} messages"
        return f"after every {unit}" + (_for(self.subjects) if self.subjects else " of a subject")


@dataclass(frozen=True)
class EventTrigger(_NotTimed):
    """Fire on each event whose type matches ``pattern`` (a glob like ``run.*``); with
    ``debounce``, once per subject when matching events stop arriving for that long (at the
    latest ``max_wait`` after the first), with all of them as input."""

    pattern: str
    debounce: timedelta | None = None
    max_wait: timedelta | None = None
    subjects: str | None = None
    kind: ClassVar[str] = "event"

    def __post_init__(self) -> None:
        check_event_type(self.pattern, pattern=True, field="event")
        if self.debounce is not None and self.debounce <= timedelta(0):
            raise InvalidTrigger("debounce must be greater than 0", field="debounce")
        if self.max_wait is not None and self.debounce is None:
            raise InvalidTrigger("max_wait needs debounce", field="max_wait")
        if self.max_wait is not None and self.debounce and self.max_wait < self.debounce:
            raise InvalidTrigger("max_wait must not be shorter than debounce", field="max_wait")
        object.__setattr__(self, "subjects", subject_glob(self.subjects))

    def matches(self, event_type: str, subject: str | None) -> bool:
        if not fnmatch.fnmatchcase(event_type, self.pattern):
            return False
        return self.subjects is None or (
            subject is not None and fnmatch.fnmatchcase(subject, self.subjects)
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"event": self.pattern}
        if self.debounce:
            data["debounce"] = format_duration(self.debounce)
        if self.max_wait:
            data["max_wait"] = format_duration(self.max_wait)
        if self.subjects:
            data["subjects"] = self.subjects
        return data

    def describe(self) -> str:
        text = f"on each {self.pattern} event"
        if self.debounce:
            text = (
                f"once {duration_words(self.debounce)} after the last {self.pattern} event of a "
                "subject"
            )
            if self.max_wait:
                text += f" (at most {duration_words(self.max_wait)} after the first)"
        return text + (_for(self.subjects) if self.subjects else "")
