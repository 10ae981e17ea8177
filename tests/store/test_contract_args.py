"""Store contract: a task's args are kept as given, an object (keyword arguments) or a list
(positional arguments), through runs, schedules, firing and fan-out."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from store_helpers import LEAD, T0, RecordingPlanner, all_runs, claim, enqueue_one, make_spec

from agentcron.models import FanOut, Run, Schedule
from agentcron.scheduler import RunPlanner
from agentcron.store import RunFilter, Store
from agentcron.tasks import TaskRegistry

ARGS: list[Any] = [
    [1, "x", {"nested": [None, True]}],
    [],
    {},
    {"channel": "email", "n": 1.5},
]


async def runs_of(store: Store, schedule: Schedule) -> list[Run]:
    return sorted(await all_runs(store, RunFilter(schedule_id=schedule.id)), key=lambda r: r.id)


@pytest.mark.parametrize("args", ARGS, ids=["list", "empty-list", "empty-object", "object"])
async def test_run_args_come_back_as_given(store: Store, args: Any) -> None:
    run = await enqueue_one(store, args=args)
    assert run.args == args
    assert type(run.args) is type(args)
    assert (await store.get_run(run.id)).args == args
    (claimed,) = await claim(store, tasks=[run.task])
    assert claimed.args == args
    assert type(claimed.args) is type(args)


async def test_schedule_args_come_back_as_given_and_fire_into_runs(store: Store) -> None:
    schedule = await store.add_schedule(make_spec("positional", args=[1, "x"]), T0)
    assert schedule.args == [1, "x"]
    assert (await store.get_schedule(schedule.id)).args == [1, "x"]
    (run,) = await store.fire_due(T0 + LEAD, RecordingPlanner())
    assert run.args == [1, "x"]

    changed = await store.update_schedule(schedule.id, make_spec("positional", args=[]), None)
    assert changed.args == []
    assert type((await store.get_schedule(schedule.id)).args) is list


async def test_fan_out_and_idle_runs_keep_list_args(store: Store) -> None:
    for name in ("user:1", "user:2", "user:3"):
        await store.record_activity("default", name, "message", T0 - timedelta(hours=2))
    spec = make_spec("each", task="grade", trigger={"every": "1h"}, args=["weekly", 3],
                     for_each_subject=FanOut(subjects="user:*", batch_size=2))  # fmt: skip
    fanned = await store.add_schedule(spec, T0)
    idle = await store.add_schedule(
        make_spec("nudge", task="nudge", trigger={"idle": "30m"}, args=[{"tone": "kind"}]), None
    )
    await store.record_activity("default", "user:1", "message", T0 - timedelta(hours=1))
    await store.fire_due(T0, RunPlanner(TaskRegistry(), T0))
    runs = await runs_of(store, fanned)
    assert sorted(r.subject or "" for r in runs) == ["user:1", "user:2", "user:3"]
    assert all(r.args == ["weekly", 3] for r in runs)
    await store.fire_due(T0 + timedelta(minutes=1), RunPlanner(TaskRegistry(), T0))
    nudges = await runs_of(store, idle)
    assert nudges
    assert all(r.args == [{"tone": "kind"}] for r in nudges)
