"""The YouLab task form: a ``[[task]]`` that carries its own triggers, read as written.

::

    [[task]]
    name = "progression-grader"
    on_idle = true                     # -> schedule "progression-grader.idle"
    idle_threshold_minutes = 5         #    trigger "idle 5m cooldown 30m for user:*"
    idle_cooldown_minutes = 30
    schedule = "0 */6 * * *"           # -> schedule "progression-grader.cron", per user
    manual = true                      # -> schedule "progression-grader.manual", per user
    agent_types = ["tutor", "college-essay"]   # -> args = { agent_types = [...] }
    user_filter = "all"                # -> subjects "user:*" (or a subject filter as written)
    batch_size = 50                    # -> for_each_subject.batch_size
    system = "You are a curriculum grader..."
    tools = ["query_honcho", "edit_memory_block"]

The other keys are the native ``[[task]]`` keys (an agent task unless ``kind`` says
otherwise). Defaults are YouLab's: ``manual = true``, ``on_idle = false``,
``idle_threshold_minutes = 30``, ``idle_cooldown_minutes = 60``, ``agent_types = ["tutor"]``,
``user_filter = "all"``, ``batch_size = 50``. `translate` gives the native entries; `to_toml`
writes them as a config file would.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from agentcron.agents.specs import read_fields
from agentcron.durations import format_duration
from agentcron.errors import ValidationError
from agentcron.triggers import parse_trigger, subject_glob

__all__ = ["YOULAB_FIELDS", "Translation", "is_youlab", "to_toml", "translate"]

YOULAB_FIELDS = frozenset(
    {"on_idle", "idle_threshold_minutes", "idle_cooldown_minutes", "schedule", "manual",
     "agent_types", "user_filter", "batch_size", "queries"}
)  # fmt: skip
USERS = "user:*"
DEFAULTS: dict[str, Any] = {  # YouLab's, as read (user_filter "all" is the subjects user:*)
    "manual": True,
    "on_idle": False,
    "idle_threshold_minutes": 30,
    "idle_cooldown_minutes": 60,
    "agent_types": ["tutor"],
    "user_filter": USERS,
    "batch_size": 50,
}
Errors = list[tuple[str, str]]


@dataclass
class Translation:
    """A YouLab ``[[task]]`` as native entries; ``errors`` are about its YouLab keys.
    ``origins``: for each derived schedule (by name), the YouLab key it comes from."""

    task: dict[str, Any]
    schedules: list[dict[str, Any]] = field(default_factory=list)
    errors: Errors = field(default_factory=list)
    origins: dict[str, str] = field(default_factory=dict)


def is_youlab(entry: Mapping[str, Any]) -> bool:
    """Whether a ``[[task]]`` entry is written in the YouLab form (has one of its keys)."""
    return any(key in entry for key in YOULAB_FIELDS)


def translate(entry: Mapping[str, Any]) -> Translation:
    """The native ``[[task]]`` entry and ``[[schedule]]`` entries of a YouLab entry."""
    errors: Errors = []
    values = dict(DEFAULTS) | read_fields(entry, _READERS, errors)
    if "queries" in entry:
        errors.append(("queries", "queries: the legacy query form is not supported; give the "
                                  "agent a system prompt and tools instead"))  # fmt: skip
    out = Translation({k: v for k, v in entry.items() if k not in YOULAB_FIELDS}, errors=errors)
    name = entry.get("name")
    if isinstance(name, str) and name:
        _schedules(out, name, values, entry)
    return out


def _schedules(out: Translation, name: str, values: dict[str, Any],
               entry: Mapping[str, Any]) -> None:  # fmt: skip
    subjects = values["user_filter"]
    args = {"agent_types": values["agent_types"]}
    each = {"subjects": subjects, "batch_size": values["batch_size"]}
    if values["on_idle"]:
        idle = format_duration(timedelta(minutes=values["idle_threshold_minutes"]))
        trigger = f"idle {idle}"
        if values["idle_cooldown_minutes"]:
            cooldown = timedelta(minutes=values["idle_cooldown_minutes"])
            trigger += f" cooldown {format_duration(cooldown)}"
        _add(out, f"{name}.idle", "on_idle", task=name, trigger=f"{trigger} for {subjects}",
             args=args)  # fmt: skip
    if "schedule" in entry and isinstance(values.get("schedule"), str):
        _add(out, f"{name}.cron", "schedule", task=name, trigger=values["schedule"], args=args,
             for_each_subject=each)  # fmt: skip
    if values["manual"]:  # triggered by hand: one run per matching subject
        _add(out, f"{name}.manual", "manual", task=name, trigger="manual", args=args,
             for_each_subject=each)  # fmt: skip


def _add(out: Translation, name: str, origin: str, **fields: Any) -> None:
    out.schedules.append({"name": name, **fields})
    out.origins[name] = origin


# -- readers: (value, key) -> value, raising ValidationError(field=key) ------------------------
def _bool(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"expected true or false, got {value!r}", field=key)
    return value


def _minutes(low: int) -> Callable[[Any, str], int]:
    def read(value: Any, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 525_600:
            raise ValidationError(
                f"expected a whole number of minutes from {low} to 525600, got {value!r}",
                field=key,
            )
        return value

    return read


def _trigger_text(value: Any, key: str) -> str:
    """A cron expression (any trigger text is read: ``"every 6h"`` too)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"expected a cron expression such as '0 */6 * * *', got {value!r}", field=key
        )
    try:
        parse_trigger(value)  # checked only: "now" does not matter
    except ValidationError as exc:
        inner = f"{exc.field}: " if exc.field not in (None, "trigger") else ""
        raise ValidationError(f"{inner}{exc.message}", field=key) from None
    return value


