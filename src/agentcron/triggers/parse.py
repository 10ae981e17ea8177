"""`parse_trigger`: the one trigger grammar, as a string or as an object.

Strings (case-insensitive, surrounding whitespace ignored)::

    0 9 * * 1-5     */5 * * * * *     cron: 0 9 * * 1-5     @daily
    every 5m        every 1h30m       every 5 minutes       every PT5M
    interval:300    every 5m jitter 10s
    at 2026-12-01T09:00:00+01:00      in 30m                in 2 hours
    manual
    every weekday at 9am              first monday of every month at 10
    tomorrow at 10                    every monday and friday at 17:30 Europe/Berlin

Each string form is one small reader in `STRING_FORMS`, tried in order; a reader returns
None when the text is not its form and raises `InvalidTrigger` when it is its form but
wrong. New forms (idle, messages, events) are added by inserting readers into that list,
ahead of the bare cron reader. Natural language (`natural.read_natural`, see its module for
the phrases and their rules) comes early, because phrases such as "every weekday at 9am"
would otherwise be misread as broken ``every <duration>`` forms; it leaves alone every text
another form reads (cron, ``every 5m``, ``at <ISO>``, ``in 30m``) and text without an
English trigger word in it (``on user.signup``, ``idle 30m``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from agentcron.clock import utcnow
from agentcron.errors import InvalidTrigger, TriggerNotUnderstood
from agentcron.triggers._context import ParseContext, read_duration
from agentcron.triggers._subject_forms import (
    read_event_string,
    read_idle_string,
    read_messages_string,
)
from agentcron.triggers._time import load_zone, parse_instant, require_aware
from agentcron.triggers.base import Trigger
from agentcron.triggers.cron import CronTrigger
from agentcron.triggers.date import DateTrigger
from agentcron.triggers.interval import IntervalTrigger
from agentcron.triggers.manual import ManualTrigger
from agentcron.triggers.natural import read_natural
from agentcron.triggers.objects import parse_object

__all__ = ["STRING_FORMS", "StringReader", "parse_trigger"]

StringReader = Callable[[str, ParseContext], Trigger | None]

_EXPECTED = "expected a cron expression, @daily, 'every 5m', 'at <ISO time>', 'in 30m' or 'manual'"
_FLAGS = re.IGNORECASE | re.DOTALL
_CRON = re.compile(r"cron\s*:\s*(.*)", _FLAGS)
_EVERY = re.compile(r"(?:every\s+|interval\s*[:=]?\s*)(.+?)(?:\s+jitter\s+(.+))?", _FLAGS)
_AT = re.compile(r"at\s+(.+)", _FLAGS)
_IN = re.compile(r"in\s+(.+)", _FLAGS)
_CRON_FIELD = re.compile(r"[\d*/,\-]+")


def parse_trigger(
    value: str | Mapping[str, Any] | Trigger,
    *,
    timezone: str | None = None,
    now: datetime | None = None,
) -> Trigger:
    """Read a trigger from its string or object form (a `Trigger` is returned as is).

    ``timezone`` is the schedule's zone: cron expressions and naive ISO times are read in
    it (an explicit ``"timezone"`` in the object wins; default UTC). ``now`` (default: the
    current UTC time) anchors relative forms such as ``in 30m``.
    """
    if timezone is not None:
        load_zone(timezone)
    ctx = ParseContext(
        timezone=timezone or "UTC",
        now=utcnow() if now is None else require_aware(now, "now"),
    )
    if isinstance(value, str):
        return parse_string(value, ctx)
    if isinstance(value, Mapping):
        return parse_object(value, ctx)
    if isinstance(value, Trigger):
        return value
    raise InvalidTrigger(f"expected a trigger string or object, got {value!r}")


def parse_string(value: str, ctx: ParseContext) -> Trigger:
    """Read the string form: the first reader in `STRING_FORMS` that knows it wins."""
    text = value.strip()
    if not text:
        raise InvalidTrigger(f"empty trigger; {_EXPECTED}")
    for reader in STRING_FORMS:
        trigger = reader(text, ctx)
        if trigger is not None:
            return trigger
    raise TriggerNotUnderstood(f"could not read trigger {text!r}: {_EXPECTED}")


def _manual(text: str, ctx: ParseContext) -> Trigger | None:
    return ManualTrigger() if text.lower() == "manual" else None


def _cron_prefixed(text: str, ctx: ParseContext) -> Trigger | None:
    match = _CRON.fullmatch(text)
    return CronTrigger(match[1], ctx.timezone) if match else None


def _every(text: str, ctx: ParseContext) -> Trigger | None:
    match = _EVERY.fullmatch(text)
    if not match:
        return None
    key = "every" if text[:5].lower() == "every" else "interval"
    jitter = read_duration(match[2], "jitter") if match[2] else None
    return IntervalTrigger(read_duration(match[1], key), jitter=jitter)


def _at(text: str, ctx: ParseContext) -> Trigger | None:
    match = _AT.fullmatch(text)
    return DateTrigger(parse_instant(match[1], ctx.zone, field="at")) if match else None


def _in(text: str, ctx: ParseContext) -> Trigger | None:
    match = _IN.fullmatch(text)
    return parse_object({"in": match[1]}, ctx) if match else None


def _bare_cron(text: str, ctx: ParseContext) -> Trigger | None:
    """``@daily`` or something shaped like cron: 3+ fields, the first made of cron symbols."""
    fields = text.split()
    shaped = len(fields) >= 3 and _CRON_FIELD.fullmatch(fields[0]) is not None
    return CronTrigger(text, ctx.timezone) if text.startswith("@") or shaped else None


STRING_FORMS: list[StringReader] = [
    _manual,
    _cron_prefixed,
    read_idle_string,
    read_messages_string,
    read_event_string,
    read_natural,
    _every,
    _at,
    _in,
    _bare_cron,
]
