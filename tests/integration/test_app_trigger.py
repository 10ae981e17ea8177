"""`App.trigger` (args for one run; the fan-out of a ``for_each_subject`` schedule) and
`App.enqueue` of a task that only the store knows (registered by another process)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from agentcron import App, Run, RunStatus, TaskNotFound, ValidationError
from agentcron.clock import ManualClock
from agentcron.store import FannedOut


async def test_trigger_args_are_merged_into_the_schedules(make_app: Callable[..., App]) -> None:
    app = make_app(maintenance=False)

    @app.task
    async def greet(name: str = "you", greeting: str = "hello") -> None: ...

    async with app:
        await app.add_schedule(greet, "manual", name="g", args={"name": "ada", "greeting": "hi"})
        run = await app.trigger("g", args={"name": "bob"})
        assert isinstance(run, Run)
        assert run.args == {"name": "bob", "greeting": "hi"}
        assert run.trigger_info == {"schedule": "g", "kind": "manual"}
        assert (await app.get_schedule("g")).args == {"name": "ada", "greeting": "hi"}
        plain = await app.trigger("g")
        assert isinstance(plain, Run)
        assert plain.args == {"name": "ada", "greeting": "hi"}
        with pytest.raises(ValidationError) as err:
            await app.trigger("g", args=5)
        assert err.value.field == "args"
        assert len((await app.list_runs(schedule="g"))[0]) == 2


async def test_trigger_of_a_fan_out_schedule_queues_one_run_per_subject(
    make_app: Callable[..., App],
) -> None:
    app = make_app(maintenance=False)

    @app.task(retries=2, queue="grading")
    async def grade(level: int = 1) -> None: ...

    async with app:
        for subject in ("user:1", "user:2", "bot:1"):
            await app.record_activity(subject)
        await app.add_schedule(grade, "every 1h", name="grader", for_each_subject="user:*")
        before = (await app.get_schedule("grader")).next_run_at
        done = await app.trigger("grader", args={"level": 3})
        assert isinstance(done, FannedOut)
        assert (done.queued, done.skipped) == (2, 0)
        assert [r.subject for r in done.runs] == ["user:1", "user:2"]
        assert {(r.queue, r.max_attempts, r.args["level"]) for r in done.runs} == {
            ("grading", 3, 3)
        }
        assert {r.status for r in done.runs} == {RunStatus.QUEUED}
        assert done.to_dict(limit=1)["queued"] == 2
        assert len(done.to_dict(limit=1)["runs"]) == 1
        assert (await app.get_schedule("grader")).next_run_at == before


async def test_enqueue_a_task_that_only_the_store_knows(
    make_app: Callable[..., App], clock: ManualClock
) -> None:
    worker = make_app(maintenance=False)

    @worker.task(retries=4, queue="slow", timeout="2m", name="crunch")
    async def crunch(n: int = 1) -> int:
        return n

    async with worker:  # opening registers its tasks in the store
        pass
    client = make_app(maintenance=False, clock=clock)  # no task code at all
    async with client:
        run = await client.enqueue("crunch", {"n": 2}, subject="user:7", delay="30s")
        assert (run.task, run.queue, run.max_attempts, run.timeout) == (
            "crunch", "slow", 5, timedelta(minutes=2),
        )  # fmt: skip
        assert run.subject == "user:7"
        assert run.available_at == clock.now() + timedelta(seconds=30)
        (many,) = await client.enqueue_many([{"task": "crunch"}])
        assert many.queue == "slow"
        await client.record_activity("user:8")
        await client.add_schedule("crunch", "manual", name="each", for_each_subject=True)
        fanned = await client.trigger("each")
        assert isinstance(fanned, FannedOut)
        assert [(r.subject, r.queue, r.max_attempts) for r in fanned.runs] == [
            ("user:8", "slow", 5)
        ]
        with pytest.raises(TaskNotFound):
            await client.enqueue("crnch")
        with pytest.raises(ValidationError) as err:
            await client.enqueue("crunch", subject="")
        assert err.value.field == "subject"