def _agent_types(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValidationError(f"expected a list of agent type names, got {value!r}", field=key)
    return list(value)


def _user_filter(value: Any, key: str) -> str:
    """``"all"``: every ``user:*`` subject; else a subject filter as ``for_each_subject``
    reads it (``"user:4*"``; without a wildcard, a prefix)."""
    if value == "all":
        return USERS
    if not isinstance(value, str) or ":" not in value:
        raise ValidationError(
            f'{value!r} is not a user filter: write "all" (every subject named user:...) '
            'or a subject filter such as "user:beta-*"',
            field=key,
        )
    glob = subject_glob(value)
    assert glob is not None
    return glob


def _batch(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
        raise ValidationError(f"expected a whole number from 1 to 100000, got {value!r}",
                              field=key)  # fmt: skip
    return value


_READERS: dict[str, Callable[[Any, str], Any]] = {
    "on_idle": _bool,
    "manual": _bool,
    "idle_threshold_minutes": _minutes(1),
    "idle_cooldown_minutes": _minutes(0),
    "schedule": _trigger_text,
    "agent_types": _agent_types,
    "user_filter": _user_filter,
    "batch_size": _batch,
}


# -- the native form as TOML -------------------------------------------------------------------
def to_toml(task: Mapping[str, Any], schedules: list[dict[str, Any]]) -> str:
    """The entries as they would be written in ``agentcron.toml``."""
    blocks = [_table("task", task), *(_table("schedule", s) for s in schedules)]
    return "\n\n".join(blocks) + "\n"


def _table(kind: str, entry: Mapping[str, Any]) -> str:
    return "\n".join([f"[[{kind}]]", *(f"{_key(k)} = {_value(v)}" for k, v in entry.items())])


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(str(k))} = {_value(v)}" for k, v in value.items()) + " }"
    return _string(str(value))


def _string(text: str) -> str:
    """A multi-line literal string for text with line breaks (kept as written), else a basic
    string."""
    verbatim = "\n" in text and "'''" not in text and not text.endswith("'")
    if verbatim and all(c in "\n\t" or " " <= c != "\x7f" for c in text):
        return f"'''\n{text}'''"
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
