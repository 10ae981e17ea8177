"""The ``[agentcron]`` table: each setting read and checked, every bad one noted."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from agentcron.config.document import Document, close_match
from agentcron.config.model import LLMSettings, Settings
from agentcron.durations import parse_duration
from agentcron.errors import InvalidTrigger, ValidationError
from agentcron.specs import check_name
from agentcron.triggers._time import load_zone

__all__ = ["LLM_FIELDS", "SETTINGS_FIELDS", "error_text", "read_settings", "relative_db", "text"]

SETTINGS_FIELDS = frozenset(
    {"db", "tasks", "concurrency", "queues", "timezone", "retention", "lease", "shutdown_timeout",
     "llm", "max_schedules", "connect_timeout", "reconnect_max_delay"}
)  # fmt: skip
LLM_FIELDS = frozenset({"base_url", "api_key_env", "model"})
WHERE = "[agentcron]: "
_DB_SCHEMES = ("sqlite", "postgresql", "postgres")  # as agentcron.store.create_store reads


def error_text(exc: ValidationError) -> str:
    """``field: message``; a trigger's inner field is shown under ``trigger``."""
    if isinstance(exc, InvalidTrigger) and exc.field not in (None, "trigger", "timezone"):
        return f"trigger: {exc}"
    return str(exc)


def read_settings(doc: Document) -> Settings:
    """The settings of ``doc`` (defaults for the bad ones, each noted in ``doc``)."""
    raw = doc.data.get("agentcron", {})
    if not isinstance(raw, Mapping):
        doc.add(("agentcron",), "agentcron: must be a table of settings ([agentcron])")
        return Settings()
    doc.check_keys(raw, ("agentcron",), SETTINGS_FIELDS, WHERE)
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in SETTINGS_FIELDS:
            continue
        try:
            values[key] = _READERS[key](value, key)
        except ValidationError as exc:  # a field "llm.model" is at ("agentcron", "llm", "model")
            doc.add(("agentcron", *(exc.field or key).split(".")), WHERE + error_text(exc))
    db = values.get("db")
    if isinstance(db, str):
        values["db"] = relative_db(db, doc.path.parent)
    return Settings(**values)


def relative_db(url: str, folder: Path) -> str:
    """A relative SQLite path in a config file is relative to the file's folder."""
    prefix = "sqlite:///"
    if not url.startswith(prefix) or url.startswith(prefix + "/"):
        return url
    rest = url[len(prefix) :]
    if not rest or rest.startswith(":memory:"):
        return url
    return f"{prefix}{(folder / rest).resolve()}"


# -- readers: (value, key) -> value, raising ValidationError(field=key) ------------------------
def text(value: Any, key: str) -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(f"expected a non-empty string, got {value!r}", field=key)
    return value


def _db(value: Any, key: str) -> str:
    url = text(value, key)
    if ":" not in url or url.split(":", 1)[0].lower() not in _DB_SCHEMES:
        raise ValidationError(
            f"{url!r} is not a store URL: write sqlite:///path/to/file.db or "
            "postgresql://user@host/dbname",
            field=key,
        )
    return url


def _names(value: Any, key: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(v, str) and v for v in items):
        raise ValidationError(f"expected a list of names, got {value!r}", field=key)
    return tuple(items)


def _queues(value: Any, key: str) -> tuple[str, ...]:
    return tuple(check_name(name, key) for name in _names(value, key))


def _positive(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"expected a whole number >= 1, got {value!r}", field=key)
    return value


def _zone(value: Any, key: str) -> str:
    load_zone(text(value, key))
    return str(value)


def _duration(value: Any, key: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, str | int | float | timedelta):
        raise ValidationError(f"expected a duration such as '30s', got {value!r}", field=key)
    result = parse_duration(value, field=key)
    if result <= timedelta(0):
        raise ValidationError("must be a positive duration", field=key)
    return result


def _max_schedules(value: Any, key: str) -> int | None:
    return None if value is False else _positive(value, key)


def _retention(value: Any, key: str) -> timedelta | None:
    return None if value is False else _duration(value, key)


def _llm(value: Any, key: str) -> LLMSettings:
    if not isinstance(value, Mapping):
        raise ValidationError("must be a table ([agentcron.llm])", field=key)
    for name in value:
        if name not in LLM_FIELDS:
            close = close_match(name, LLM_FIELDS)
            hint = f" (did you mean {close!r}?)" if close else ""
            raise ValidationError(f"unknown key{hint}", field=f"{key}.{name}")
    return LLMSettings(**{name: text(v, f"{key}.{name}") for name, v in value.items()})


_READERS = {
    "db": _db,
    "tasks": _names,
    "concurrency": _positive,
    "queues": _queues,
    "timezone": _zone,
    "retention": _retention,
    "lease": _duration,
    "shutdown_timeout": _duration,
    "llm": _llm,
    "max_schedules": _max_schedules,
    "connect_timeout": _duration,
    "reconnect_max_delay": _duration,
}
