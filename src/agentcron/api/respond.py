"""JSON answers: the models' ``to_dict()`` shapes, encoded once (no response-model pass)."""

from __future__ import annotations

import json
import math
from typing import Any

from starlette.responses import Response

__all__ = ["reply"]

_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


def reply(data: Any, status: int = 200, *, headers: dict[str, str] | None = None) -> Response:
    """``data`` as a JSON response. A non-finite float (which JSON cannot carry, and which a
    task result may hold) becomes ``null`` rather than an invalid document or a 500."""
    try:
        body = _encode(data)
    except ValueError:
        body = _encode(_finite(data))
    return Response(body, status, headers=headers, media_type="application/json")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
