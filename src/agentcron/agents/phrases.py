"""Trigger text the grammar does not understand, read by an LLM (function calling).

The grammar always goes first, and answers alone for everything it understands. Only text
whose words or order it does not understand (`TriggerNotUnderstood`) is sent, when an LLM is
configured (``[agentcron.llm]`` with a ``model``, or ``App(llm=...)``), to its Chat
Completions endpoint with one tool, ``set_trigger``, whose parameters are the trigger object
(`TRIGGER_SCHEMA`); the model must call it. Its arguments are then read by `parse_trigger`
like any trigger object, so a wrong answer is the usual clear error, naming what the model
returned. Text that was understood but cannot be a trigger (a time already past, a rhythm
cron cannot say) keeps its error: the grammar's message already says what to write.

A validated answer is kept for `CACHE_S` per (text, zone), so a preview and the create that
follows it agree (and cost one request). Config files and ``app.schedule(...)`` are read by
the grammar only: what starts a deployment never depends on a model's answer.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from agentcron.agents.llm import ChatClient, Endpoint
from agentcron.errors import (
    AgentcronError,
    InvalidTimezone,
    InvalidTrigger,
    TriggerNotUnderstood,
    ValidationError,
)
from agentcron.triggers import Trigger, parse_trigger

__all__ = [
    "CACHE_S",
    "TOOL_NAME",
    "TRIGGER_SCHEMA",
    "PhraseReader",
    "Source",
    "TriggerReading",
    "read_trigger",
    "resolve_trigger",
]

Source = Literal["grammar", "llm"]
TOOL_NAME = "set_trigger"
DEFAULT_TIMEOUT_S = 30.0
CACHE_S = 600.0
CACHE_SIZE = 256
_EXCERPT = 300


def _text(description: str) -> dict[str, Any]:
    return {"type": "string", "description": description}


TRIGGER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": (
        "When a schedule fires. Set exactly one of: cron, every, at, in, manual, idle, "
        "messages, event; plus only the keys that go with it."
    ),
    "properties": {
        "cron": _text(
            "A cron expression: 5 fields (minute hour day-of-month month day-of-week, Sunday "
            "= 0; 1#2 is the second Monday, L the last day) or 6 with seconds first, read "
            "in the timezone. For calendar rhythms: '0 8 * * *' is every day at 08:00."
        ),
        "timezone": _text("IANA time zone of cron and of times without an offset."),
        "every_weeks": {
            "type": "integer",
            "minimum": 2,
            "description": "With cron: fire only in every Nth week (every other week: 2).",
        },
        "start": _text(
            "ISO 8601 time. With every_weeks: a time in the first week that fires. With "
            "every: the first fire."
        ),
        "every": _text("A fixed interval of elapsed time: '90m', '2h', '1d' (with start, end)."),
        "end": _text("With every: ISO 8601 time after which it stops."),
        "jitter": _text("With every: a random delay of up to this much, like '30s'."),
        "at": _text("One time: ISO 8601 with its UTC offset."),
        "in": _text("One time, after this long from now: '30m', '2h'."),
        "manual": {"type": "boolean", "description": "true: only when run by hand."},
        "idle": _text("Per subject: once the subject was inactive this long, like '30m'."),
        "cooldown": _text("With idle: not again within this long, like '2h'."),
        "messages": {"type": "integer", "minimum": 1, "description": "After every N messages."},
        "event": _text("On each event whose type matches this glob, like 'user.signup'."),
        "debounce": _text("With event: once the events stop for this long, like '30s'."),
        "max_wait": _text("With event and debounce: at the latest this long after the first."),
        "subjects": _text("With idle, messages or event: a subject glob, like 'user:*'."),
        "not_a_schedule": _text(
            "Set only this, saying why, when the text does not say when something should run."
        ),
    },
    "additionalProperties": False,
}

_SYSTEM = """\
You turn a schedule written in plain language into a trigger object for agentcron by calling \
{tool}. Prefer cron for anything on the calendar or the clock (days, times of day, days of \
the month); use every only for elapsed time ("every 90 minutes"); use at or in for one time. \
Keep times of day in the local time zone ({zone}) with cron and its timezone; do not convert \
them to UTC. The time now is {now} ({local} in {zone})."""


@dataclass(frozen=True, slots=True)
class TriggerReading:
    """A trigger and who read it: ``"grammar"`` or ``"llm"``."""

    trigger: Trigger
    source: Source = "grammar"


@dataclass
class PhraseReader:
    """Asks one model, at one endpoint, what trigger a phrase means."""

    endpoint: Endpoint
    model: str
    timeout_s: float = DEFAULT_TIMEOUT_S
    _cache: OrderedDict[tuple[str, str], tuple[float, dict[str, Any]]] = field(
        default_factory=OrderedDict, repr=False
    )

    async def read(self, text: str, *, timezone: str, now: datetime,
                   not_understood: InvalidTrigger) -> Trigger:  # fmt: skip
        """The trigger the model reads in ``text``, validated; `InvalidTrigger` naming what
        it answered (or why asking failed), after the grammar's own message."""
        key = (" ".join(text.lower().split()), timezone)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[0] < CACHE_S:
            return _validated(cached[1], timezone, now, not_understood, self.model)
        answer = await self._ask(text, timezone, now, not_understood)
        trigger = _validated(answer, timezone, now, not_understood, self.model)
        self._cache[key] = (time.monotonic(), answer)
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return trigger

    async def _ask(self, text: str, timezone: str, now: datetime,
                   not_understood: InvalidTrigger) -> dict[str, Any]:  # fmt: skip
        from agentcron.triggers import load_zone

        local = now.astimezone(load_zone(timezone))
        system = _SYSTEM.format(tool=TOOL_NAME, zone=timezone, now=now.isoformat(),
                                local=f"{local:%A %Y-%m-%d %H:%M}")  # fmt: skip
        messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
        tool = {"type": "function", "function": {
            "name": TOOL_NAME, "description": "Set the trigger of the schedule.",
            "parameters": TRIGGER_SCHEMA}}  # fmt: skip
        choice = {"type": "function", "function": {"name": TOOL_NAME}}
        try:
            async with ChatClient(self.endpoint, timeout_s=self.timeout_s) as client:
                reply = await client.complete(
                    self.model, messages, [tool], temperature=0, tool_choice=choice
                )
        except AgentcronError as exc:  # provider down or refusing, httpx missing
            raise _failed(not_understood, f"asking the LLM failed: {exc}") from None
        calls = [c for c in reply.tool_calls if c.name == TOOL_NAME]
        if not calls:
            said = _excerpt(reply.content) or "nothing"
            raise _failed(not_understood, f"the LLM ({self.model}) did not call {TOOL_NAME}; "
                                          f"it said {said}")  # fmt: skip
        try:
            answer = json.loads(calls[0].arguments)
        except ValueError:
            answer = calls[0].arguments
        if not isinstance(answer, dict):
            shown = _excerpt(answer)
            why = f"the LLM ({self.model}) answered {shown}, which is not a trigger object"
            raise _failed(not_understood, why)
        return answer


