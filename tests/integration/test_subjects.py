"""Subjects through the App against a real SQLite file: activity, idle and messages triggers
with the scheduler and a worker running, and ``for_each_subject`` fan-out from a config file."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agentcron import App, RunContext, RunStatus, ValidationError
from agentcron.clock import ManualClock
from agentcron.config import load_config

pytestmark = pytest.mark.timeout(60)

SEED = """
[agentcron]
tasks = ["{module}"]

[[schedule]]
name = "grader"
task = "progression-grader"
trigger = "0 */6 * * *"
for_each_subject = { subjects = "user:*", batch_size = 100 }
"""


async def test_idle_fires_once_per_subject_then_again_after_activity(
    make_app, run_app, wait_for
) -> None:
    app: App = make_app()
    fired: list[tuple[str | None, float]] = []

    @app.task
    async def nudge(*, ctx: RunContext) -> None:
        fired.append((ctx.subject, time.monotonic()))

    app.schedule(nudge, "idle 300ms cooldown 1s", name="nudge")
    async with run_app(app):
        started = time.monotonic()
        for name in ["user:1", "user:2", "user:3"]:
            await app.record_activity(name)
        await wait_for(lambda: len(fired) >= 3, 5, what="one nudge per subject")
        assert sorted(s for s, _ in fired) == ["user:1", "user:2", "user:3"]
        assert min(t for _, t in fired) - started >= 0.29  # not before the idle time

        async def settled() -> bool:  # evaluated and nothing left ahead: no second nudge
            return (await app.get_schedule("nudge")).next_run_at is None

        await wait_for(settled, 5, what="the idle schedule to settle")
        assert len(fired) == 3

        first_nudge = next(t for s, t in fired if s == "user:1")
        await app.record_activity("user:1")  # active again: nudged again, after the cooldown
        await wait_for(lambda: len(fired) >= 4, 5, what="a second nudge for user:1")
        subject, again = fired[3]
        assert subject == "user:1"
        assert again - first_nudge >= 0.99
        await wait_for(settled, 5, what="the idle schedule to settle")
    assert Counter(s for s, _ in fired) == {"user:1": 2, "user:2": 1, "user:3": 1}


async def test_messages_fire_every_n_with_the_app_running(make_app, run_app, wait_for) -> None:
    app: App = make_app()
    seen: list[str | None] = []

    @app.task
    async def summarize(*, ctx: RunContext) -> None:
        seen.append(ctx.subject)

    app.schedule(summarize, "after 5 messages", name="summary")
    async with run_app(app):
        for i in range(12):
            await app.record_activity("conv:1")
            if i % 2:
                await app.record_activity("conv:2", "login")  # not a message
        await wait_for(lambda: len(seen) >= 2, 5, what="two summaries")
        runs, _ = await app.list_runs(schedule="summary")
    assert sorted(r.trigger_info["count"] for r in runs if r.trigger_info) == [5, 10]
    assert seen == ["conv:1", "conv:1"]


async def test_seed_fan_out_from_config(tmp_path: Path, db_url: str) -> None:
    module = f"seed_tasks_{uuid.uuid4().hex[:8]}"  # what the config imports: the task exists
    (tmp_path / f"{module}.py").write_text(
        "import agentcron\n\n"
        "@agentcron.task(name='progression-grader')\n"
        "async def grade() -> None: ...\n"
    )
    path = tmp_path / "agentcron.toml"
    path.write_text(SEED.replace("{module}", module))
    config = load_config(path)
    clock = ManualClock(_at("2030-01-07T05:59:00"))
    app = App(db_url, clock=clock, maintenance=False)
    graded: list[str | None] = []

    @app.task(name="progression-grader")
    async def grade(*, ctx: RunContext) -> None:
        graded.append(ctx.subject)

    async with app:
        await app.sync_schedules(config.schedules)
        for i in range(250):
            await app.record_activity(f"user:{i}", "login")
        await app.record_activity("team:1")
        schedule = await app.get_schedule("grader")
        assert schedule.for_each_subject is not None
        assert schedule.for_each_subject.batch_size == 100
        assert schedule.next_run_at == _at("2030-01-07T06:00:00")

        clock.advance(60)
        await asyncio.wait_for(app.run(burst=True), 30)
        assert sorted(graded) == sorted(f"user:{i}" for i in range(250))
        runs, _ = await app.list_runs(schedule="grader", limit=1000)
        assert {r.status for r in runs} == {RunStatus.SUCCEEDED}
        assert {r.scheduled_for for r in runs} == {_at("2030-01-07T06:00:00")}
        again = await app.get_schedule("grader")
        assert again.next_run_at == _at("2030-01-07T12:00:00")

        clock.advance(6 * 3600)  # the next slot: every subject again
        await asyncio.wait_for(app.run(burst=True), 30)
        assert len(graded) == 500


async def test_record_activity_validates_and_lists(make_app) -> None:
    app: App = make_app()
    async with app:
        with pytest.raises(ValidationError) as caught:
            await app.record_activity("")
        assert caught.value.field == "subject"
        with pytest.raises(ValidationError) as caught:
            await app.record_activity("user:1", kind="not a word")
        assert caught.value.field == "kind"
        subject = await app.record_activity("user:1", namespace="tenant-a")
        assert subject.message_count == 1
        assert subject.to_dict()["subject"] == "user:1"
        page, cursor = await app.list_subjects(namespace="tenant-a")
        assert [s.subject for s in page] == ["user:1"]
        assert cursor is None
        assert await app.list_subjects() == ([], None)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)
