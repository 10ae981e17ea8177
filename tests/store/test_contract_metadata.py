"""Store contract: a schedule's ``metadata`` and ``thread_id`` are kept, changed, cleared, and
carried into the trigger info of every run it fires (time slots, per-subject fires, fan-out),
with the production planner."""

from __future__ import annotations

from datetime import datetime, timedelta

from store_helpers import MINUTE, T0, make_spec

from agentcron.models import FanOut, Overlap, Run
from agentcron.scheduler import RunPlanner
from agentcron.store import Store
from agentcron.tasks import TaskRegistry

META = {"channel_id": "C042", "tags": ["digest", "grüße"], "nested": {"ok": True}}


async def fire(store: Store, now: datetime) -> list[Run]:
    return await store.fire_due(now, RunPlanner(TaskRegistry(), now))


async def test_metadata_and_thread_id_are_kept_changed_and_cleared(store: Store) -> None:
    spec = make_spec("digest", metadata=META, thread_id="team-digest")
    added = await store.add_schedule(spec, T0)
    assert added.spec == spec
    assert (await store.get_schedule(added.id)).to_dict()["metadata"] == META
    assert added.to_dict()["thread_id"] == "team-digest"

    changed = make_spec("digest", metadata={"channel_id": "C007"}, thread_id=None)
    updated = await store.update_schedule(added.id, changed, T0)
    assert (updated.metadata, updated.thread_id) == ({"channel_id": "C007"}, None)
    cleared = await store.update_schedule(added.id, make_spec("digest"), T0)
    assert (cleared.metadata, cleared.thread_id) == ({}, None)
    assert cleared == await store.get_schedule(added.id)


async def test_fired_runs_carry_them(store: Store) -> None:
    await store.add_schedule(make_spec("digest", metadata=META, thread_id="t-1"), T0)
    await store.add_schedule(make_spec("plain"), T0)
    fired = {run.trigger_info["schedule"]: run for run in await fire(store, T0) if run.trigger_info}
    assert fired["digest"].trigger_info == {
        "schedule": "digest", "metadata": META, "thread_id": "t-1", "kind": "interval"
    }  # fmt: skip
    assert fired["plain"].trigger_info == {"schedule": "plain", "kind": "interval"}


async def test_per_subject_and_fan_out_runs_carry_them(store: Store) -> None:
    await store.add_schedule(
        make_spec("nudge", trigger={"idle": "5m"}, metadata={"kind": "nudge"}), None
    )
    await store.record_activity("default", "user:1", "message", T0)
    (idle,) = await fire(store, T0 + 5 * MINUTE)
    assert idle.trigger_info is not None
    assert idle.trigger_info["metadata"] == {"kind": "nudge"}
    assert idle.trigger_info["kind"] == "idle"

    fan = make_spec("grader", trigger={"every": "1h"}, metadata={"k": 1}, thread_id="grading",
                    for_each_subject=FanOut(), overlap=Overlap.ALLOW)  # fmt: skip
    await store.add_schedule(fan, T0 + timedelta(hours=1))
    runs = await fire(store, T0 + timedelta(hours=1))
    mine = [r for r in runs if (r.trigger_info or {}).get("schedule") == "grader"]
    assert [r.subject for r in mine] == ["user:1"]
    assert mine[0].trigger_info == {
        "schedule": "grader", "metadata": {"k": 1}, "thread_id": "grading", "kind": "fan-out"
    }  # fmt: skip
