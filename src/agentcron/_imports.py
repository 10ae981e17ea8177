"""Objects named by an import path written by the operator (``"myapp.hooks:notify"``)."""

from __future__ import annotations

import importlib
from typing import Any

from agentcron.errors import ValidationError

__all__ = ["import_object"]


def import_object(path: str, *, field: str, example: str) -> Any:
    """The object at ``module:attr`` (``attr`` may be dotted: ``Jobs.cleanup``). Raises
    `ValidationError` naming ``field``: not such a path (``example`` shows one), a module
    that fails to import (with its error), or a missing attribute."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise ValidationError(f"{path!r} is not an import path like {example!r}", field=field)
    try:
        obj: Any = importlib.import_module(module_name)
    except Exception as exc:  # any error raised while importing the operator's module
        reason = f"{type(exc).__name__}: {exc}".replace("\n", " ")
        raise ValidationError(
            f"cannot import module {module_name!r}: {reason}", field=field
        ) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValidationError(f"{module_name!r} has no attribute {attr!r}", field=field)
        obj = getattr(obj, part)
    return obj
