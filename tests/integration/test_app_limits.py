"""The Python surface of limits found by probing: activity times, queue names, the task
option ``max_recoveries`` and the schedule quota, refused naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agentcron import App, ScheduleQuotaExceeded, ValidationError
from agentcron.clock import ManualClock

NOW = datetime(2030, 1, 7, 12, 0, tzinfo=UTC)


@pytest.fixture
def app(tmp_path: Path) -> App:
    app = App(f"sqlite:///{tmp_path / 'limits.db'}", clock=ManualClock(NOW), maintenance=False)

    @app.task(max_recoveries=1)
    async def job() -> None:
        return None

    return app


@pytest.mark.parametrize(
    "at",
    [NOW + timedelta(minutes=5, seconds=1), NOW + timedelta(days=365),
     datetime(1999, 12, 31, tzinfo=UTC), datetime(1970, 1, 1, tzinfo=UTC),
     datetime(2030, 1, 7, 12, 0)],
)  # fmt: skip
async def test_record_activity_refuses_an_impossible_time(app: App, at: datetime) -> None:
    async with app:
        with pytest.raises(ValidationError) as info:
            await app.record_activity("user:1", at=at)
        assert info.value.field == "at"
        assert (await app.list_subjects())[0] == []


async def test_record_activity_takes_a_time_within_the_skew(app: App) -> None:
    async with app:
        ahead = await app.record_activity("user:1", at=NOW + timedelta(minutes=5))
        assert ahead.last_activity_at == NOW + timedelta(minutes=5)
        old = await app.record_activity("user:2", at=datetime(2000, 1, 1, tzinfo=UTC))
        assert old.last_activity_at == datetime(2000, 1, 1, tzinfo=UTC)


def other() -> None:
    return None


@pytest.mark.parametrize("queue", ["bad queue", "-x", "q" * 201, "new\nline", "trailing\n"])
async def test_queue_names_are_checked_everywhere(app: App, queue: str) -> None:
    with pytest.raises(ValidationError) as task:
        app.task(queue=queue)(other)
    assert task.value.field == "queue"
    with pytest.raises(ValidationError) as worker:
        App(app.store, queues=["default", queue])
    assert worker.value.field == "queues"
    with pytest.raises(ValidationError) as schedule:
        app.schedule("job", "every 5m", queue=queue, name="x")
    assert schedule.value.field == "queue"
    async with app:
        with pytest.raises(ValidationError) as run:
            await app.enqueue("job", queue=queue)
        assert run.value.field == "queue"
        with pytest.raises(ValidationError):
            await app.enqueue_many([{"task": "job"}, {"task": "job", "queue": queue}])
        assert (await app.list_runs())[0] == []


async def test_the_tasks_max_recoveries_is_stored_with_its_runs(app: App) -> None:
    app.schedule("job", "manual", name="by-hand")
    async with app:
        enqueued = await app.enqueue("job")
        triggered = await app.trigger("by-hand")
        assert (enqueued.max_recoveries, triggered.max_recoveries) == (1, 1)
        info = (await app.store.known_tasks())["job"]
        assert info["max_recoveries"] == 1


async def test_add_schedule_stops_at_max_schedules(tmp_path: Path) -> None:
    app = App(f"sqlite:///{tmp_path / 'quota.db'}", maintenance=False, max_schedules=2)
    app.task(name="job")(other)
    app.schedule("job", "manual", name="declared-1")  # declared in code: not refused...
    app.schedule("job", "manual", name="declared-2")
    async with app:
        with pytest.raises(ScheduleQuotaExceeded) as info:  # ...but counted
            await app.add_schedule("job", "manual", name="api")
        assert info.value.limit == 2
        await app.add_schedule("job", "manual", name="api", namespace="other")
