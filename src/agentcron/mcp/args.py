"""Reading a tool call's arguments: every problem is a `ValidationError` naming the argument.

The SDK does not check arguments against a tool's input schema, so this is where they are
checked, with the same messages as the other surfaces (`agentcron.specs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import timedelta
from typing import Any

from agentcron.durations import parse_duration
from agentcron.errors import ValidationError

__all__ = ["Args"]

MAX_TEXT = 1000


class Args:
    """The arguments of one call: ``args.text("task")``, ``args.whole("limit", 20, 1, 100)``."""

    def __init__(self, given: Mapping[str, Any] | None, allowed: Iterable[str]) -> None:
        self._given = dict(given or {})
        known = set(allowed)
        for key in sorted(self._given):
            if key not in known:
                takes = ", ".join(sorted(known)) or "no arguments"
                raise ValidationError(f"unknown argument (this tool takes: {takes})", field=key)

    def raw(self, key: str) -> Any:
        """The value as given (None when absent or null)."""
        return self._given.get(key)

    def text(self, key: str, *, max_length: int = MAX_TEXT) -> str:
        """A required, non-empty string."""
        value = self.optional_text(key, max_length=max_length)
        if value is None:
            raise ValidationError("is required", field=key)
        return value

    def optional_text(self, key: str, *, max_length: int = MAX_TEXT) -> str | None:
        value = self._given.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ValidationError(f"must be a string, got {_kind(value)}", field=key)
        if not value.strip():
            raise ValidationError("must not be empty", field=key)
        if len(value) > max_length:
            raise ValidationError(f"at most {max_length} characters", field=key)
        return value

    def whole(self, key: str, default: int | None, low: int, high: int) -> int | None:
        """A whole number in ``[low, high]`` (``default`` when absent)."""
        value = self._given.get(key)
        if value is None:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(f"must be a whole number between {low} and {high}", field=key)
        return value

    def required_whole(self, key: str, low: int, high: int) -> int:
        value = self.whole(key, None, low, high)
        if value is None:
            raise ValidationError("is required", field=key)
        return value

    def trigger(self, key: str) -> str | dict[str, Any]:
        """A trigger: text in the trigger grammar or the object form."""
        value = self._given.get(key)
        if isinstance(value, Mapping):
            return dict(value)
        if value is None or isinstance(value, str):
            return self.text(key)
        raise ValidationError(f"must be a string or an object, got {_kind(value)}", field=key)

    def task_args(self, key: str) -> dict[str, Any] | list[Any] | None:
        """A task's arguments: an object (keyword) or an array (positional); None when absent.
        Their size and their fit to the task are checked where the run or schedule is made."""
        value = self._given.get(key)
        if value is None or isinstance(value, dict | list):
            return value
        raise ValidationError(
            f"must be an object (keyword arguments) or an array (positional arguments), got "
            f"{_kind(value)}",
            field=key,
        )

    def duration(self, key: str) -> timedelta | None:
        """A duration: ``"30s"``, ``"1h30m"``, ``"PT5M"`` or a number of seconds; not negative."""
        value = self._given.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError(f"must be a duration like '30s', got {_kind(value)}", field=key)
        result = parse_duration(value, field=key)
        if result < timedelta(0):
            raise ValidationError("must not be negative", field=key)
        return result


def _kind(value: Any) -> str:
    return {
        bool: "a boolean", int: "a number", float: "a number", str: "a string",
        list: "an array", dict: "an object",
    }.get(type(value), type(value).__name__)  # fmt: skip
