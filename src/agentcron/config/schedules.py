"""The ``[[schedule]]`` entries: each field checked, the task found (or imported, for a
``module:function`` path), its args fitted to the task's signature and its prompt template
to what the schedule's runs will have."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from agentcron.agents.prompt import unfillable
from agentcron.callbacks import ResultCallback, as_callback
from agentcron.config.document import Document, KeyPath, close_match, where
from agentcron.config.model import Settings
from agentcron.config.modules import import_function
from agentcron.config.settings import error_text, text
from agentcron.errors import ValidationError
from agentcron.models import ScheduleSource
from agentcron.specs import SCHEDULE_FIELDS, Built, build_schedule
from agentcron.tasks import Task, check_fit, default_registry, make_task

__all__ = ["Known", "build_entry", "read_schedules"]

Errors = list[tuple[str, str]]  # (field, "field: message")
REQUIRED = {
    "task": "the name of a registered task, or 'module:function'",
    "trigger": "such as 'every 5m', '0 9 * * 1-5', 'idle 30m' or 'manual'",
}
_STANDINS: dict[str, Any] = {"trigger": "manual", "task": "unknown-task", "timezone": "UTC"}


@dataclass
class Known:
    """The tasks a schedule may name: registered ones, and those the config defines.

    ``checked``: the task modules were imported, so a name found nowhere is a problem.
    ``declared``: tasks the config defines (``[[task]]``, ``module:function``), by name.
    ``prompts``: the prompt template of each ``[[task]]`` that has one.
    ``failed``: the names of ``[[task]]`` entries that have problems (reported there, not
    again at each schedule that names them).
    """

    checked: bool = True
    declared: dict[str, Task] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)

    def find(self, name: str) -> Task | None:
        if name in self.declared:
            return self.declared[name]
        return default_registry.get(name) if name in default_registry else None

    def resolve(self, name: str) -> Task | None:
        """The task ``name``; a ``module:function`` path not registered is imported and
        defined under that exact name (default options). Raises `ValidationError`."""
        found = self.find(name)
        if found is None and ":" in name and self.checked:
            found = make_task(import_function(name), name=name)
            self.declared[name] = found
        return found

    def names(self) -> list[str]:
        return [*default_registry.names(), *self.declared]


def read_schedules(doc: Document, settings: Settings, known: Known, now: datetime) -> list[Built]:
    """Build every ``[[schedule]]`` entry (relative triggers such as ``in 30m`` count from
    ``now``); note each problem in ``doc``."""
    entries = doc.data.get("schedule", [])
    if not isinstance(entries, list):
        doc.add(("schedule",), "schedule: must be a list of tables ([[schedule]])")
        return []
    built: list[Built] = []
    for index, entry in enumerate(entries):
        at: KeyPath = ("schedule", index)
        label = where("schedule", index, entry, keys=("name", "task"))
        if not isinstance(entry, Mapping):
            doc.add(at, f"{label}must be a table of schedule fields")
            continue
        meant = doc.check_keys(entry, at, SCHEDULE_FIELDS | {"result_callback"}, label)
        fields = {k: v for k, v in entry.items() if k in SCHEDULE_FIELDS}
        result, errors = build_entry(fields, settings.timezone, now, known, meant)
        callback = _callback(entry, errors)
        for key, message in errors:
            doc.add((*at, key), f"{label}{message}")
        if result is not None and not errors:
            result = dataclasses.replace(result, result_callback=callback)
            add_unique(doc, built, result, (*at, "name"), label)
    return built


def _callback(entry: Mapping[str, Any], errors: Errors) -> ResultCallback | None:
    """The schedule's ``result_callback`` (imported now), or None."""
    if "result_callback" not in entry:
        return None
    try:
        return as_callback(text(entry["result_callback"], "result_callback"))
    except ValidationError as exc:
        errors.append(("result_callback", str(exc)))
        return None


def add_unique(doc: Document, built: list[Built], new: Built, at: KeyPath, label: str) -> None:
    """Append ``new`` unless a schedule of that name (and namespace) is there already."""
    spec = new.spec
    if any((b.spec.namespace, b.spec.name) == (spec.namespace, spec.name) for b in built):
        doc.add(at, f"{label}name: {spec.name!r} is used twice")
        return
    built.append(new)


def build_entry(
    fields: Mapping[str, Any],
    timezone: str,
    now: datetime,
    known: Known,
    meant: Iterable[str] = (),
) -> tuple[Built | None, Errors]:
    """Build one schedule: the `Built`, or None and every problem as ``(field, text)``.
    ``meant``: required keys written misspelled (reported as unknown keys already)."""
    values = {"timezone": timezone} | dict(fields)
    errors: Errors = []
    skip = set(meant)
    for key, example in REQUIRED.items():
        if key not in values:
            if key not in skip:
                errors.append((key, f"{key}: required ({example})"))
            values[key] = _STANDINS[key]
            skip.add(key)
    result, failed = _build(values, now)
    errors += failed
    bad = {key for key, _ in errors} | skip
    task = _task(values.get("task"), known, bad, errors)
    if result is None or task is None:
        return None, errors
    if "args" not in bad:
        _fit(task, result, errors)
    prompt = known.prompts.get(task.name)
    if prompt and not bad & {"trigger", "args", "for_each_subject"}:
        _fill(prompt, task.name, result, errors)
    return (None if errors else result), errors


def _build(values: dict[str, Any], now: datetime) -> tuple[Built | None, Errors]:
    """Build; on a bad field, note it, stand in a default (or drop it) and try again, so that
    every bad field of the entry is reported, not only the first. The result is built with
    the stand-ins: the caller decides what to check with it."""
    errors: Errors = []
    while True:
        try:
            built = build_schedule(**values, now=now, source=ScheduleSource.CONFIG, new=False)
        except ValidationError as exc:
            key = exc.field if exc.field in SCHEDULE_FIELDS else "trigger"
            errors.append((key, error_text(exc)))
            if exc.field is None or sum(k == key for k, _ in errors) > 1:
                return None, errors
            if key in _STANDINS:
                values[key] = _STANDINS[key]
            else:
                values.pop(key, None)
            continue
        return built, errors


def _task(name: Any, known: Known, bad: set[str], errors: Errors) -> Task | None:
    if "task" in bad or not isinstance(name, str):
        return None
    try:
        found = known.resolve(name)
    except ValidationError as exc:
        errors.append(("task", str(exc)))
        return None
    if found is None and known.checked and name not in known.failed:
        errors.append(("task", f"task: {unknown_task(name, known.names())}"))
    return found


def unknown_task(name: str, names: Iterable[str]) -> str:
    text = f"task {name!r} is not registered (is its module in [agentcron] tasks?)"
    close = close_match(name, names)
    return f"{text}; did you mean {close!r}?" if close else text


def _fit(task: Task, built: Built, errors: Errors) -> None:
    try:
        check_fit(task, built.spec.args)
    except ValidationError as exc:
        errors.append(("args", str(exc)))


def _fill(prompt: str, task: str, built: Built, errors: Errors) -> None:
    kind = built.trigger.kind
    subject: bool | None
    if kind in ("idle", "messages"):
        subject = True
    elif kind == "event":
        subject = True if getattr(built.trigger, "subjects", None) else None
    else:
        subject = built.spec.for_each_subject is not None
    hint = " (add for_each_subject to run once per subject)" if subject is False else ""
    for problem in unfillable(prompt, args=built.spec.args, subject=subject, event=kind == "event"):
        text = f"the prompt of {task!r} uses {problem}"
        errors.append(("task", f"task: {text}{hint if '{subject' in problem else ''}"))
