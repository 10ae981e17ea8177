"""The App: schedules declared in code, config sync, validation, maintenance schedules."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from agentcron import (
    App,
    InvalidTrigger,
    RunStatus,
    ScheduleExists,
    ScheduleNotFound,
    TaskNotFound,
    ValidationError,
)
from agentcron.clock import ManualClock
from agentcron.models import Misfire, Overlap, ScheduleSource
from agentcron.specs import Built, build_schedule

pytestmark = pytest.mark.timeout(60)

MAINTENANCE = {"agentcron-retention", "agentcron-vacuum"}


async def _names(app: App) -> set[str]:
    schedules, _ = await app.list_schedules()
    return {s.name for s in schedules}


# -- schedules declared in code ------------------------------------------------------------------
async def test_declared_schedules_are_stored_on_open_and_updated_not_duplicated(
    db_url: str, clock: ManualClock
) -> None:
    def make(trigger: str, **options: Any) -> App:
        app = App(db_url, clock=clock)

        @app.task
        async def digest(channel: str) -> None: ...

        app.schedule(digest, trigger, name="digest", args={"channel": "email"}, **options)
        return app

    async with make("0 9 * * 1-5", timezone="Europe/Berlin") as first:
        stored = await first.get_schedule("digest")
    assert stored.task == "digest"
    assert stored.trigger == {"cron": "0 9 * * 1-5", "timezone": "Europe/Berlin"}
    assert stored.source is ScheduleSource.CODE
    assert stored.args == {"channel": "email"}
    assert stored.next_run_at == datetime(2030, 1, 8, 8, 0, tzinfo=UTC)  # 09:00 Berlin, Tue
    assert stored.misfire is Misfire.ONCE
    assert stored.overlap is Overlap.SKIP

    clock.advance(60)
    async with make("0 9 * * 1-5", timezone="Europe/Berlin") as same:
        unchanged = await same.get_schedule("digest")
    assert unchanged.updated_at == stored.updated_at
    assert unchanged.next_run_at == stored.next_run_at

    async with make("every 2h", overlap="queue", retries=2) as changed:
        updated = await changed.get_schedule("digest")
        names = await _names(changed)
        schedules, _ = await changed.list_schedules()
    assert updated.id == stored.id
    assert updated.trigger == {"every": "2h"}
    assert updated.overlap is Overlap.QUEUE
    assert updated.retries == 2
    assert updated.next_run_at == clock.now() + timedelta(hours=2)  # recomputed
    assert updated.created_at == stored.created_at
    assert names == {"digest"} | MAINTENANCE
    assert len(schedules) == 3


async def test_a_pause_survives_a_restart_and_a_changed_declaration(
    db_url: str, clock: ManualClock
) -> None:
    """Pausing is a run-time decision: re-declaring the schedule (a restart, an edited
    trigger) does not silently resume it."""

    def make(trigger: str) -> App:
        app = App(db_url, clock=clock)

        @app.task
        async def digest() -> None: ...

        app.schedule(digest, trigger, name="digest")
        return app

    async with make("every 1h") as first:
        paused = await first.pause("digest")
    assert paused.enabled is False

    async with make("every 1h") as again:
        assert (await again.get_schedule("digest")).enabled is False
    async with make("every 2h") as edited:
        stored = await edited.get_schedule("digest")
        assert stored.trigger == {"every": "2h"}
        assert stored.enabled is False
        assert stored.next_run_at is None
        resumed = await edited.resume("digest")
    assert resumed.enabled is True
    assert resumed.next_run_at == clock.now() + timedelta(hours=2)


async def test_a_changed_option_keeps_the_next_fire_time(db_url: str, clock: ManualClock) -> None:
    def make(priority: int) -> App:
        app = App(db_url, clock=clock)

        @app.task
        async def digest() -> None: ...

        app.schedule(digest, "every 1h", priority=priority)
        return app

    async with make(0) as first:
        before = await first.get_schedule("digest")
    clock.advance(600)
    async with make(5) as second:
        after = await second.get_schedule("digest")
    assert after.priority == 5
    assert after.next_run_at == before.next_run_at  # same trigger: the slot stays


async def test_a_declared_schedule_of_an_unknown_task_is_refused_and_nothing_stored(
    make_app,
) -> None:
    app: App = make_app()

    @app.task
    async def real() -> None: ...

    app.schedule(real, "every 1h", name="fine")
    app.schedule("typo_task", "every 1h", name="broken")
    with pytest.raises(TaskNotFound) as err:
        await app.open()
    assert "typo_task" in str(err.value)

    ok: App = make_app()
    async with ok:
        assert await _names(ok) == MAINTENANCE  # neither declaration was stored


def test_schedule_validates_at_declaration(db_url: str) -> None:
    app = App(db_url)

    @app.task
    async def digest() -> None: ...

    with pytest.raises(InvalidTrigger) as err:
        app.schedule(digest, "every banana")
    assert err.value.field
    with pytest.raises(ValidationError) as verr:
        app.schedule(digest, "every 1h", misfire="sometimes")
    assert verr.value.field == "misfire"
    with pytest.raises(ValidationError) as oerr:
        app.schedule(digest, "every 1h", colour="blue")
    assert oerr.value.field == "colour"


async def test_a_task_registered_under_another_name_can_be_scheduled_by_function(
    make_app,
) -> None:
    app: App = make_app()
    calls: list[str] = []

    @app.task(name="reports.weekly")
    async def weekly() -> None:
        calls.append("weekly")

    spec = app.schedule(weekly, "manual", name="weekly-report")
    assert spec.task == "reports.weekly"
    async with app:
        run = await app.enqueue(weekly)
        assert run.task == "reports.weekly"
        await app.trigger("weekly-report")
        await asyncio.wait_for(app.run(burst=True), 10)
    assert calls == ["weekly", "weekly"]


# -- add / update / validation -------------------------------------------------------------------
async def test_add_schedule_validation_stores_nothing(make_app) -> None:
    app: App = make_app()

    @app.task
    async def digest() -> None: ...

    async with app:
        with pytest.raises(TaskNotFound):
            await app.add_schedule("nope", "every 1m")
        with pytest.raises(InvalidTrigger) as err:
            await app.add_schedule(digest, "every banana")
        assert err.value.field
        with pytest.raises(InvalidTrigger) as cron_err:
            await app.add_schedule(digest, "61 * * * *")
        assert cron_err.value.field
        with pytest.raises(ValidationError) as tz_err:
            await app.add_schedule(digest, "0 9 * * *", timezone="Mars/Olympus")
        assert tz_err.value.field == "timezone"
        with pytest.raises(ValidationError) as args_err:
            await app.add_schedule(digest, "every 1m", args={"when": datetime.now(UTC)})
        assert args_err.value.field == "args"
        with pytest.raises(InvalidTrigger):
            await app.add_schedule(digest, "at 2001-01-01T00:00:00Z")  # in the past
        assert await _names(app) == MAINTENANCE

        added = await app.add_schedule(digest, "every 1m", name="digest")
        assert added.source is ScheduleSource.API
        with pytest.raises(ScheduleExists):
            await app.add_schedule(digest, "every 5m", name="digest")
        assert (await app.get_schedule("digest")).trigger == {"every": "1m"}
        with pytest.raises(ScheduleNotFound):
            await app.get_schedule("missing")


async def test_update_schedule_recomputes_the_next_fire_time(make_app) -> None:
    app: App = make_app()

    @app.task
    async def digest() -> None: ...

    async with app:
        first = await app.add_schedule(digest, "every 1m", name="d")
        prio = await app.update_schedule("d", priority=9)
        assert prio.priority == 9
        assert prio.next_run_at == first.next_run_at
        slower = await app.update_schedule("d", trigger="every 1h")
        assert slower.next_run_at is not None
        assert first.next_run_at is not None
        assert slower.next_run_at - first.next_run_at > timedelta(minutes=58)
        with pytest.raises(InvalidTrigger):
            await app.update_schedule("d", trigger="every never")
        assert (await app.get_schedule("d")).trigger == {"every": "1h"}
        with pytest.raises(TaskNotFound):
            await app.update_schedule("d", task="nope")
        assert (await app.get_schedule("d")).description == "every hour"  # follows the trigger


async def test_update_keeps_a_description_written_by_a_person(make_app) -> None:
    app: App = make_app()

    @app.task
    async def digest() -> None: ...

    async with app:
        await app.add_schedule(digest, "every 1h", name="d", description="Morning digest for Ada")
        updated = await app.update_schedule("d", priority=3, trigger="every 2h")
        assert updated.description == "Morning digest for Ada"
        renamed = await app.update_schedule("d", description="Digest")
        assert renamed.description == "Digest"


async def test_enqueue_validation_stores_nothing(make_app) -> None:
    app: App = make_app()

    @app.task
    async def digest() -> None: ...

    async with app:
        with pytest.raises(TaskNotFound):
            await app.enqueue("nope")
        with pytest.raises(ValidationError) as err:
            await app.enqueue(digest, {"x": {1, 2}})
        assert err.value.field == "args"
        with pytest.raises(ValidationError) as err2:
            await app.enqueue(digest, delay="soonish")
        assert err2.value.field == "delay"
        with pytest.raises(ValidationError):
            await app.enqueue_many([{"task": "digest"}, {"task": "digest", "colour": "red"}])
        with pytest.raises(TaskNotFound):
            await app.enqueue_many([{"task": "digest"}, {"task": "nope"}])
        assert (await app.stats()).runs_by_status == {}


# -- config sync ---------------------------------------------------------------------------------
def _config(name: str, task: str, trigger: str, now: datetime, **options: Any) -> Built:
    return build_schedule(
        name=name, task=task, trigger=trigger, now=now, source=ScheduleSource.CONFIG, **options
    )


async def test_sync_schedules_adds_updates_removes_only_its_own(
    make_app, clock: ManualClock, db_url: str
) -> None:
    app = App(db_url, clock=clock)

    @app.task
    async def digest() -> None: ...

    app.schedule(digest, "every 1h", name="from-code")
    now = clock.now()
    async with app:
        api = await app.add_schedule(digest, "every 1d", name="from-api")
        report = await app.sync_schedules(
            [_config("a", "digest", "every 5m", now), _config("b", "digest", "every 10m", now)]
        )
        assert report == {"added": ["a", "b"], "updated": [], "removed": [], "conflicts": []}
        a_before = await app.get_schedule("a")

        again = await app.sync_schedules(
            [_config("a", "digest", "every 5m", now), _config("b", "digest", "every 10m", now)]
        )
        assert again == {"added": [], "updated": [], "removed": [], "conflicts": []}

        clock.advance(30)
        report = await app.sync_schedules(
            [
                _config("a", "digest", "every 7m", clock.now()),
                _config("c", "digest", "@daily", clock.now()),
                _config("from-api", "digest", "every 2m", clock.now()),
                _config("from-code", "digest", "every 2m", clock.now()),
            ]
        )
        assert report == {
            "added": ["c"],
            "updated": ["a"],
            "removed": ["b"],
            "conflicts": ["from-api", "from-code"],
        }
        a_after = await app.get_schedule("a")
        assert a_after.id == a_before.id
        assert a_after.trigger == {"every": "7m"}
        assert a_after.next_run_at == clock.now() + timedelta(minutes=7)
        assert await _names(app) == {"a", "c", "from-api", "from-code"} | MAINTENANCE
        assert (await app.get_schedule("from-api")).trigger == api.trigger  # untouched
        assert (await app.get_schedule("from-code")).trigger == {"every": "1h"}

        removed_all = await app.sync_schedules([])
        assert sorted(removed_all["removed"]) == ["a", "c"]
        assert await _names(app) == {"from-api", "from-code"} | MAINTENANCE


# -- opening -------------------------------------------------------------------------------------
async def test_run_in_the_background_while_the_app_is_used(make_app, wait_final) -> None:
    """``asyncio.create_task(app.run())`` then using the app at once: both open it."""
    app: App = make_app()

    @app.task
    async def echo(x: int) -> int:
        return x

    runner = asyncio.create_task(app.run())
    try:
        async with app:
            run = await app.enqueue(echo, {"x": 3})
            done = await wait_final(app, run.id)
        assert done.result == 3
    finally:
        app.stop()
        await asyncio.wait_for(runner, 10)
    async with app:  # closed by both, opens again
        assert (await app.get_run(run.id)).status is RunStatus.SUCCEEDED


async def test_a_failed_open_can_be_retried(make_app) -> None:
    app: App = make_app()
    app.schedule("later_registered", "every 1h")
    with pytest.raises(TaskNotFound):
        await app.open()

    @app.task
    async def later_registered() -> None: ...

    async with app:
        assert "later_registered" in await _names(app)


# -- maintenance ---------------------------------------------------------------------------------
async def test_maintenance_schedules_exist_and_run(db_url: str) -> None:
    clock = ManualClock(datetime(2020, 1, 1, tzinfo=UTC))
    app = App(db_url, clock=clock)

    @app.task
    async def old_work() -> None: ...

    async with app:
        old = await app.enqueue(old_work)
        await asyncio.wait_for(app.run(burst=True), 10)
        assert (await app.get_run(old.id)).status is RunStatus.SUCCEEDED

        retention = await app.get_schedule("agentcron-retention")
        vacuum = await app.get_schedule("agentcron-vacuum")
        for s in (retention, vacuum):
            assert s.source is ScheduleSource.SYSTEM
            assert s.enabled
            assert not s.parked
            assert s.next_run_at is not None
            assert s.next_run_at > clock.now()
        assert retention.args == {"days": 30}
        assert retention.trigger["cron"] == "17 3 * * *"

        clock.advance(timedelta(days=31).total_seconds())  # on the app's clock, the run is old
        r = await app.trigger("agentcron-retention")
        v = await app.trigger("agentcron-vacuum")
        await asyncio.wait_for(app.run(burst=True, scheduler=False), 20)
        r_done, v_done = await app.get_run(r.id), await app.get_run(v.id)

        assert r_done.status is RunStatus.SUCCEEDED, r_done.error
        assert r_done.result == {"deleted": 1, "days": 30}
        assert v_done.status is RunStatus.SUCCEEDED, v_done.error
        assert v_done.result == {"vacuumed": True}
        with pytest.raises(Exception, match="not found"):
            await app.get_run(old.id)


async def test_maintenance_can_be_turned_off(make_app) -> None:
    app: App = make_app(maintenance=False)
    async with app:
        assert await _names(app) == set()


async def test_retention_setting_is_the_schedule_args(make_app) -> None:
    app: App = make_app(retention="7d")
    async with app:
        assert (await app.get_schedule("agentcron-retention")).args == {"days": 7}
    changed: App = make_app(retention="14d")
    async with changed:
        assert (await changed.get_schedule("agentcron-retention")).args == {"days": 14}
