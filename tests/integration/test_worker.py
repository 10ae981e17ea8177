"""The worker through the public App API, against a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
import pytest

from agentcron import App, PermanentError, RunContext, RunStatus
from agentcron.errors import ValidationError

pytestmark = pytest.mark.timeout(60)


class Flaky(Exception):
    """A transient error (retried)."""


class NotMyJob(Exception):
    """Declared permanent by a task."""


# -- running tasks -------------------------------------------------------------------------------
async def test_async_and_sync_tasks_get_their_context(make_app, list_runs) -> None:
    app: App = make_app()
    seen: dict[str, Any] = {}

    @app.task
    async def greet(name: str, *, ctx: RunContext) -> str:
        ctx.logger.info("greeting %s", name)
        seen["async"] = ctx
        return f"hello {name}"

    @app.task
    def add(a: int, b: int, *, ctx: RunContext) -> int:
        seen["sync"] = ctx
        seen["sync_thread"] = threading.current_thread()
        return a + b

    @app.task
    def plain(x: int) -> dict[str, int]:
        return {"x": x}

    async with app:
        r1 = await app.enqueue(greet, {"name": "ada"}, subject="user:42")
        r2 = await app.enqueue("add", {"a": 2, "b": 3})
        r3 = await app.enqueue(plain, {"x": 7})
        await app.run(burst=True)
        done = {r.id: r for r in await list_runs(app)}

    assert done[r1.id].status is RunStatus.SUCCEEDED
    assert done[r1.id].result == "hello ada"
    assert done[r2.id].result == 5
    assert done[r3.id].result == {"x": 7}
    assert all(r.attempts == 1 and r.error is None for r in done.values())
    assert all(r.started_at and r.finished_at and r.worker for r in done.values())

    ctx = seen["async"]
    assert isinstance(ctx, RunContext)
    assert (ctx.run_id, ctx.task, ctx.attempt, ctx.max_attempts) == (r1.id, "greet", 1, 1)
    assert ctx.subject == "user:42"
    assert ctx.schedule is None
    assert ctx.scheduled_for is None
    assert ctx.args == {"name": "ada"}
    assert ctx.worker == done[r1.id].worker
    assert isinstance(ctx.logger, logging.LoggerAdapter)
    assert seen["sync"].run_id == r2.id
    assert seen["sync"].subject is None
    assert seen["sync_thread"] is not threading.main_thread()  # sync tasks run in a thread


async def test_transient_errors_are_retried_with_backoff_then_succeed(make_app) -> None:
    app: App = make_app()
    attempts: list[int] = []
    stored_errors: list[dict[str, Any] | None] = []

    @app.task(retries=3, backoff=("10ms", "1s"))
    async def shaky(*, ctx: RunContext) -> str:
        attempts.append(ctx.attempt)
        stored_errors.append((await app.get_run(ctx.run_id)).error)  # left by the last attempt
        if ctx.attempt < 3:
            raise Flaky(f"try {ctx.attempt}")
        return "ok"

    async with app:
        run = await app.enqueue(shaky)
        started = time.monotonic()
        await asyncio.wait_for(app.run(burst=True), 10)
        elapsed = time.monotonic() - started
        done = await app.get_run(run.id)

    assert done.status is RunStatus.SUCCEEDED
    assert done.result == "ok"
    assert done.attempts == 3
    assert done.error is None
    assert attempts == [1, 2, 3]
    assert stored_errors[0] is None
    for attempt, error in enumerate(stored_errors[1:], start=1):
        assert error is not None
        assert error["type"] == "Flaky"
        assert error["message"] == f"try {attempt}"
        assert 0 <= error["retry_in"] <= 0.010 * 2 ** (attempt - 1)  # full jitter under the cap
    assert elapsed < 2.0  # 10ms base backoff, not the 1s default


async def test_retries_exhausted_is_dead_with_the_error(make_app) -> None:
    app: App = make_app()
    calls = 0

    last: list[bool] = []

    @app.task(retries=2, backoff="10ms")
    async def doomed(*, ctx: RunContext) -> None:
        nonlocal calls
        calls += 1
        last.append(ctx.is_last_attempt)
        raise RuntimeError("the provider is down")

    async with app:
        run = await app.enqueue(doomed)
        await asyncio.wait_for(app.run(burst=True), 10)
        done = await app.get_run(run.id)

    assert calls == 3
    assert last == [False, False, True]
    assert done.status is RunStatus.DEAD
    assert done.attempts == 3 == done.max_attempts
    assert done.finished_at is not None
    assert done.error is not None
    assert done.error["type"] == "RuntimeError"
    assert done.error["message"] == "the provider is down"
    assert "Traceback" in done.error["traceback"]
    assert "in doomed" in done.error["traceback"]
    assert "RuntimeError: the provider is down" in done.error["traceback"]


@pytest.mark.parametrize(
    "exc",
    [TypeError("bad type"), ValueError("bad value"), PermanentError("give up"), NotMyJob("no")],
    ids=["TypeError", "ValueError", "PermanentError", "custom"],
)
async def test_permanent_errors_fail_without_retry(make_app, exc: BaseException) -> None:
    app: App = make_app()
    calls = 0

    @app.task(retries=3, backoff="10ms", permanent_errors=(NotMyJob,))
    async def strict() -> None:
        nonlocal calls
        calls += 1
        raise exc

    async with app:
        run = await app.enqueue(strict)
        await asyncio.wait_for(app.run(burst=True), 10)
        done = await app.get_run(run.id)

    assert calls == 1
    assert done.status is RunStatus.FAILED
    assert done.attempts == 1
    assert done.error is not None
    assert done.error["type"] == type(exc).__name__
    assert done.error["message"] == str(exc)
    assert done.error.get("permanent") is True


async def test_an_undeclared_custom_error_is_not_permanent(make_app) -> None:
    app: App = make_app()

    @app.task(retries=1, backoff="10ms")
    async def loose() -> None:
        raise NotMyJob("transient here")

    async with app:
        run = await app.enqueue(loose)
        await asyncio.wait_for(app.run(burst=True), 10)
        done = await app.get_run(run.id)
    assert done.status is RunStatus.DEAD
    assert done.attempts == 2


# -- timeouts ------------------------------------------------------------------------------------
async def test_async_timeout_cancels_the_task_and_is_retried(make_app) -> None:
    app: App = make_app()
    cancelled: list[int] = []

    @app.task(timeout="100ms", retries=1, backoff="10ms")
    async def stuck(*, ctx: RunContext) -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            cancelled.append(ctx.attempt)
            raise

    async with app:
        run = await app.enqueue(stuck)
        started = time.monotonic()
        await asyncio.wait_for(app.run(burst=True), 10)
        done = await app.get_run(run.id)

    assert time.monotonic() - started < 3
    assert cancelled == [1, 2]
    assert done.status is RunStatus.DEAD
    assert done.attempts == 2
    assert done.error is not None
    assert done.error["type"] == "TaskTimeout"
    assert "0.1s" in done.error["message"]


async def test_enqueue_timeout_overrides_the_task_timeout(make_app) -> None:
    app: App = make_app()

    @app.task(timeout="10s")
    async def slowish() -> None:
        await asyncio.sleep(30)

    async with app:
        run = await app.enqueue(slowish, timeout="50ms")
        await asyncio.wait_for(app.run(burst=True), 10)
        done = await app.get_run(run.id)
    assert done.status is RunStatus.DEAD
    assert done.error is not None
    assert done.error["type"] == "TaskTimeout"


async def test_sync_task_timeout_in_a_thread(make_app) -> None:
    app: App = make_app()
    release = threading.Event()

    @app.task(timeout="100ms")
    def blocking() -> str:
        release.wait(10)
        return "late"

    try:
        async with app:
            run = await app.enqueue(blocking)
            started = time.monotonic()
            await asyncio.wait_for(app.run(burst=True), 10)
            done = await app.get_run(run.id)
        assert time.monotonic() - started < 3
        assert done.status is RunStatus.DEAD
        assert done.error is not None
        assert done.error["type"] == "TaskTimeout"
        assert "hard_timeout" in done.error["message"]  # says how to get a killable one
    finally:
        release.set()  # let the orphaned thread end


def child_sleeps(pid_file: str) -> None:
    Path(pid_file).write_text(str(os.getpid()))
    time.sleep(60)


def child_value(x: int) -> dict[str, int]:
    return {"pid_differs": int(os.getpid() != x), "double": 2 * x}


def child_raises() -> None:
    raise ValueError("bad input in the child")


def child_with_context(*, ctx: RunContext) -> dict[str, Any]:
    ctx.logger.info("in the child")
    return {"run_id": ctx.run_id, "attempt": ctx.attempt, "subject": ctx.subject}


async def test_hard_timeout_kills_the_task_process(make_app, tmp_path: Path, wait_for) -> None:
    app: App = make_app()
    app.task(hard_timeout="500ms")(child_sleeps)
    pid_file = tmp_path / "child.pid"

    async with app:
        run = await app.enqueue("child_sleeps", {"pid_file": str(pid_file)})
        started = time.monotonic()
        await asyncio.wait_for(app.run(burst=True), 15)
        elapsed = time.monotonic() - started
        done = await app.get_run(run.id)

    assert elapsed < 5
    assert done.status is RunStatus.DEAD
    assert done.error is not None
    assert done.error["type"] == "TaskTimeout"
    assert "hard timeout" in done.error["message"]
    pid = int(pid_file.read_text())
    assert pid != os.getpid()

    def gone() -> bool:
        try:
            return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    await wait_for(gone, 5, what=f"child process {pid} to be gone")


async def test_hard_timeout_task_returns_and_raises_across_the_process(make_app) -> None:
    app: App = make_app()
    app.task(hard_timeout="20s")(child_value)
    app.task(hard_timeout="20s")(child_raises)

    async with app:
        ok = await app.enqueue("child_value", {"x": os.getpid()})
        bad = await app.enqueue("child_raises")
        await asyncio.wait_for(app.run(burst=True), 20)
        ok_done, bad_done = await app.get_run(ok.id), await app.get_run(bad.id)

    assert ok_done.status is RunStatus.SUCCEEDED
    assert ok_done.result == {"pid_differs": 1, "double": 2 * os.getpid()}
    assert bad_done.status is RunStatus.FAILED  # ValueError is permanent, also from a child
    assert bad_done.error is not None
    assert bad_done.error["type"] == "ValueError"
    assert bad_done.error["message"] == "bad input in the child"
    assert "child_raises" in bad_done.error["traceback"]


async def test_hard_timeout_task_gets_its_context(make_app) -> None:
    app: App = make_app()
    app.task(hard_timeout="20s")(child_with_context)

    async with app:
        run = await app.enqueue("child_with_context", subject="user:7")
        await asyncio.wait_for(app.run(burst=True), 20)
        done = await app.get_run(run.id)

    assert done.status is RunStatus.SUCCEEDED, done.error
    assert done.result == {"run_id": run.id, "attempt": 1, "subject": "user:7"}


def test_hard_timeout_is_refused_for_async_tasks(db_url: str) -> None:
    app = App(db_url)
    with pytest.raises(ValidationError) as err:

        @app.task(hard_timeout="1s")
        async def nope() -> None: ...

    assert err.value.field == "hard_timeout"


# -- results -------------------------------------------------------------------------------------
class _Opaque:
    pass


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("x" * 100_000, "more than the 65536-byte limit"),
        ({1, 2, 3}, "returned set, which is not JSON-serializable"),
        (_Opaque(), "returned _Opaque, which is not JSON-serializable"),
        (float("nan"), "not JSON-serializable"),
    ],
    ids=["too-large", "set", "object", "nan"],
)
async def test_unstorable_results_fail_with_a_clear_message(
    make_app, value: object, expected: str
) -> None:
    app: App = make_app()

    @app.task(retries=3)
    async def produce() -> object:
        return value

    async with app:
        run = await app.enqueue(produce)
        await asyncio.wait_for(app.run(burst=True), 10)
        done = await app.get_run(run.id)

    assert done.status is RunStatus.FAILED  # retrying cannot make the result storable
    assert done.attempts == 1
    assert done.result is None
    assert done.error is not None
    assert expected in done.error["message"]


async def test_results_are_stored_as_json(make_app) -> None:
    app: App = make_app()
    value = {"summary": "ok", "tokens": [1, 2, 3], "nested": {"ok": True, "none": None}, "π": 3.5}

    @app.task
    async def produce() -> dict[str, Any]:
        return value

    @app.task
    async def tuple_result() -> tuple[int, int]:
        return (1, 2)

    async with app:
        run = await app.enqueue(produce)
        run2 = await app.enqueue(tuple_result)
        await app.run(burst=True)
        assert (await app.get_run(run.id)).result == value
        assert (await app.get_run(run2.id)).result == [1, 2]  # as JSON has it


# -- cancellation --------------------------------------------------------------------------------
async def test_cancel_a_queued_run_it_never_starts(make_app) -> None:
    app: App = make_app()
    calls = 0

    @app.task
    async def never() -> None:
        nonlocal calls
        calls += 1

    async with app:
        run = await app.enqueue(never)
        cancelled = await app.cancel_run(run.id)
        assert cancelled.status is RunStatus.CANCELLED
        await asyncio.wait_for(app.run(burst=True), 5)
        done = await app.get_run(run.id)

    assert calls == 0
    assert done.status is RunStatus.CANCELLED
    assert done.started_at is None
    assert done.attempts == 0
    assert done.finished_at is not None


async def test_cancel_a_running_async_run(make_app, run_app, wait_for, wait_final) -> None:
    app: App = make_app(lease="300ms")
    started = asyncio.Event()
    never = asyncio.Event()
    saw_cancel: list[bool] = []

    @app.task
    async def waiting() -> None:
        started.set()
        try:
            await never.wait()
        except asyncio.CancelledError:
            saw_cancel.append(True)
            raise

    async with run_app(app):
        run = await app.enqueue(waiting)
        await asyncio.wait_for(started.wait(), 5)
        requested = await app.cancel_run(run.id)
        assert requested.status is RunStatus.RUNNING
        assert requested.cancel_requested
        t0 = time.monotonic()
        done = await wait_final(app, run.id, 3)
        assert time.monotonic() - t0 < 2  # at the next heartbeat (lease / 3)

    assert done.status is RunStatus.CANCELLED
    assert done.error is not None
    assert done.error["type"] == "Cancelled"
    assert saw_cancel == [True]


async def test_cancel_a_running_sync_run_sets_ctx_cancelled(
    make_app, run_app, wait_for, wait_final
) -> None:
    app: App = make_app(lease="300ms")
    started = threading.Event()
    noticed = threading.Event()

    @app.task
    def cooperative(*, ctx: RunContext) -> str:
        started.set()
        if ctx.cancelled.wait(10):
            noticed.set()
            return "stopped early"
        return "ran out"

    async with run_app(app):
        run = await app.enqueue(cooperative)
        await wait_for(started.is_set, 5, what="the task to start")
        await app.cancel_run(run.id)
        done = await wait_final(app, run.id, 3)
        await wait_for(noticed.is_set, 3, what="the task to see ctx.cancelled")

    assert done.status is RunStatus.CANCELLED


# -- limits and ordering -------------------------------------------------------------------------
async def test_global_concurrency_limit(make_app, gauge_factory) -> None:
    app: App = make_app(concurrency=3)
    gauge = gauge_factory()

    @app.task
    async def busy() -> None:
        with gauge:
            await asyncio.sleep(0.05)

    async with app:
        await app.enqueue_many([{"task": "busy"} for _ in range(12)])
        await asyncio.wait_for(app.run(burst=True), 10)
        stats = await app.stats()

    assert gauge.entered == 12
    assert gauge.peak == 3
    assert stats.runs_by_status == {"succeeded": 12}


async def test_per_task_max_concurrency(make_app, gauge_factory) -> None:
    app: App = make_app(concurrency=8)
    limited, free = gauge_factory(), gauge_factory()

    @app.task(max_concurrency=2)
    async def scarce() -> None:
        with limited:
            await asyncio.sleep(0.1)

    @app.task
    async def plenty() -> None:
        with free:
            await asyncio.sleep(0.1)

    async with app:
        await app.enqueue_many(
            [{"task": "scarce"} for _ in range(10)] + [{"task": "plenty"} for _ in range(6)]
        )
        await asyncio.wait_for(app.run(burst=True), 10)
        stats = await app.stats()

    assert stats.runs_by_status == {"succeeded": 16}
    assert limited.peak == 2
    assert free.peak >= 4  # the limit of one task does not hold back the others


async def test_priority_order(make_app) -> None:
    app: App = make_app(concurrency=1)
    order: list[str] = []

    @app.task(priority=1)
    async def job(label: str) -> None:
        order.append(label)

    async with app:
        await app.enqueue_many(
            [
                {"task": "job", "args": {"label": "p0-a"}, "priority": 0},
                {"task": "job", "args": {"label": "p5-a"}, "priority": 5},
                {"task": "job", "args": {"label": "task-default"}},
                {"task": "job", "args": {"label": "p-1"}, "priority": -1},
                {"task": "job", "args": {"label": "p10"}, "priority": 10},
                {"task": "job", "args": {"label": "p5-b"}, "priority": 5},
                {"task": "job", "args": {"label": "p0-b"}, "priority": 0},
            ]
        )
        await asyncio.wait_for(app.run(burst=True), 10)

    assert order == ["p10", "p5-a", "p5-b", "task-default", "p0-a", "p0-b", "p-1"]


async def test_queues_filter(make_app, list_runs) -> None:
    app_a: App = make_app(queues=["a"])
    ran: list[str] = []

    def register(app: App) -> None:
        @app.task
        async def where(q: str) -> str:
            ran.append(q)
            return q

    register(app_a)
    async with app_a:
        in_a = await app_a.enqueue("where", {"q": "a"}, queue="a")
        in_b = await app_a.enqueue("where", {"q": "b"}, queue="b")
        await asyncio.wait_for(app_a.run(burst=True), 5)  # returns: nothing it may take is left
        assert (await app_a.get_run(in_a.id)).status is RunStatus.SUCCEEDED
        assert (await app_a.get_run(in_b.id)).status is RunStatus.QUEUED
    assert ran == ["a"]

    app_b: App = make_app(queues=["b"])
    register(app_b)
    async with app_b:
        await asyncio.wait_for(app_b.run(burst=True), 5)
        assert (await app_b.get_run(in_b.id)).status is RunStatus.SUCCEEDED
        assert (await app_b.get_run(in_b.id)).queue == "b"
    assert ran == ["a", "b"]


# -- shutdown ------------------------------------------------------------------------------------
async def test_stop_lets_a_running_task_finish(make_app, run_app) -> None:
    app: App = make_app(concurrency=1, shutdown_timeout="5s")
    started = asyncio.Event()

    @app.task
    async def finishing() -> str:
        started.set()
        await asyncio.sleep(0.3)
        return "finished"

    async with run_app(app):
        run = await app.enqueue(finishing)
        await asyncio.wait_for(started.wait(), 5)
        t0 = time.monotonic()
    # run_app's exit called app.stop() and waited for app.run() to return
    stop_took = time.monotonic() - t0

    async with app:
        done = await app.get_run(run.id)
    assert done.status is RunStatus.SUCCEEDED
    assert done.result == "finished"
    assert stop_took < 2


async def test_a_task_running_past_shutdown_timeout_is_handed_back(make_app, run_app) -> None:
    app: App = make_app(concurrency=1, shutdown_timeout="200ms")
    started = asyncio.Event()
    calls = 0

    @app.task
    async def endless(n: int) -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            started.set()
            await asyncio.Event().wait()
        return f"second try {n}"

    async with run_app(app):
        run = await app.enqueue(endless, {"n": 1})
        await asyncio.wait_for(started.wait(), 5)
        t0 = time.monotonic()
    stop_took = time.monotonic() - t0  # concurrency 1: the worker was full when stopped

    async with app:
        back = await app.get_run(run.id)
    assert stop_took < 2
    assert back.status is RunStatus.QUEUED
    assert back.lease_expires_at is None
    assert back.finished_at is None
    assert back.error is not None
    assert back.error["type"] == "WorkerShutdown"

    # another worker picks it up
    async with app:
        await asyncio.wait_for(app.run(burst=True), 5)
        again = await app.get_run(run.id)
    assert again.status is RunStatus.SUCCEEDED
    assert again.result == "second try 1"


async def test_leases_are_kept_while_a_stopping_worker_finishes(
    make_app, run_app, wait_final
) -> None:
    """A worker that is shutting down keeps heartbeating, so another worker does not reap
    the run it is finishing and run it a second time."""
    first: App = make_app(lease="500ms", shutdown_timeout="5s")
    second: App = make_app(lease="500ms")
    executions = 0
    started = asyncio.Event()

    def register(app: App) -> None:
        @app.task
        async def long_tail() -> str:
            nonlocal executions
            executions += 1
            started.set()
            await asyncio.sleep(1.5)  # the work: three leases long
            return "done"

    register(first)
    register(second)
    async with run_app(first):
        run = await first.enqueue("long_tail")
        await asyncio.wait_for(started.wait(), 5)
        async with run_app(second):
            first.stop()  # shutting down, while the second worker keeps reaping
            done = await wait_final(second, run.id, 10)

    assert executions == 1
    assert done.status is RunStatus.SUCCEEDED
    assert done.attempts == 1
    assert done.worker == first.worker.id  # type: ignore[union-attr]


async def test_a_run_whose_worker_died_is_run_again(make_app, run_app, wait_final) -> None:
    app: App = make_app(lease="300ms")

    @app.task
    async def survivor(*, ctx: RunContext) -> int:
        return ctx.attempt

    async with app:
        run = await app.enqueue(survivor, retries=2)
        # a worker claims it and dies (its lease is never extended)
        (claimed,) = await app.store.claim_runs(
            "ghost", now=app.clock.now(), lease=timedelta(milliseconds=200), limit=1
        )
        assert claimed.id == run.id
    async with run_app(app):
        done = await wait_final(app, run.id, 5)
    assert done.status is RunStatus.SUCCEEDED
    assert done.result == 2
    assert done.attempts == 2
    assert done.worker != "ghost"


# -- burst, dedup, delay -------------------------------------------------------------------------
async def test_burst_returns_when_the_queue_is_empty(make_app) -> None:
    app: App = make_app()
    count = 0

    @app.task
    async def one() -> None:
        nonlocal count
        count += 1

    async with app:
        t0 = time.monotonic()
        await asyncio.wait_for(app.run(burst=True), 5)  # nothing at all
        assert time.monotonic() - t0 < 2
        await app.enqueue_many([{"task": "one"} for _ in range(25)])
        await asyncio.wait_for(app.run(burst=True), 10)
        stats = await app.stats()
    assert count == 25
    assert stats.runs_by_status == {"succeeded": 25}


async def test_dedup_key_returns_the_same_run(make_app, list_runs) -> None:
    app: App = make_app()

    @app.task
    async def once(n: int) -> int:
        return n

    async with app:
        a = await app.enqueue(once, {"n": 1}, dedup_key="digest:2030-01-07")
        b = await app.enqueue(once, {"n": 2}, dedup_key="digest:2030-01-07")
        c, d = await app.enqueue_many(
            [
                {"task": "once", "args": {"n": 3}, "dedup_key": "digest:2030-01-07"},
                {"task": "once", "args": {"n": 4}, "dedup_key": "digest:2030-01-08"},
            ]
        )
        other_ns = await app.enqueue(once, {"n": 5}, dedup_key="digest:2030-01-07", namespace="t2")
        await app.run(burst=True)
        runs = await list_runs(app)

    assert a.id == b.id == c.id
    assert b.args == {"n": 1}  # the existing run, not the second request
    assert d.id != a.id
    assert other_ns.id not in (a.id, d.id)  # dedup keys are per namespace
    assert len(runs) == 3
    assert sorted(r.result for r in runs) == [1, 4, 5]


async def test_delay_makes_the_run_wait(make_app, run_app, wait_final) -> None:
    app: App = make_app()

    @app.task
    async def later() -> None:
        return None

    async with run_app(app):
        run = await app.enqueue(later, delay="400ms")
        assert run.available_at - run.queued_at >= timedelta(milliseconds=399)
        assert (await app.get_run(run.id)).status is RunStatus.QUEUED
        done = await wait_final(app, run.id, 3)  # the worker wakes for it (poll is 5s)

    assert done.status is RunStatus.SUCCEEDED
    assert done.started_at is not None
    assert done.started_at >= run.available_at
    assert done.started_at - run.available_at < timedelta(seconds=1)


async def test_a_wake_up_starts_a_new_run_at_once(make_app, run_app, wait_final) -> None:
    app: App = make_app()

    @app.task
    async def quick() -> None:
        return None

    async with run_app(app):
        await asyncio.sleep(0.1)  # let the worker go idle (its poll interval is 5s)
        run = await app.enqueue(quick)
        done = await wait_final(app, run.id, 3)
    assert done.lag is not None
    assert done.lag < timedelta(seconds=1)


async def test_a_task_that_raises_cancelled_error_itself_is_not_left_running(
    make_app, run_app, wait_final
) -> None:
    """CancelledError raised by task code (nobody cancelled the run) is a failed attempt,
    not a run left ``running`` forever while its worker keeps extending the lease."""
    app: App = make_app(lease="300ms")

    @app.task(retries=1, backoff="10ms")
    async def inner_cancel() -> None:
        inner = asyncio.ensure_future(asyncio.sleep(10))
        inner.cancel()
        await inner  # raises CancelledError into the task

    async with run_app(app):
        run = await app.enqueue(inner_cancel)
        done = await wait_final(app, run.id, 3)
    assert done.status is RunStatus.DEAD
    assert done.attempts == 2
    assert done.error is not None
    assert done.error["type"] == "CancelledError"


async def test_huge_error_messages_are_capped(make_app) -> None:
    app: App = make_app()

    @app.task
    async def shouty() -> None:
        raise RuntimeError("!" * 1_000_000)

    async with app:
        run = await app.enqueue(shouty)
        await asyncio.wait_for(app.run(burst=True), 10)
        done = await app.get_run(run.id)
    assert done.status is RunStatus.DEAD
    assert done.error is not None
    assert done.error["message"].startswith("!!!")
    assert len(done.error["message"]) < 20_000
    assert len(done.error["traceback"]) < 20_000


def _app_counting_claims(make_app: Any) -> tuple[App, list[int]]:
    """An app with a no-op task ``quick``, and the number of runs each claim of its worker
    took (the real store's answer), as they come."""
    app: App = make_app()
    claims: list[int] = []

    @app.task
    async def quick() -> None:
        return None

    real_claim = app.store.claim_runs

    async def counting_claim(*args: Any, **kwargs: Any) -> Any:
        runs = await real_claim(*args, **kwargs)
        claims.append(len(runs))
        return runs

    app.store.claim_runs = counting_claim  # type: ignore[method-assign]
    return app, claims


async def test_a_trickle_of_runs_costs_one_claim_each(make_app, run_app, wait_final) -> None:
    """Runs arriving one at a time: the worker claims each once, and neither claims again
    right after a claim that emptied the queue nor wakes up for its own finished runs."""
    app, claims = _app_counting_claims(make_app)
    async with run_app(app):
        for _ in range(20):
            run = await app.enqueue("quick")
            assert (await wait_final(app, run.id, 5)).status is RunStatus.SUCCEEDED
    assert sum(claims) == 20
    # Was 3-4 claims a run: one, then two or three that found nothing. Some empty claims
    # remain: any commit (its own results too) wakes a worker waiting on SQLite.
    assert len(claims) < 2 * 20


async def test_runs_enqueued_in_quick_succession_are_claimed_several_at_a_time(
    make_app, run_app, wait_final
) -> None:
    """A worker woken again and again by single runs claims at most once per few
    milliseconds after a claim that emptied the queue, so a quick trickle is taken in a few
    claims, not one claim (and one result write) per run; the first run is claimed at once."""
    app, claims = _app_counting_claims(make_app)
    async with run_app(app):
        first = await app.enqueue("quick")
        assert (await wait_final(app, first.id, 5)).status is RunStatus.SUCCEEDED
        started = len(claims)
        runs = []
        for _ in range(40):  # one every half millisecond or so, each waking the worker
            runs.append(await app.enqueue("quick"))
            await asyncio.sleep(0.0005)
        for run in runs:
            assert (await wait_final(app, run.id, 5)).status is RunStatus.SUCCEEDED
    assert sum(claims) == 41
    assert len(claims) - started < 20  # without pacing: about one claim per run
