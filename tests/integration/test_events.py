"""Events end to end: event schedules firing tasks with the event as input, chaining on run
events, debounce, subscriptions across App instances and restarts, and input errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest

from agentcron import App, RunContext, RunStatus, ValidationError
from agentcron.clock import ManualClock
from agentcron.models import Event
from conftest import WaitFor, runs_of

pytestmark = pytest.mark.timeout(60)


def close(a: datetime | None, b: datetime) -> bool:
    return a is not None and abs(a - b) < timedelta(milliseconds=1)


async def next_event(events: Any, timeout: float = 5.0) -> Event:
    event: Event = await asyncio.wait_for(anext(events), timeout)
    return event


# -- event schedules -------------------------------------------------------------------------------
async def test_event_schedule_runs_the_task_with_the_event(
    make_app: Callable[..., App], run_app: Any, wait_for: WaitFor
) -> None:
    app = make_app()
    seen: list[dict[str, Any] | None] = []

    @app.task
    async def welcome(*, ctx: RunContext) -> str:
        seen.append(ctx.event)
        return f"hello {ctx.subject}"

    app.schedule(welcome, "on user.signup", name="welcome")
    async with run_app(app):
        event = await app.publish("user.signup", {"plan": "pro"}, subject="user:42")
        await wait_for(lambda: seen, what="the welcome task to run")
        (run,) = await runs_of(app, schedule="welcome")
        done = await wait_for(lambda: _final(app, run.id), what="the welcome run to finish")
    assert done.status is RunStatus.SUCCEEDED
    assert done.result == "hello user:42"
    assert seen == [event.to_dict()]
    assert seen[0] is not None
    assert seen[0]["data"] == {"plan": "pro"}
    assert done.subject == "user:42"
    assert done.trigger_info == {"schedule": "welcome", "kind": "event", "event": event.to_dict()}


async def test_run_succeeded_chains_a_second_task(
    make_app: Callable[..., App], run_app: Any, wait_for: WaitFor
) -> None:
    app = make_app()
    chained: list[dict[str, Any]] = []

    @app.task
    async def extract() -> dict[str, int]:
        return {"rows": 3}

    @app.task
    async def report(*, ctx: RunContext) -> None:
        assert ctx.event is not None
        if ctx.event["data"]["task"] == "extract":
            chained.append(ctx.event)

    app.schedule(report, "on run.succeeded", name="after-extract")
    async with run_app(app):
        first = await app.enqueue(extract)
        await wait_for(lambda: chained, what="report to run after extract")
        reports = await wait_for(
            lambda: _all_final(app, "after-extract"), what="the report runs to finish"
        )
    (event,) = chained
    assert event["type"] == "run.succeeded"
    assert event["data"]["run_id"] == first.id
    assert event["data"]["status"] == "succeeded"
    assert all(r.status is RunStatus.SUCCEEDED for r in reports)
    assert len(reports) == 1  # a report's own success does not fire it again


async def _final(app: App, run_id: int) -> Any:
    run = await app.get_run(run_id)
    return run if run.status.final else None


async def _all_final(app: App, schedule: str) -> Any:
    runs = await runs_of(app, schedule=schedule)
    return runs if runs and all(r.status.final for r in runs) else None


# -- debounce (a manual clock: the scheduler sees exactly the times we set) ------------------------
def _debounce_app(make_app: Callable[..., App], clock: ManualClock, trigger: str) -> App:
    app = make_app(clock=clock)

    @app.task
    async def summarize(*, ctx: RunContext) -> int:
        return len((ctx.event or {}).get("data", {}))

    app.schedule(summarize, trigger, name="summarize")
    return app


async def test_debounce_fires_once_with_all_events(
    make_app: Callable[..., App], clock: ManualClock
) -> None:
    app = _debounce_app(make_app, clock, "on chat.message debounce 300ms")
    async with app:
        sent = []
        for i in range(5):  # 100 ms apart: each one within the debounce of the previous
            sent.append(await app.publish("chat.message", {"i": i}, subject="chat:1"))
            await asyncio.wait_for(app.run(burst=True), 10)
            assert await runs_of(app, schedule="summarize") == []
            clock.advance(0.1)
        clock.advance(0.15)  # 250 ms after the last one: not yet
        await asyncio.wait_for(app.run(burst=True), 10)
        assert await runs_of(app, schedule="summarize") == []
        clock.advance(0.1)  # 350 ms after the last one
        await asyncio.wait_for(app.run(burst=True), 10)
        (run,) = await runs_of(app, schedule="summarize")
    assert run.status is RunStatus.SUCCEEDED
    assert run.subject == "chat:1"
    assert close(run.scheduled_for, sent[-1].created_at + timedelta(milliseconds=300))
    info = run.trigger_info or {}
    assert [e["id"] for e in info["events"]] == [e.id for e in sent]
    assert [e["data"]["i"] for e in info["events"]] == [0, 1, 2, 3, 4]
    assert info["count"] == 5


async def test_debounce_max_wait_caps_the_delay(
    make_app: Callable[..., App], clock: ManualClock
) -> None:
    app = _debounce_app(make_app, clock, "on chat.message debounce 300ms max 500ms")
    async with app:
        sent = []
        for i in range(10):  # a steady stream, 100 ms apart, for a second
            sent.append(await app.publish("chat.message", {"i": i}, subject="chat:1"))
            await asyncio.wait_for(app.run(burst=True), 10)
            clock.advance(0.1)
        clock.advance(1)
        await asyncio.wait_for(app.run(burst=True), 10)
        first, second = await runs_of(app, schedule="summarize")
    assert close(first.scheduled_for, sent[0].created_at + timedelta(milliseconds=500))
    first_ids = [e["id"] for e in (first.trigger_info or {})["events"]]
    second_ids = [e["id"] for e in (second.trigger_info or {})["events"]]
    assert first_ids == [e.id for e in sent[:6]]  # published at 0, 100, ... 500 ms
    assert second_ids == [e.id for e in sent[6:]]  # the next group: no event lost or repeated
    assert close(second.scheduled_for, sent[6].created_at + timedelta(milliseconds=500))


# -- subscriptions ---------------------------------------------------------------------------------
async def test_subscribe_across_two_apps_on_one_file_and_resume(
    make_app: Callable[..., App],
) -> None:
    publisher, listener = make_app(maintenance=False), make_app(maintenance=False)
    async with publisher, listener:
        old = await publisher.publish("user.signup", {"n": 0})
        async with listener.subscribe("user.*") as events:  # only what comes from now on
            assert events.cursor == old.id
            first = await publisher.publish("user.signup", {"n": 1}, subject="user:1")
            await publisher.publish("order.paid", {"n": 2})  # another type: not delivered
            second = await publisher.publish("user.login", {"n": 3})
            assert await next_event(events) == first
            assert await next_event(events) == second
            last_seen = second.id
        missed = [await publisher.publish("user.logout", {"n": n}) for n in (4, 5)]

    reopened = make_app(maintenance=False)  # a restart: resume from the last id seen
    async with reopened, reopened.subscribe("user.*", after=last_seen) as events:
        assert [await next_event(events), await next_event(events)] == missed
        later = await reopened.publish("user.signup", {"n": 6})
        assert await next_event(events) == later
    async with reopened, reopened.subscribe(after=0) as events:  # from the start, every type
        assert (await next_event(events)).id == old.id


async def test_subscribe_sees_run_lifecycle_events(
    make_app: Callable[..., App], run_app: Any
) -> None:
    app = make_app()

    @app.task
    async def work() -> None: ...

    async with run_app(app), app.subscribe("run.*") as events:
        run = await app.enqueue(work)
        types = []
        while "run.succeeded" not in types:
            event = await next_event(events)
            if event.data["run_id"] == run.id:
                types.append(event.type)
    assert types == ["run.queued", "run.started", "run.succeeded"]


async def test_several_subscribers_in_one_process_all_wake(
    make_app: Callable[..., App],
) -> None:
    app = make_app(maintenance=False)
    async with app:
        subs = [app.subscribe("ping.*") for _ in range(5)]
        for sub in subs:
            await sub.start()
        waiting = [asyncio.ensure_future(next_event(sub)) for sub in subs]
        await asyncio.sleep(0)  # every subscriber is waiting
        event = await app.publish("ping.now")
        assert await asyncio.gather(*waiting) == [event] * 5
        for sub in subs:
            await sub.aclose()
        with pytest.raises(StopAsyncIteration):
            await anext(subs[0])


# -- bad input -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "kwargs", "field"),
    [
        (("User Signup",), {}, "type"),
        (("user.signup", [1]), {}, "data"),
        (("user.signup", {"big": "x" * 70_000}), {}, "data"),
        (("user.signup", {"when": object()}), {}, "data"),
        (("user.signup",), {"subject": "s" * 300}, "subject"),
    ],
)
async def test_publish_rejects_bad_input(
    make_app: Callable[..., App], args: tuple[Any, ...], kwargs: dict[str, Any], field: str
) -> None:
    app = make_app(maintenance=False)
    async with app:
        with pytest.raises(ValidationError) as info:
            await app.publish(*args, **kwargs)
        assert info.value.field == field
        async with app.subscribe(after=0) as events:
            assert await app.store.last_event_id() == 0
            assert events.cursor == 0


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pattern": "Not A Pattern"}, "pattern"),
        ({"after": -1}, "after"),
        ({"after": "x"}, "after"),
    ],
)
async def test_subscribe_rejects_bad_input(
    make_app: Callable[..., App], kwargs: dict[str, Any], field: str
) -> None:
    app = make_app(maintenance=False)
    with pytest.raises(ValidationError) as info:
        app.subscribe(**kwargs)
    assert info.value.field == field
