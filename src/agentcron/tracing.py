"""OpenTelemetry spans around each run (``pip install 'agentcron[otel]'``); a no-op without it.

A span ``agentcron.run <task>`` (kind consumer) covers the execution of each attempt, with the
run id, task, attempt, schedule, subject and queue as attributes and the outcome as its status.
Configure an exporter as usual for the OpenTelemetry SDK. Until a tracer provider is set (only
the API installed, or the SDK not configured yet) no span is made at all: the API's no-op
spans would still cost several microseconds a run.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from functools import cache
from typing import Any

from agentcron.models import Run, RunOutcome, RunStatus

__all__ = ["record_outcome", "run_span"]


@cache
def _trace_api() -> Any:
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    return trace


def _tracer() -> Any:
    """The tracer of the configured provider; None without one (checked on each run: a
    provider may be set after agentcron started)."""
    trace = _trace_api()
    if trace is None:
        return None
    provider = trace.get_tracer_provider()
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return _tracer_of(provider)


@cache
def _tracer_of(provider: Any) -> Any:
    from agentcron._version import __version__

    return provider.get_tracer("agentcron", __version__)


@contextlib.contextmanager
def run_span(run: Run) -> Iterator[Any]:
    """A span around one attempt of ``run`` (None when OpenTelemetry is not installed)."""
    tracer = _tracer()
    if tracer is None:
        yield None
        return
    from opentelemetry.trace import SpanKind

    attributes: dict[str, Any] = {
        "agentcron.run.id": run.id,
        "agentcron.task": run.task,
        "agentcron.run.attempt": run.attempts,
        "agentcron.queue": run.queue,
    }
    if run.schedule_id:
        attributes["agentcron.schedule.id"] = run.schedule_id
    if run.subject:
        attributes["agentcron.subject"] = run.subject
    with tracer.start_as_current_span(
        f"agentcron.run {run.task}", kind=SpanKind.CONSUMER, attributes=attributes
    ) as span:
        yield span


def record_outcome(span: Any, outcome: RunOutcome | None) -> None:
    """Put the outcome on the span: status OK for success, ERROR with the error otherwise."""
    if span is None or outcome is None:
        return
    from opentelemetry.trace import Status, StatusCode

    span.set_attribute("agentcron.run.status", outcome.status.value)
    if outcome.status is RunStatus.SUCCEEDED:
        span.set_status(Status(StatusCode.OK))
    elif outcome.error:
        message = f"{outcome.error.get('type')}: {outcome.error.get('message')}"
        span.set_status(Status(StatusCode.ERROR, message))
