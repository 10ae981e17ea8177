"""The scheduler through the public App API, against a real SQLite file."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

import pytest

from agentcron import App, RunContext, RunStatus
from agentcron.clock import ManualClock

pytestmark = pytest.mark.timeout(60)

MS = timedelta(milliseconds=1)


def _assert_grid(times: list[datetime], step: timedelta) -> None:
    """Strictly increasing, each gap a whole number of ``step`` (late slots are superseded,
    never fired twice)."""
    assert len(set(times)) == len(times), f"a slot fired twice: {times}"
    for earlier, later in itertools.pairwise(times):
        gap = later - earlier
        assert gap > timedelta(0)
        steps = round(gap / step)
        assert steps >= 1, f"gap {gap} is less than {step}"
        assert abs(gap - steps * step) <= MS, f"gap {gap} is not n x {step}"


# -- interval and cron ---------------------------------------------------------------------------
async def test_interval_fires_every_slot_once(
    make_app, run_app, wait_for, wait_final, list_runs
) -> None:
    app: App = make_app()
    seen: list[tuple[datetime | None, str | None, int]] = []

    @app.task
    async def tick(*, ctx: RunContext) -> None:
        seen.append((ctx.scheduled_for, ctx.schedule, ctx.run_id))

    app.schedule(tick, "every 1s", name="ticker")  # the shortest interval there is
    async with run_app(app):
        created = (await app.get_schedule("ticker")).created_at
        await wait_for(lambda: len(seen) >= 4, 10, what="four ticks")
        for _, _, run_id in seen[:4]:
            await wait_final(app, run_id)
        schedule = await app.get_schedule("ticker")
        runs = await list_runs(app, schedule="ticker")
    seen = seen[:4]

    slots = [s for s, _, _ in seen]
    assert all(s is not None for s in slots)
    _assert_grid(slots, timedelta(seconds=1))  # type: ignore[arg-type]
    exact = sum(1 for a, b in itertools.pairwise(slots) if b - a == 1000 * MS)  # type: ignore[operator]
    assert exact >= 2, slots  # mostly back to back
    assert {name for _, name, _ in seen} == {"ticker"}
    assert slots[0] - created < timedelta(seconds=1)  # type: ignore[operator]
    # the store agrees: one run per slot, and nothing else fired
    stored = [r.scheduled_for for r in runs]
    assert len(set(stored)) == len(stored)
    assert all(r.schedule_id == schedule.id for r in runs)
    assert all(r.trigger_info and r.trigger_info["schedule"] == "ticker" for r in runs)
    by_id = {r.id: r for r in runs}
    for slot, _, run_id in seen:
        assert by_id[run_id].scheduled_for == slot
        assert by_id[run_id].status is RunStatus.SUCCEEDED
        lag = by_id[run_id].lag
        assert lag is not None
        assert timedelta(0) <= lag < timedelta(seconds=1)
    assert schedule.last_run_at is not None
    assert schedule.next_run_at is not None
    assert schedule.next_run_at > schedule.last_run_at


async def test_cron_with_seconds_fires_each_second(make_app, run_app, wait_for) -> None:
    app: App = make_app()
    slots: list[datetime] = []

    @app.task
    async def second(*, ctx: RunContext) -> None:
        assert ctx.scheduled_for is not None
        slots.append(ctx.scheduled_for)

    app.schedule(second, "*/1 * * * * *", name="per-second")
    async with run_app(app):
        await wait_for(lambda: len(slots) >= 3, 5, what="three fires")
    assert all(s.microsecond == 0 for s in slots)
    _assert_grid(slots, timedelta(seconds=1))
    assert slots[1] - slots[0] == timedelta(seconds=1) or slots[2] - slots[1] == timedelta(
        seconds=1
    )


async def test_two_schedulers_fire_each_slot_once(make_app, run_app, wait_for, list_runs) -> None:
    apps: list[App] = [make_app(), make_app()]
    for app in apps:

        @app.task
        async def shared(*, ctx: RunContext) -> str:
            return ctx.worker

        app.schedule(shared, "every 1s", name="shared", overlap="allow")
    async with run_app(apps[0]), run_app(apps[1]):
        await wait_for(
            lambda: _count(apps[0], "succeeded", schedule="shared", at_least=4), 10, what="4 runs"
        )
    async with apps[0]:
        runs = await list_runs(apps[0], schedule="shared")
    slots = Counter(r.scheduled_for for r in runs)
    assert max(slots.values()) == 1, [s for s, n in slots.items() if n > 1]
    _assert_grid(sorted(slots), timedelta(seconds=1))


async def _count(app: App, status: str, *, schedule: str, at_least: int) -> bool:
    runs, _ = await app.list_runs(schedule=schedule, status=status, limit=1000)
    return len(runs) >= at_least


# -- overlap -------------------------------------------------------------------------------------
async def test_overlap_skip_records_skipped_runs(
    make_app, run_app, wait_for, list_runs, gauge_factory
) -> None:
    app: App = make_app()
    gauge = gauge_factory()

    @app.task
    async def long_job() -> None:
        with gauge:
            await asyncio.sleep(1.5)

    app.schedule(long_job, "every 1s", name="no-overlap", overlap="skip")

    async def enough() -> bool:
        runs = await list_runs(app, schedule="no-overlap")
        statuses = Counter(r.status for r in runs)
        return statuses[RunStatus.SUCCEEDED] >= 2 and statuses[RunStatus.SKIPPED] >= 2

    async with run_app(app):
        await wait_for(enough, 10, what="2 succeeded and 2 skipped runs")
        runs = await list_runs(app, schedule="no-overlap")

    assert gauge.peak == 1
    skipped = [r for r in runs if r.status is RunStatus.SKIPPED]
    for run in skipped:
        assert run.error is not None
        assert run.error["type"] == "Skipped"
        assert "overlap" in run.error["message"]
        assert run.started_at is None
        assert run.attempts == 0
    assert len({r.scheduled_for for r in runs}) == len(runs)  # every slot recorded once


async def test_overlap_queue_runs_one_after_the_other(
    make_app, run_app, wait_for, list_runs, gauge_factory
) -> None:
    app: App = make_app()
    gauge = gauge_factory()

    @app.task
    async def serial_job() -> None:
        with gauge:
            await asyncio.sleep(1.2)

    app.schedule(serial_job, "every 1s", name="queued", overlap="queue")

    async def three_done() -> bool:
        runs = await list_runs(app, schedule="queued", status="succeeded")
        return len(runs) >= 3

    async with run_app(app):
        await wait_for(three_done, 10, what="three runs done")
        runs = await list_runs(app, schedule="queued")

    assert gauge.peak == 1
    assert not [r for r in runs if r.status is RunStatus.SKIPPED]
    assert len([r for r in runs if r.status is RunStatus.QUEUED]) >= 1  # the rest wait
    done = sorted((r for r in runs if r.status is RunStatus.SUCCEEDED), key=lambda r: r.started_at)  # type: ignore[arg-type,return-value]
    for before, after in itertools.pairwise(done):
        assert after.started_at >= before.finished_at  # type: ignore[operator]
    assert [r.scheduled_for for r in done] == sorted(r.scheduled_for for r in done)  # type: ignore[type-var]


async def test_overlap_allow_runs_alongside(make_app, run_app, wait_for, gauge_factory) -> None:
    app: App = make_app()
    gauge = gauge_factory()

    @app.task
    async def overlapping() -> None:
        with gauge:
            await asyncio.sleep(2.5)

    app.schedule(overlapping, "every 1s", name="allowed", overlap="allow")
    async with run_app(app):
        await wait_for(lambda: gauge.peak >= 3, 8, what="three runs at once")


# -- misfire -------------------------------------------------------------------------------------
async def _misfire_case(db_url: str, clock: ManualClock, misfire: str) -> tuple[App, list[Any]]:
    app = App(db_url, clock=clock)
    calls: list[datetime | None] = []

    @app.task
    async def report(*, ctx: RunContext) -> None:
        calls.append(ctx.scheduled_for)

    app.schedule(report, "every 10m", name="report", misfire=misfire)
    async with app:  # stored, first fire at T0 + 10m; then nothing runs for 55 minutes
        assert (await app.get_schedule("report")).next_run_at == clock.now() + timedelta(minutes=10)
    clock.advance(55 * 60)
    await asyncio.wait_for(app.run(burst=True), 10)
    return app, calls


async def test_misfire_once_runs_the_latest_slot(db_url, clock, list_runs) -> None:
    t0 = clock.now()
    app, calls = await _misfire_case(db_url, clock, "once")
    async with app:
        runs = await list_runs(app, schedule="report")
        schedule = await app.get_schedule("report")
    assert len(runs) == 1
    (run,) = runs
    assert run.status is RunStatus.SUCCEEDED
    assert run.scheduled_for == t0 + timedelta(minutes=50)
    assert run.trigger_info is not None
    assert run.trigger_info["missed"] == 4
    assert calls == [t0 + timedelta(minutes=50)]
    assert schedule.next_run_at == t0 + timedelta(minutes=60)
    assert schedule.last_run_at == t0 + timedelta(minutes=50)


async def test_misfire_skip_records_a_skipped_run(db_url, clock, list_runs) -> None:
    t0 = clock.now()
    app, calls = await _misfire_case(db_url, clock, "skip")
    async with app:
        runs = await list_runs(app, schedule="report")
        schedule = await app.get_schedule("report")
    assert calls == []
    assert len(runs) == 1
    (run,) = runs
    assert run.status is RunStatus.SKIPPED
    assert run.scheduled_for == t0 + timedelta(minutes=50)
    assert run.error is not None
    assert "misfire" in run.error["message"]
    assert schedule.next_run_at == t0 + timedelta(minutes=60)


async def test_misfire_all_runs_every_missed_slot(db_url, clock, list_runs) -> None:
    t0 = clock.now()
    app, calls = await _misfire_case(db_url, clock, "all")
    async with app:
        runs = await list_runs(app, schedule="report")
    expected = [t0 + timedelta(minutes=m) for m in (10, 20, 30, 40, 50)]
    assert [r.scheduled_for for r in runs] == expected
    assert all(r.status is RunStatus.SUCCEEDED for r in runs)
    assert sorted(calls) == expected  # type: ignore[type-var]


async def test_misfire_after_real_downtime(make_app, list_runs) -> None:
    """next_run_at set far in the past through the store (the process was down 5 hours)."""
    app: App = make_app()

    @app.task
    async def hourly() -> None:
        return None

    app.schedule(hourly, "every 1h", name="hourly")
    async with app:
        schedule = await app.get_schedule("hourly")
        past = app.clock.now() - timedelta(hours=5, minutes=30)
        await app.store.update_schedule(schedule.id, schedule.spec, past)
        await asyncio.wait_for(app.run(burst=True), 10)
        runs = await list_runs(app, schedule="hourly")
        after = await app.get_schedule("hourly")
    assert len(runs) == 1
    assert runs[0].status is RunStatus.SUCCEEDED
    assert runs[0].trigger_info is not None
    assert runs[0].trigger_info["missed"] == 5
    assert runs[0].scheduled_for == past + timedelta(hours=5)
    assert after.next_run_at == past + timedelta(hours=6)


# -- parking -------------------------------------------------------------------------------------
async def test_unregistered_task_parks_the_schedule_until_a_restart_with_it(
    db_url, clock, list_runs
) -> None:
    t0 = clock.now()
    calls: list[datetime | None] = []

    def app_with_task() -> App:
        app = App(db_url, clock=clock)

        @app.task
        async def nightly(*, ctx: RunContext) -> None:
            calls.append(ctx.scheduled_for)

        app.schedule(nightly, "every 1m", name="nightly")
        return app

    async with app_with_task():
        pass  # stored: first fire at T0 + 1m

    clock.advance(5 * 60)
    other = App(db_url, clock=clock)  # a deploy that lost the task
    await asyncio.wait_for(other.run(burst=True), 10)
    async with other:
        parked = await other.get_schedule("nightly")
        assert await list_runs(other, schedule="nightly") == []
    assert parked.parked
    assert parked.enabled
    assert parked.next_run_at == t0 + timedelta(minutes=1)  # not moved: nothing was lost
    assert calls == []

    again = app_with_task()
    await asyncio.wait_for(again.run(burst=True), 10)
    async with again:
        back = await again.get_schedule("nightly")
        runs = await list_runs(again, schedule="nightly")
    assert not back.parked
    assert back.id == parked.id
    assert len(runs) == 1
    assert runs[0].status is RunStatus.SUCCEEDED
    assert calls == [t0 + timedelta(minutes=5)]
    assert runs[0].trigger_info is not None
    assert runs[0].trigger_info["missed"] == 4


# -- wake-ups ------------------------------------------------------------------------------------
@pytest.mark.parametrize("trigger", ["in 300ms", "every 1s"])
async def test_a_new_schedule_wakes_the_sleeping_scheduler(
    make_app, run_app, wait_for, trigger: str
) -> None:
    app: App = make_app()
    fired: list[datetime] = []

    @app.task
    async def soon(*, ctx: RunContext) -> None:
        assert ctx.scheduled_for is not None
        fired.append(ctx.scheduled_for)

    async with run_app(app):
        assert app.scheduler is not None
        max_sleep = app.scheduler.max_sleep_s
        nothing_due = await app.scheduler.seconds_until_due()
        assert nothing_due is None or nothing_due > 60  # only the daily maintenance
        await asyncio.sleep(0.1)  # let the scheduler go to sleep (up to max_sleep_s)
        added_at = time.monotonic()
        schedule = await app.add_schedule(soon, trigger, name="soon")
        await wait_for(lambda: fired, 3.5, what="the first fire")
        took = time.monotonic() - added_at

    assert max_sleep >= 5
    assert took < 2.5  # the first slot is 0.3 s or 1 s away: well below the max sleep
    assert schedule.next_run_at is not None
    assert fired[0] == schedule.next_run_at


# -- pause, resume, trigger ----------------------------------------------------------------------
async def test_pause_and_resume(db_url, clock, list_runs) -> None:
    app = App(db_url, clock=clock)
    calls = 0

    @app.task
    async def pulse() -> None:
        nonlocal calls
        calls += 1

    app.schedule(pulse, "every 1m", name="pulse")
    clock.advance(61)
    async with app:
        paused = await app.pause("pulse")
        assert not paused.enabled
        assert paused.next_run_at is None
        clock.advance(3600)
        await asyncio.wait_for(app.run(burst=True), 10)
        assert calls == 0
        assert await list_runs(app, schedule="pulse") == []

        resumed = await app.resume("pulse")
        assert resumed.enabled
        assert resumed.next_run_at == clock.now() + timedelta(minutes=1)  # no catch-up
        await asyncio.wait_for(app.run(burst=True), 10)
        assert calls == 0  # nothing due yet
        clock.advance(60)
        await asyncio.wait_for(app.run(burst=True), 10)
        assert calls == 1
        assert (await app.get_schedule("pulse")).next_run_at == clock.now() + timedelta(minutes=1)


async def test_pause_stops_a_running_scheduler(make_app, run_app, wait_for, list_runs) -> None:
    app: App = make_app()
    count = 0

    @app.task
    async def pulse() -> None:
        nonlocal count
        count += 1

    app.schedule(pulse, "every 1s", name="pulse")
    async with run_app(app):
        await wait_for(lambda: count >= 2, 8, what="two pulses")
        await app.pause("pulse")
        fired_before = len(await list_runs(app, schedule="pulse"))
        await asyncio.sleep(2.2)  # two slots long: none may fire
        assert len(await list_runs(app, schedule="pulse")) == fired_before
        await app.resume("pulse")
        await wait_for(
            lambda: _more_runs(app, "pulse", fired_before), 3, what="a fire after resume"
        )


async def _more_runs(app: App, name: str, than: int) -> bool:
    runs, _ = await app.list_runs(schedule=name, limit=1000)
    return len(runs) > than


async def test_trigger_enqueues_a_run_now(make_app, list_runs) -> None:
    app: App = make_app()
    seen: list[tuple[str | None, dict[str, Any]]] = []

    @app.task(retries=2)
    async def digest(channel: str, *, ctx: RunContext) -> str:
        seen.append((ctx.schedule, ctx.args))
        return channel

    app.schedule(digest, "manual", name="on-demand", args={"channel": "email"}, priority=3)
    async with app:
        schedule = await app.get_schedule("on-demand")
        assert schedule.next_run_at is None
        run = await app.trigger("on-demand")
        assert run.status is RunStatus.QUEUED
        assert run.schedule_id == schedule.id
        assert run.priority == 3
        assert run.max_attempts == 3
        assert run.trigger_info == {"schedule": "on-demand", "kind": "manual"}
        assert run.scheduled_for is not None
        assert abs(run.scheduled_for - app.clock.now()) < timedelta(seconds=2)
        await asyncio.wait_for(app.run(burst=True), 10)
        done = await app.get_run(run.id)
    assert done.status is RunStatus.SUCCEEDED
    assert done.result == "email"
    assert seen == [("on-demand", {"channel": "email"})]


# -- restart -------------------------------------------------------------------------------------
async def test_restart_keeps_schedules_next_fire_times_and_history(
    db_url, clock, list_runs
) -> None:
    t0 = clock.now()

    def make() -> App:
        app = App(db_url, clock=clock)

        @app.task
        async def sync_inbox() -> None:
            return None

        app.schedule(sync_inbox, "every 10m", name="inbox")
        return app

    first = make()
    async with first:
        assert (await first.get_schedule("inbox")).next_run_at == t0 + timedelta(minutes=10)
    clock.advance(10 * 60)
    await asyncio.wait_for(first.run(burst=True), 10)
    async with first:
        before = await first.get_schedule("inbox")
        history = await list_runs(first, schedule="inbox")
    assert [r.scheduled_for for r in history] == [t0 + timedelta(minutes=10)]
    assert before.next_run_at == t0 + timedelta(minutes=20)

    second = make()  # restart: same declaration, same file
    async with second:
        after = await second.get_schedule("inbox")
        kept = await list_runs(second, schedule="inbox")
        schedules, _ = await second.list_schedules()
    assert after.id == before.id
    assert after.next_run_at == before.next_run_at
    assert after.last_run_at == t0 + timedelta(minutes=10)
    assert after.updated_at == before.updated_at  # unchanged declaration: not rewritten
    assert [r.id for r in kept] == [r.id for r in history]
    assert [s.name for s in schedules].count("inbox") == 1

    clock.advance(10 * 60)
    await asyncio.wait_for(second.run(burst=True), 10)
    async with second:
        runs = await list_runs(second, schedule="inbox")
    assert [r.scheduled_for for r in runs] == [t0 + timedelta(minutes=m) for m in (10, 20)]
    assert all(r.status is RunStatus.SUCCEEDED for r in runs)


async def test_a_notification_before_the_first_wait_is_not_lost(make_app) -> None:
    """A schedule added while the scheduler is between its read of the next due time and its
    wait must still wake it (else it sleeps up to max_sleep_s)."""
    app: App = make_app()
    async with app:
        await asyncio.sleep(0.2)  # the store's commit poller has seen the writes of open()
        app.store.notify("schedules")  # what add_schedule does after its commit
        assert await app.store.wait("schedules", 0.2)


# -- policies, deterministic (ManualClock, scheduler only) ---------------------------------------
async def test_misfire_grace_skips_a_late_slot(db_url, clock, list_runs) -> None:
    t0 = clock.now()
    app = App(db_url, clock=clock)

    @app.task
    async def report() -> None: ...

    app.schedule(report, "every 10m", name="graced", misfire_grace="1m", overlap="allow")
    async with app:
        clock.advance(10 * 60 + 30)  # 30s late: inside the grace
        await asyncio.wait_for(app.run(burst=True, worker=False), 10)
        clock.advance(20 * 60)  # the next slot (T0+20m) is 10m30s late, T0+30m 30s late
        await asyncio.wait_for(app.run(burst=True, worker=False), 10)
        clock.advance(10 * 60 + 60)  # T0+40m is 1m30s late
        await asyncio.wait_for(app.run(burst=True, worker=False), 10)
        runs = await list_runs(app, schedule="graced")
    assert [(r.scheduled_for, r.status) for r in runs] == [
        (t0 + timedelta(minutes=10), RunStatus.QUEUED),
        (t0 + timedelta(minutes=30), RunStatus.QUEUED),
        (t0 + timedelta(minutes=40), RunStatus.SKIPPED),
    ]
    assert runs[1].trigger_info is not None
    assert runs[1].trigger_info["missed"] == 1
    assert runs[2].error is not None
    assert "misfire" in runs[2].error["message"]


async def test_overlap_skip_while_the_previous_run_is_queued(db_url, clock, list_runs) -> None:
    app = App(db_url, clock=clock)

    @app.task
    async def job() -> None: ...

    app.schedule(job, "every 10m", name="skipper", overlap="skip")
    app.schedule(job, "every 10m", name="queuer", overlap="queue")
    app.schedule(job, "every 10m", name="allower", overlap="allow")
    async with app:
        for _ in range(3):  # no worker: every run stays queued
            clock.advance(10 * 60)
            await asyncio.wait_for(app.run(burst=True, worker=False), 10)
        statuses = {
            name: [r.status for r in await list_runs(app, schedule=name)]
            for name in ("skipper", "queuer", "allower")
        }
        skipped = (await list_runs(app, schedule="skipper"))[1]
    q, s = RunStatus.QUEUED, RunStatus.SKIPPED
    assert statuses == {"skipper": [q, s, s], "queuer": [q, q, q], "allower": [q, q, q]}
    assert skipped.error is not None
    assert "overlap" in skipped.error["message"]

    # overlap=queue runs one at a time even with room for all: a worker with concurrency 8
    order: list[str] = []
    worker_app = App(db_url, clock=clock, concurrency=8)

    @worker_app.task
    async def job(*, ctx: RunContext) -> None:
        if ctx.schedule == "queuer":
            order.append("start")
        await asyncio.sleep(0.02)
        if ctx.schedule == "queuer":
            order.append("end")

    async with worker_app:
        await asyncio.wait_for(worker_app.run(burst=True, scheduler=False), 10)
        runs = await list_runs(worker_app, schedule="queuer")
    assert [r.status for r in runs] == [RunStatus.SUCCEEDED] * 3
    assert order == ["start", "end"] * 3
    for before, after in itertools.pairwise(runs):
        assert after.started_at >= before.finished_at  # type: ignore[operator]


async def test_jitter_delays_runs_within_bounds(db_url, clock, list_runs) -> None:
    t0 = clock.now()
    app = App(db_url, clock=clock)

    @app.task
    async def spread() -> None: ...

    app.schedule(spread, "every 10m", name="spread", jitter="5m", overlap="allow")
    async with app:
        for _ in range(5):
            clock.advance(10 * 60)
            await asyncio.wait_for(app.run(burst=True, worker=False), 10)
        runs = await list_runs(app, schedule="spread")
    assert [r.scheduled_for for r in runs] == [t0 + timedelta(minutes=10 * k) for k in range(1, 6)]
    for run in runs:
        assert run.scheduled_for is not None
        assert run.scheduled_for <= run.available_at <= run.scheduled_for + timedelta(minutes=5)
    assert len({r.available_at - r.scheduled_for for r in runs}) > 1  # type: ignore[operator]
