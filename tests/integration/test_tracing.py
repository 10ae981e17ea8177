"""OpenTelemetry: one span per attempt, with the run's attributes and outcome."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentcron import App

otel_sdk = pytest.importorskip("opentelemetry.sdk.trace")
from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import (  # noqa: E402
    InMemorySpanExporter,
)
from opentelemetry.trace import StatusCode  # noqa: E402

_EXPORTER = InMemorySpanExporter()


def setup_module() -> None:
    provider = otel_sdk.TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(_EXPORTER))
    trace.set_tracer_provider(provider)


async def test_each_attempt_is_a_span_with_its_outcome(tmp_path: Path) -> None:
    _EXPORTER.clear()
    app = App(f"sqlite:///{tmp_path / 'a.db'}", maintenance=False)

    @app.task
    async def fine(n: int) -> int:
        return n

    @app.task(retries=1, backoff="1ms")
    async def broken() -> None:
        raise RuntimeError("provider down")

    async with app:
        ok = await app.enqueue("fine", {"n": 3})
        bad = await app.enqueue("broken")
        await app.run(burst=True)
    spans = {(s.attributes["agentcron.run.id"], s.attributes["agentcron.run.attempt"]): s
             for s in _EXPORTER.get_finished_spans()}  # fmt: skip
    good = spans[(ok.id, 1)]
    assert good.name == "agentcron.run fine"
    assert good.kind is trace.SpanKind.CONSUMER
    assert good.status.status_code is StatusCode.OK
    assert good.attributes["agentcron.run.status"] == "succeeded"
    assert {(bad.id, 1), (bad.id, 2)} <= set(spans)  # one span per attempt
    last = spans[(bad.id, 2)]
    assert last.status.status_code is StatusCode.ERROR
    assert "RuntimeError: provider down" in (last.status.description or "")
    assert last.attributes["agentcron.run.status"] == "dead"


def test_no_span_until_a_tracer_provider_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import UTC, datetime

    from agentcron.models import Run, RunStatus
    from agentcron.tracing import run_span

    now = datetime.now(UTC)
    run = Run(id=1, namespace="default", task="t", queue="default", priority=0,
              schedule_id=None, subject=None, status=RunStatus.RUNNING, args={}, attempts=1,
              max_attempts=1, timeout=None, scheduled_for=None, queued_at=now,
              available_at=now, started_at=now, finished_at=None, result=None, error=None,
              worker=None, lease_expires_at=None, dedup_key=None, trigger_info=None)  # fmt: skip
    with run_span(run) as span:
        assert span is not None  # the SDK provider of this module
        assert span.is_recording()
    monkeypatch.setattr(trace, "get_tracer_provider", trace.ProxyTracerProvider)
    with run_span(run) as span:
        assert span is None  # only the API: nothing made