def _validated(answer: Mapping[str, Any], timezone: str, now: datetime,
               not_understood: InvalidTrigger, model: str) -> Trigger:  # fmt: skip
    shown = _excerpt(answer)
    reason = answer.get("not_a_schedule")
    if reason is not None:
        raise _failed(not_understood, f"the LLM ({model}) could not read it either: "
                                      f"{_excerpt(reason)}")  # fmt: skip
    try:
        return parse_trigger(answer, timezone=timezone, now=now)
    except ValidationError as exc:
        raise _failed(not_understood, f"the LLM ({model}) answered {shown}, which is not a "
                                      f"valid trigger: {exc}") from None  # fmt: skip


def _failed(not_understood: InvalidTrigger, why: str) -> InvalidTrigger:
    """The grammar's message, then what went wrong with the LLM (field ``trigger``)."""
    field = not_understood.field
    part = f"{field}: " if field not in (None, "trigger") else ""
    return InvalidTrigger(f"{part}{not_understood.message}; {why}")


def _excerpt(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = " ".join(text.split())
    return text if len(text) <= _EXCERPT else text[:_EXCERPT] + "..."


async def read_trigger(
    value: Any, *, timezone: str | None, now: datetime, llm: PhraseReader | None
) -> TriggerReading:
    """``value`` read by the grammar (`parse_trigger`); text it does not understand is read
    by ``llm`` when given. Raises what `parse_trigger` raises, or `InvalidTrigger` naming
    what the LLM answered."""
    try:
        return TriggerReading(parse_trigger(value, timezone=timezone, now=now))
    except InvalidTimezone:
        raise
    except TriggerNotUnderstood as exc:
        if llm is None or not isinstance(value, str):
            raise
        trigger = await llm.read(value, timezone=timezone or "UTC", now=now, not_understood=exc)
        return TriggerReading(trigger, "llm")


async def resolve_trigger(
    value: Any, *, timezone: str, now: datetime, llm: PhraseReader | None
) -> tuple[Any, Source]:
    """What to build a schedule from: ``(value, "grammar")``; for text the grammar does not
    understand, when ``llm`` is given, ``(the trigger it read, "llm")``. Every other problem
    is left for `agentcron.specs.build_schedule` to report, as it always does."""
    if llm is None or not isinstance(value, str):
        return value, "grammar"
    try:
        parse_trigger(value, timezone=timezone, now=now)
    except TriggerNotUnderstood as exc:
        return await llm.read(value, timezone=timezone, now=now, not_understood=exc), "llm"
    except ValidationError:
        pass  # reported by build_schedule, with the schedule's other fields
    return value, "grammar"
