"""Turn what users write (Python kwargs, config entries, CLI flags, REST bodies) into a
validated `ScheduleSpec`. One path for every surface, so every surface rejects the same
input with the same message, naming the field."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from agentcron.durations import format_duration, parse_duration
from agentcron.errors import InvalidTimezone, InvalidTrigger, ValidationError
from agentcron.models import (
    DEFAULT_NAMESPACE,
    Args,
    FanOut,
    Misfire,
    Overlap,
    Quota,
    ScheduleSource,
    ScheduleSpec,
)
from agentcron.triggers import DateTrigger, Trigger, parse_trigger, period, subject_glob

if TYPE_CHECKING:
    from agentcron.callbacks import ResultCallback

__all__ = [
    "MAX_ARGS_BYTES",
    "SCHEDULE_FIELDS",
    "Built",
    "build_schedule",
    "check_args",
    "check_json",
    "check_name",
    "check_object",
    "storable_size",
]

MAX_ARGS_BYTES = 64 * 1024
# A NUL character in JSON text: ``\u0000`` after an even number of backslashes (an odd
# number makes it a backslash followed by "u0000").
_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")
MAX_RETRIES = 1000
MAX_PRIORITY = 1_000_000
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,199}$")
SCHEDULE_FIELDS = frozenset(
    {"name", "task", "trigger", "timezone", "args", "enabled", "misfire", "misfire_grace",
     "overlap", "retries", "timeout", "priority", "queue", "jitter", "namespace", "description",
     "limit", "for_each_subject", "metadata", "thread_id"}
)  # fmt: skip
MAX_METADATA_BYTES = 16 * 1024


@dataclass(frozen=True, slots=True)
class Built:
    spec: ScheduleSpec
    trigger: Trigger
    result_callback: ResultCallback | None = None  # config and code only, never REST/MCP


def check_name(value: Any, field: str = "name") -> str:
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise ValidationError(
            f"{value!r} is not a valid name: 1-200 characters, letters, digits and _ . : @ / -, "
            "starting with a letter or digit",
            field=field,
        )
    return value


def check_args(value: Any, field: str = "args", limit: int = MAX_ARGS_BYTES) -> Args:
    """Args are a JSON object (keyword arguments of the task) or a JSON array (positional
    arguments), at most ``limit`` bytes (64 KiB); JSON text is read; a tuple is a list."""
    return _check_json(value, field, limit, array=True)


def check_object(value: Any, field: str, limit: int) -> dict[str, Any]:
    """A JSON object (``metadata``...) of at most ``limit`` bytes; JSON text is read."""
    result = _check_json(value, field, limit, array=False)
    assert isinstance(result, dict)
    return result


def check_json(value: Any, field: str, limit: int = MAX_ARGS_BYTES) -> Any:
    """Any JSON value (a signal's data...) of at most ``limit`` bytes, as JSON reads it back
    (a tuple becomes a list); a string is a string, not JSON text."""
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
        size = storable_size(text)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(f"not storable JSON: {exc}", field=field) from None
    if size > limit:
        raise ValidationError(f"larger than {limit} bytes", field=field)
    return json.loads(text)


def _check_json(value: Any, field: str, limit: int, *, array: bool) -> Args:
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ValidationError(f"not valid JSON: {exc}", field=field) from None
    if isinstance(value, Mapping):
        value = dict(value)
    elif array and isinstance(value, list | tuple):
        value = list(value)
    else:
        what = (
            "a JSON object of keyword arguments or an array of positional arguments"
            if array
            else "a JSON object"
        )
        raise ValidationError(f"must be {what}, got {type(value).__name__}", field=field)
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise ValidationError(f"not JSON-serializable: {exc}", field=field) from None
    try:
        size = storable_size(text)
    except ValueError as exc:
        raise ValidationError(str(exc), field=field) from None
    if size > limit:
        raise ValidationError(f"larger than {limit} bytes", field=field)
    # Plain values read back as they are: no need to decode what was just encoded.
    result: Args = value if _flat(value) else json.loads(text)
    return result


_SCALARS = frozenset({str, int, float, bool, type(None)})


def _flat(value: dict[str, Any] | list[Any]) -> bool:
    """Whether JSON would read ``value`` back unchanged: string keys, plain scalar values (the
    usual arguments of a run)."""
    if isinstance(value, dict):
        return all(type(k) is str for k in value) and all(
            type(v) in _SCALARS for v in value.values()
        )
    return all(type(v) in _SCALARS for v in value)


def storable_size(text: str) -> int:
    """The size in bytes of the JSON ``text`` when a store can hold it, else `ValueError`
    saying why: a lone surrogate is not UTF-8; PostgreSQL cannot store a NUL character, so
    neither store takes one (what works on SQLite works on PostgreSQL)."""
    try:
        size = len(text.encode())
    except UnicodeEncodeError:
        raise ValueError(
            "must be valid Unicode text (it holds a lone surrogate, \\udXXX)"
        ) from None
    if "\\u0000" in text and _NUL.search(text):
        raise ValueError("must not contain NUL characters (\\u0000)")
    return size


def build_schedule(
    *,
    task: Any,
    trigger: Any,
    now: datetime,
    name: Any = None,
    timezone: str | None = None,
    args: Any = None,
    enabled: bool = True,
    misfire: Any = Misfire.ONCE,
    misfire_grace: Any = None,
    overlap: Any = Overlap.SKIP,
    retries: Any = None,
    timeout: Any = None,
    priority: Any = None,
    queue: Any = None,
    jitter: Any = None,
    namespace: Any = None,
    description: Any = None,
    limit: Any = None,
    for_each_subject: Any = None,
    metadata: Any = None,
    thread_id: Any = None,
    source: ScheduleSource = ScheduleSource.CODE,
    new: bool = True,
) -> Built:
    """Validate every field; raise `ValidationError` (with ``field``) on the first bad one.

    ``new``: a one-time ``at`` in the past is an error for a schedule being created.
    ``jitter`` (a random delay of each run) may not be longer than the trigger's period
    (`agentcron.triggers.period`): a run would start after the next slot.
    """
    task_name = check_name(task, "task")
    if trigger is None or trigger == "":
        raise InvalidTrigger("a trigger is required (e.g. 'every 5m', '0 9 * * 1-5', 'manual')")
    parsed = _parse_trigger(trigger, timezone, now)
    if new and isinstance(parsed, DateTrigger) and parsed.at <= now:
        raise InvalidTrigger(f"the time {parsed.at.isoformat()} is in the past")
    spec = ScheduleSpec(
        name=check_name(name if name is not None else task_name),
        task=task_name,
        trigger=parsed.to_dict(),
        namespace=check_name(namespace or DEFAULT_NAMESPACE, "namespace"),
        args=check_args(args),
        enabled=_bool(enabled, "enabled"),
        misfire=_enum(Misfire, misfire, "misfire"),
        misfire_grace=_duration(misfire_grace, "misfire_grace"),
        overlap=_enum(Overlap, overlap, "overlap"),
        retries=_int(retries, "retries", 0, MAX_RETRIES) if retries is not None else None,
        timeout=_duration(timeout, "timeout"),
        priority=_int(priority, "priority", -MAX_PRIORITY, MAX_PRIORITY)
        if priority is not None
        else None,
        queue=check_name(queue, "queue") if queue else None,
        jitter=_jitter(jitter, parsed, now),
        source=source,
        description=str(description) if description else parsed.describe(),
        limit=parse_quota(limit),
        for_each_subject=_fan_out(for_each_subject, parsed),
        timezone=getattr(parsed, "timezone", None) or timezone or "UTC",
        metadata=check_object(metadata, "metadata", MAX_METADATA_BYTES),
        thread_id=_thread_id(thread_id),
    )
    return Built(spec, parsed)


def _thread_id(value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > 200 or not value.strip():
        raise ValidationError(
            f"expected text of 1-200 characters, got {value!r}", field="thread_id"
        )
    return value


_QUOTA = re.compile(r"^\s*(\d+)\s*(?:per|/|a|an|every)\s*(hour|day|week)s?\s*$", re.IGNORECASE)


def parse_quota(value: Any) -> Quota | None:
    """``"3 per day"`` or ``{"count": 3, "per": "day"}``: at most N runs per subject per period."""
    if value is None or value == "":
        return None
    if isinstance(value, Quota):
        return value
    if isinstance(value, Mapping):
        text = f"{value.get('count')} per {value.get('per', value.get('period'))}"
    else:
        text = str(value)
    match = _QUOTA.match(text)
    if match is None:
        raise ValidationError(
            f"{value!r} is not a quota: write it like '3 per day' (hour, day or week)",
            field="limit",
        )
    count = int(match.group(1))
    if not 1 <= count <= 1_000_000:
        raise ValidationError("the quota count must be between 1 and 1000000", field="limit")
    return Quota(count, match.group(2).lower())


def _fan_out(value: Any, trigger: Trigger) -> FanOut | None:
    if value is None or value is False:
        return None
    if trigger.kind not in ("cron", "interval", "date", "manual"):
        raise ValidationError(
            "for_each_subject goes with a cron, interval or date trigger", field="for_each_subject"
        )
    if isinstance(value, FanOut):
        return value
    if value is True:
        return FanOut()
    if isinstance(value, str):
        return FanOut(subjects=subject_glob(value))
    if not isinstance(value, Mapping):
        raise ValidationError(
            "expected true, a subject filter, or {subjects, batch_size}", field="for_each_subject"
        )
    unknown = {str(key) for key in value} - {"subjects", "batch_size", "filter"}
    if unknown:
        raise ValidationError(f"unknown key {sorted(unknown)[0]!r}", field="for_each_subject")
    batch = _int(value.get("batch_size", 500), "for_each_subject.batch_size", 1, 100_000)
    pattern = value.get("subjects", value.get("filter"))
    return FanOut(subjects=subject_glob(pattern) if pattern else None, batch_size=batch)


def _enum(kind: type[Misfire] | type[Overlap], value: Any, field: str) -> Any:
    try:
        return kind(value)
    except ValueError:
        options = ", ".join(m.value for m in kind)
        raise ValidationError(f"{value!r} is not one of: {options}", field=field) from None


def _duration(value: Any, field: str, *, allow_zero: bool = False) -> timedelta | None:
    if value is None or value == "":
        return None
    result = parse_duration(value, field=field)
    if result < timedelta(0) or (result == timedelta(0) and not allow_zero):
        raise ValidationError("must be a positive duration", field=field)
    return result


def _jitter(value: Any, trigger: Trigger, now: datetime) -> timedelta | None:
    jitter = _duration(value, "jitter", allow_zero=True)
    if not jitter:
        return jitter
    shortest = period(trigger, now)
    if shortest is not None and jitter > shortest:
        raise ValidationError(
            f"{format_duration(jitter)} is longer than the trigger's period "
            f"({format_duration(shortest)}): a run would start after the next slot",
            field="jitter",
        )
    return jitter


def _int(value: Any, field: str, minimum: int, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value))
        except ValueError:
            raise ValidationError(f"{value!r} is not a whole number", field=field) from None
    if not minimum <= value <= maximum:
        raise ValidationError(f"must be between {minimum} and {maximum}", field=field)
    return int(value)


def _parse_trigger(trigger: Any, timezone: str | None, now: datetime) -> Trigger:
    """Parse; an error about a part of the trigger object names ``trigger`` as the field."""
    try:
        return parse_trigger(trigger, timezone=timezone, now=now)
    except InvalidTimezone:
        raise
    except ValidationError as exc:
        if exc.field in (None, "trigger"):
            raise InvalidTrigger(exc.message) from None
        raise InvalidTrigger(f"{exc.field}: {exc.message}") from None


def _bool(value: Any, field: str) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError(f"{value!r} is not true or false", field=field)
