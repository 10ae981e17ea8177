"""String and object forms of the per-subject and event triggers.

idle 30m                          {"idle": "30m"}
idle 30m cooldown 2h for user:*   {"idle": "30m", "cooldown": "2h", "subjects": "user:*"}
after 20 messages                 {"messages": 20}
on user.signup                    {"event": "user.signup"}
on run.*                          {"event": "run.*"}
on user.message debounce 30s max 5m
                                  {"event": "user.message", "debounce": "30s", "max_wait": "5m"}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from agentcron.errors import InvalidTrigger, TriggerNotUnderstood
from agentcron.triggers._context import ParseContext, read_duration
from agentcron.triggers.subject import EventTrigger, IdleTrigger, MessagesTrigger

if TYPE_CHECKING:
    from agentcron.triggers.base import Trigger

__all__ = [
    "OBJECT_READERS",
    "read_event_string",
    "read_idle_string",
    "read_messages_string",
]

_FLAGS = re.IGNORECASE | re.DOTALL
_FOR = r"(?:\s+for\s+(?:subjects?\s+)?(?P<subjects>\S+))?"
_IDLE = re.compile(r"idle\s+(?P<idle>\S+)(?:\s+cooldown\s+(?P<cooldown>\S+))?" + _FOR, _FLAGS)
_MESSAGES = re.compile(r"after\s+(?:every\s+)?(?P<count>\S+)\s+messages?" + _FOR, _FLAGS)
_EVENT = re.compile(
    r"on\s+(?P<event>\S+)(?:\s+debounce\s+(?P<debounce>\S+)"
    r"(?:\s+max(?:_wait)?\s+(?P<max>\S+))?)?" + _FOR,
    _FLAGS,
)


def read_idle_string(text: str, ctx: ParseContext) -> IdleTrigger | None:
    if not text.lower().startswith("idle "):
        return None
    match = _IDLE.fullmatch(text)
    if match is None:
        raise TriggerNotUnderstood(
            f"could not read {text!r}: try 'idle 30m' or 'idle 30m cooldown 2h'"
        )
    cooldown = match["cooldown"]
    return IdleTrigger(
        read_duration(match["idle"], "idle"),
        read_duration(cooldown, "cooldown") if cooldown else None,
        match["subjects"],
    )


def read_messages_string(text: str, ctx: ParseContext) -> MessagesTrigger | None:
    match = _MESSAGES.fullmatch(text)
    if match is None:
        return None
    return MessagesTrigger(_count(match["count"]), match["subjects"])


def read_event_string(text: str, ctx: ParseContext) -> EventTrigger | None:
    if not text.lower().startswith("on ") or _looks_like_a_day(text):
        return None
    match = _EVENT.fullmatch(text)
    if match is None:
        raise TriggerNotUnderstood(
            f"could not read {text!r}: try 'on user.signup' or "
            "'on user.message debounce 30s max 5m'"
        )
    debounce, longest = match["debounce"], match["max"]
    return EventTrigger(
        match["event"],
        read_duration(debounce, "debounce") if debounce else None,
        read_duration(longest, "max_wait") if longest else None,
        match["subjects"],
    )


def _looks_like_a_day(text: str) -> bool:
    """``on weekdays at 9``, ``on 2026-12-01 at 9``: natural language, not an event."""
    word = text.split()[1].lower() if len(text.split()) > 1 else ""
    return "." not in word and "*" not in word


def _count(value: Any) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise InvalidTrigger(f"{value!r} is not a number of messages", field="messages") from None


def _idle_object(data: Mapping[str, Any], ctx: ParseContext) -> IdleTrigger:
    cooldown = data.get("cooldown")
    return IdleTrigger(
        read_duration(data["idle"], "idle"),
        read_duration(cooldown, "cooldown") if cooldown is not None else None,
        data.get("subjects"),
    )


def _messages_object(data: Mapping[str, Any], ctx: ParseContext) -> MessagesTrigger:
    count = data["messages"]
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidTrigger(f"{count!r} is not a number of messages", field="messages")
    return MessagesTrigger(count, data.get("subjects"))


def _event_object(data: Mapping[str, Any], ctx: ParseContext) -> EventTrigger:
    debounce, longest = data.get("debounce"), data.get("max_wait")
    return EventTrigger(
        data["event"],
        read_duration(debounce, "debounce") if debounce is not None else None,
        read_duration(longest, "max_wait") if longest is not None else None,
        data.get("subjects"),
    )


OBJECT_READERS: dict[
    str, tuple[Callable[[Mapping[str, Any], ParseContext], Trigger], frozenset[str]]
] = {
    "idle": (_idle_object, frozenset({"cooldown", "subjects"})),
    "messages": (_messages_object, frozenset({"subjects"})),
    "event": (_event_object, frozenset({"debounce", "max_wait", "subjects"})),
}
