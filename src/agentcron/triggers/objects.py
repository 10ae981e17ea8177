"""The object form of a trigger: ``{"cron": ...}``, ``{"every": ...}``, ``{"at": ...}``...

`OBJECT_FORMS` maps the key that names a kind to its reader and the other keys it allows;
new kinds (idle, messages, event) register here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from agentcron.errors import InvalidTrigger
from agentcron.triggers._context import ParseContext, read_duration
from agentcron.triggers._subject_forms import OBJECT_READERS
from agentcron.triggers._time import load_zone, parse_instant
from agentcron.triggers.cron import CronTrigger
from agentcron.triggers.date import DateTrigger
from agentcron.triggers.interval import IntervalTrigger
from agentcron.triggers.manual import ManualTrigger

if TYPE_CHECKING:
    from agentcron.triggers.base import Trigger

__all__ = ["OBJECT_FORMS", "ObjectReader", "parse_object", "trigger_from_dict"]

ObjectReader = Callable[[Mapping[str, Any], ParseContext], "Trigger"]

_EXAMPLES = (
    '{"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}, {"every": "5m"}, '
    '{"at": "2026-12-01T09:00:00Z"}, {"in": "30m"} or {"manual": true}'
)


def parse_object(data: Mapping[str, Any], ctx: ParseContext) -> Trigger:
    """Read the object form (an optional ``"version": 1`` is accepted)."""
    body = dict(data)
    _check_version(body.pop("version", 1))
    kinds = [key for key in body if key in OBJECT_FORMS]
    if len(kinds) != 1:
        raise InvalidTrigger(_kind_problem(body, kinds))
    reader, allowed = OBJECT_FORMS[kinds[0]]
    unknown = sorted(set(body) - allowed - {kinds[0]})
    if unknown:
        raise InvalidTrigger(
            f"unknown key(s) {', '.join(map(repr, unknown))} in a {kinds[0]!r} trigger "
            f"(allowed: {', '.join(sorted(allowed)) or 'none'})"
        )
    return reader(body, ctx)


def trigger_from_dict(data: Mapping[str, Any]) -> Trigger:
    """A trigger from its normalized object (`Trigger.to_dict`, or the stored form with
    ``"version": 1``). Raises `InvalidTrigger` for another version or an object that is
    not a trigger."""
    return parse_object(data, ParseContext())


def _check_version(version: Any) -> None:
    if version != 1 or isinstance(version, bool):
        raise InvalidTrigger(
            f"unsupported trigger version {version!r} (this agentcron reads version 1)",
            field="version",
        )


def _kind_problem(body: Mapping[str, Any], kinds: list[str]) -> str:
    if kinds:
        return f"a trigger has exactly one kind, got {', '.join(map(repr, kinds))}"
    if not body:
        return f"empty trigger object; expected {_EXAMPLES}"
    keys = ", ".join(map(repr, body))
    return f"could not read trigger object with key(s) {keys}; expected {_EXAMPLES}"


def _zone_context(body: Mapping[str, Any], ctx: ParseContext) -> ParseContext:
    if "timezone" not in body:
        return ctx
    load_zone(body["timezone"])
    return ParseContext(timezone=body["timezone"], now=ctx.now)


def _read_cron(body: Mapping[str, Any], ctx: ParseContext) -> Trigger:
    expr = body["cron"]
    if not isinstance(expr, str):
        raise InvalidTrigger(f"expected a cron expression string, got {expr!r}", field="cron")
    ctx = _zone_context(body, ctx)
    weeks = body.get("every_weeks", 1)
    start = _instant(body, "start", ctx)
    if start is None and weeks != 1:  # the weeks count from the first slot after now
        start = CronTrigger(expr, ctx.timezone).next_after(ctx.now)
    return CronTrigger(expr, ctx.timezone, every_weeks=weeks, start=start)


def _read_every(body: Mapping[str, Any], ctx: ParseContext) -> Trigger:
    ctx = _zone_context(body, ctx)
    key = "every" if "every" in body else "interval"
    jitter = body.get("jitter")
    return IntervalTrigger(
        every=read_duration(body[key], key),
        start=_instant(body, "start", ctx),
        end=_instant(body, "end", ctx),
        jitter=None if jitter is None else read_duration(jitter, "jitter"),
    )


def _instant(body: Mapping[str, Any], key: str, ctx: ParseContext) -> datetime | None:
    value = body.get(key)
    return None if value is None else parse_instant(value, ctx.zone, field=key)


def _read_at(body: Mapping[str, Any], ctx: ParseContext) -> Trigger:
    at = _instant(body, "at", _zone_context(body, ctx))
    if at is None:
        raise InvalidTrigger("expected an ISO 8601 time, got None", field="at")
    return DateTrigger(at)


def _read_in(body: Mapping[str, Any], ctx: ParseContext) -> Trigger:
    delay = read_duration(body["in"], "in")
    if delay.total_seconds() < 0:
        raise InvalidTrigger("'in' must not be negative", field="in")
    return DateTrigger(ctx.now + delay)


def _read_manual(body: Mapping[str, Any], ctx: ParseContext) -> Trigger:
    if body["manual"] is not True:
        raise InvalidTrigger('a manual trigger is {"manual": true}', field="manual")
    return ManualTrigger()


_EVERY_KEYS = frozenset({"start", "end", "jitter", "timezone"})

OBJECT_FORMS: dict[str, tuple[ObjectReader, frozenset[str]]] = {
    "cron": (_read_cron, frozenset({"timezone", "every_weeks", "start"})),
    "every": (_read_every, _EVERY_KEYS),
    "interval": (_read_every, _EVERY_KEYS),
    "at": (_read_at, frozenset({"timezone"})),
    "in": (_read_in, frozenset()),
    "manual": (_read_manual, frozenset()),
    **OBJECT_READERS,  # idle, messages, event
}
