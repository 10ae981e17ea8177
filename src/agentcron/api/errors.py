"""The one place where errors become HTTP answers: ``{"error": {"code", "message", "field"?}}``.

=====================================  ======  =========================================
error                                  status  code
=====================================  ======  =========================================
malformed JSON body                    400     ``invalid_json``
`Unauthorized`                         401     ``unauthorized`` (with ``WWW-Authenticate``)
`Forbidden`                            403     ``forbidden``
`NotFound` (schedule, run, token)      404     ``schedule_not_found``...
`Conflict`                             409     ``schedule_exists``, ``invalid_run_state``
a body over 1 MiB (`BodyLimit`)         413     ``payload_too_large``
`ValidationError`, `TaskNotFound`,     422     ``invalid_trigger``, ``task_not_found``,
request validation                             ``validation_error``...
`StoreError`                           503     ``store_unavailable`` (with ``Retry-After``:
                                               seconds) / ``store_error``
another `AgentcronError`               400     its class name in snake case
anything else                          500     ``internal_error`` (a bug: logged)
=====================================  ======  =========================================

An unknown task is a 422 naming ``task``, not a 404: it is a bad value in the request body.
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from agentcron.api.respond import reply
from agentcron.api.schemas import ErrorBody, ErrorDetail
from agentcron.errors import (
    AgentcronError,
    Conflict,
    Forbidden,
    InvalidTrigger,
    NotFound,
    StoreError,
    StoreUnavailable,
    TaskNotFound,
    Unauthorized,
    ValidationError,
)

__all__ = ["ERROR_RESPONSES", "error_response", "install_error_handlers"]

log = logging.getLogger("agentcron.api")

_STATUS: tuple[tuple[type[AgentcronError], int], ...] = (
    (Unauthorized, 401),
    (Forbidden, 403),
    (TaskNotFound, 422),
    (NotFound, 404),
    (Conflict, 409),
    (ValidationError, 422),
    (StoreError, 503),
)
_HTTP_CODES = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}


def error_response(
    status: int, code: str, message: str, field: str | None = None, **headers: str
) -> Response:
    error: ErrorDetail = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    body: ErrorBody = {"error": error}
    return reply(body, status, headers=headers or None)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _status_of(exc: AgentcronError) -> int:
    for kind, status in _STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def _field_of(exc: AgentcronError) -> str | None:
    if isinstance(exc, TaskNotFound):
        return "task"
    field = getattr(exc, "field", None)
    return field if isinstance(field, str) else None


async def _agentcron_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AgentcronError)
    status = _status_of(exc)
    kind = InvalidTrigger if isinstance(exc, InvalidTrigger) else type(exc)  # one code for all
    code = _snake(kind.__name__)
    if isinstance(exc, StoreError) and not isinstance(exc, StoreUnavailable):
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
    if isinstance(exc, StoreUnavailable):
        headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after_s)))
    return error_response(status, code, exc.message, _field_of(exc), **headers)


async def _request_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = _most_telling(list(exc.errors()))
    loc = tuple(first.get("loc", ()))
    if first.get("type") == "json_invalid":
        return error_response(400, "invalid_json", f"the body is not valid JSON: {first['msg']}")
    field = ".".join(str(part) for part in loc[1:2]) or None
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    if field is None and loc:
        message = f"{loc[0]}: {message}"
    return error_response(422, "validation_error", message, field)


def _most_telling(errors: list[Any]) -> dict[str, Any]:
    """The first error, preferring, among the alternatives of a union (``"5m"`` or seconds),
    one that says what is wrong with the value over one that says its type is another."""
    if not errors:
        return {}
    first: dict[str, Any] = errors[0]
    for error in errors:
        same_field = tuple(error.get("loc", ()))[:2] == tuple(first.get("loc", ()))[:2]
        if same_field and not str(error.get("type", "")).endswith("_type"):
            return dict(error)
    return first


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, f"http_{exc.status_code}")
    headers = dict(exc.headers or {})
    return error_response(exc.status_code, code, str(exc.detail), **headers)


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error (logged by the server)")


def install_error_handlers(api: FastAPI) -> None:
    api.add_exception_handler(AgentcronError, _agentcron_error)
    api.add_exception_handler(RequestValidationError, _request_invalid)
    api.add_exception_handler(HTTPException, _http_error)
    api.add_exception_handler(Exception, _unexpected)


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (400, "Malformed request body"),
        (401, "Missing, unknown or revoked token"),
        (403, "The token's scope or namespaces do not allow this"),
        (404, "Not found (or not in the token's namespaces)"),
        (409, "Conflict with the current state"),
        (413, "Request body over 1 MiB"),
        (422, "Invalid input; `field` names it"),
        (503, "The store cannot be reached or cannot write now (`Retry-After`: seconds)"),
    )
}
ERROR_RESPONSES[503]["headers"] = {
    "Retry-After": {
        "description": "Seconds after which the request may succeed (store unavailable)",
        "schema": {"type": "integer"},
    }
}
