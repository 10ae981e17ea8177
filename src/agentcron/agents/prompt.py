"""Prompt templates: ``"Grade {subject}. Notes: {args.notes}. Event: {event.data.email}"``.

A template is `str.format` syntax over three fields: ``args`` (the run's keyword args),
``subject`` (a string) and ``event`` (the event that fired the run: ``type``, ``data``...).
Dots and brackets look up keys of dicts (and indexes of lists), never attributes of objects,
so a template can only read the run's JSON data. Values that are not strings are written as
JSON. `check_template` rejects unknown fields when the config is loaded; `render` raises
`PromptError` when the run lacks a key the template uses.
"""

from __future__ import annotations

import json
import re
import string
from collections.abc import Mapping, Sequence
from typing import Any

from agentcron.agents.errors import PromptError
from agentcron.errors import ValidationError

__all__ = ["FIELDS", "check_template", "default_prompt", "render", "unfillable"]

FIELDS = ("args", "subject", "event")
EVENT_KEYS = ("id", "type", "namespace", "subject", "data", "created_at")
_HELP = "use {args.NAME}, {subject}, {event.type} or {event.data.NAME}"
_FIRST = re.compile(r"[^.\[]*")
_LOOKUP = re.compile(r"\.([^.\[]+)|\[([^\]]+)\]")


def split_field(name: str) -> tuple[str, list[str | int]]:
    """``"event.data[0].email"`` -> ``("event", ["data", 0, "email"])``, as `str.format` reads
    it; raises ValueError for a malformed name."""
    match = _FIRST.match(name)
    first = match.group() if match else ""
    keys: list[str | int] = []
    pos = len(first)
    while pos < len(name):
        part = _LOOKUP.match(name, pos)
        if part is None:
            raise ValueError(f"cannot read {name[pos:]!r}")
        if part[1] is not None:
            keys.append(part[1])
        else:
            keys.append(int(part[2]) if part[2].isdigit() else part[2])
        pos = part.end()
    return first, keys


def check_template(text: str, field: str = "prompt") -> None:
    """Raise `ValidationError` (naming ``field``) for bad syntax or an unknown field."""
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValidationError(f"invalid template: {exc} (write {{{{ and }}}} for braces)",
                              field=field) from None  # fmt: skip
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        _check_field(name, field)
        if conversion not in (None, "r", "s", "a"):
            raise ValidationError(f"{{{name}!{conversion}}}: unknown conversion (use !r, !s, !a)",
                                  field=field)  # fmt: skip
        if spec:
            check_template(spec, field)


def unfillable(
    text: str, *, args: Mapping[str, Any] | list[Any], subject: bool | None, event: bool
) -> list[str]:
    """What a (valid) template uses that the runs of a schedule will not have: ``subject``
    True when each run has one, False when none has, None when some may; ``event`` whether
    runs have an event; ``args`` the schedule's. One message per placeholder."""
    problems: dict[str, str] = {}
    for name in _names(text):
        first, keys = split_field(name)
        if first == "subject" and subject is False:
            problems[name] = f"{{{name}}}: the runs of this schedule have no subject"
        elif first == "event" and not event:
            problems[name] = f"{{{name}}}: only an event trigger gives its runs an event"
        elif first == "event" and keys and str(keys[0]) not in EVENT_KEYS:
            problems[name] = f"{{{name}}}: an event has {', '.join(EVENT_KEYS)}"
        elif first == "args" and keys and not _has(args, keys[0]):
            problems[name] = f"{{{name}}}: the schedule's args have no {keys[0]!r}"
    return list(problems.values())


def _names(text: str) -> list[str]:
    names: list[str] = []
    for _, name, spec, _ in string.Formatter().parse(text):
        if name is not None:
            names.append(name)
        if spec:
            names += _names(spec)
    return names


def _has(args: Mapping[str, Any] | list[Any], key: str | int) -> bool:
    if isinstance(args, Mapping):
        return str(key) in args
    return isinstance(key, int) and -len(args) <= key < len(args)


def _check_field(name: str, field: str) -> None:
    try:
        first, lookups = split_field(name)
    except ValueError as exc:
        raise ValidationError(f"invalid field {{{name}}}: {exc}", field=field) from None
    if first.isdigit() or first == "":
        raise ValidationError(f"positional field {{{name}}} is not supported; {_HELP}",
                              field=field)  # fmt: skip
    if first not in FIELDS:
        raise ValidationError(f"unknown field {{{first}}}; {_HELP}", field=field)
    if first == "subject" and lookups:
        raise ValidationError(f"{{{name}}}: the subject is a string; write {{subject}}",
                              field=field)  # fmt: skip


def render(
    text: str, *, args: Mapping[str, Any], subject: str | None, event: Mapping[str, Any] | None
) -> str:
    """Fill the template from one run; raise `PromptError` for a missing value."""
    values = {"args": args, "subject": subject, "event": event}
    try:
        return _Formatter(values).format(text)
    except (ValueError, TypeError) as exc:  # a format spec that does not fit the value
        raise PromptError(f"prompt: cannot fill the template: {exc}") from None


def default_prompt(
    *, args: Mapping[str, Any], subject: str | None, event: Mapping[str, Any] | None
) -> str:
    """The user message of a task without ``prompt``: what the run knows, as JSON lines."""
    lines = []
    if subject is not None:
        lines.append(f"Subject: {subject}")
    if args:
        lines.append(f"Args: {_json(dict(args))}")
    if event is not None:
        lines.append(f"Event: {_json(dict(event))}")
    return "\n".join(lines) or "Run the task now."


class _Formatter(string.Formatter):
    def __init__(self, values: Mapping[str, Any]) -> None:
        super().__init__()
        self.values = values

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if key not in self.values:
            raise PromptError(f"prompt: unknown field {{{key}}}; {_HELP}")
        value = self.values[str(key)]
        if value is None:
            raise PromptError(f"prompt: the template uses {{{key}}} but the run has no {key}")
        return value

    def get_field(
        self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]
    ) -> tuple[Any, str]:
        first, keys = split_field(field_name)
        value = self.get_value(first, args, kwargs)
        path = first
        for key in keys:
            value = _lookup(value, key, path)
            path = f"{path}.{key}"
        return value, first

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, str) or format_spec:
            return format(value, format_spec)
        return _json(value)


def _lookup(value: Any, key: int | str, path: str) -> Any:
    if isinstance(value, Mapping):
        if str(key) in value:
            return value[str(key)]
        known = ", ".join(sorted(map(str, value))) or "none"
        raise PromptError(f"prompt: {{{path}.{key}}} is missing (keys of {path}: {known})")
    if isinstance(value, list) and isinstance(key, int):
        if -len(value) <= key < len(value):
            return value[key]
        raise PromptError(f"prompt: {{{path}[{key}]}} is out of range ({len(value)} items)")
    raise PromptError(
        f"prompt: cannot look up {key!r} in {{{path}}}, which is a {type(value).__name__}"
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
